/** Builds DNS/mDNS response bytes for tests, including deliberately broken ones. */
export function name(text: string): number[] {
  const out: number[] = [];
  for (const label of text.split('.').filter(Boolean)) out.push(label.length, ...Buffer.from(label));
  out.push(0);
  return out;
}

export interface RecordSpec {
  name: number[] | string;
  type: number;
  ttl?: number;
  cacheFlush?: boolean;
  data: number[];
}

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

export function record(r: RecordSpec): number[] {
  const n = typeof r.name === 'string' ? name(r.name) : r.name;
  return [...n, ...u16(r.type), ...u16(1 | (r.cacheFlush ? 0x8000 : 0)), ...u32(r.ttl ?? 120), ...u16(r.data.length), ...r.data];
}

export function response(answers: number[][], additionals: number[][] = []): Uint8Array {
  return Uint8Array.from([0, 0, 0x84, 0, 0, 0, ...u16(answers.length), 0, 0, ...u16(additionals.length), ...answers.flat(), ...additionals.flat()]);
}

export const ptr = (owner: string, target: string, ttl = 120) => record({ name: owner, type: 12, ttl, data: name(target) });
export const srv = (owner: string, target: string, port: number, ttl = 120) => record({ name: owner, type: 33, ttl, data: [0, 0, 0, 0, ...u16(port), ...name(target)] });
export const txt = (owner: string, entries: string[], ttl = 4500) =>
  record({ name: owner, type: 16, ttl, data: entries.flatMap((e) => [Buffer.byteLength(e), ...Buffer.from(e)]) });
export const aaaa = (owner: string, bytes: number[], ttl = 120) => record({ name: owner, type: 28, ttl, data: bytes });
export const a = (owner: string, quad: number[], ttl = 120) => record({ name: owner, type: 1, ttl, data: quad });

/** 2001:db8:77::<last> as bytes. */
export function v6(last: number): number[] {
  return [0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
}

/** A commissionable Matter plug: PTR, SRV, TXT and AAAA, like matter.js announces. */
export function commissionablePlug(host = 'ABCDEF0123450000.local', instance = 'E7D2BAC0A7D627ED', addressLast = 0x20, ttl = 120): Uint8Array {
  return response(
    [ptr('_matterc._udp.local', `${instance}._matterc._udp.local`, ttl), ptr('_L3840._sub._matterc._udp.local', `${instance}._matterc._udp.local`, ttl)],
    [
      srv(`${instance}._matterc._udp.local`, host, 5540, ttl),
      txt(`${instance}._matterc._udp.local`, ['D=3840', 'VP=65521+32769', 'DT=266', 'CM=1', 'DN=Plug']),
      aaaa(host, v6(addressLast), ttl),
    ],
  );
}
