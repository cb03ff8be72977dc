/**
 * DHCPv4 messages (RFC 2131/2132) as far as IPv6-mostly detection needs them:
 * the message type, the client's hardware address, the options it asks for
 * (option 55) and option 108, V6ONLY_WAIT (RFC 8925). Decoding is bounded and
 * throws {@link DhcpFormatError} on malformed input.
 *
 * @example
 * ```ts
 * const m = decodeDhcpMessage(packet);
 * if (m.requested.includes(DHCP_OPTION_V6ONLY)) console.log(`${m.clientMac} can run IPv6-only`);
 * ```
 */

/** RFC 8925 option code. */
export const DHCP_OPTION_V6ONLY = 108;
const MAGIC = 0x63825363;

export const DhcpMessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;

export class DhcpFormatError extends Error {
  constructor(detail: string) {
    super(`malformed DHCPv4 message: ${detail}`);
    this.name = 'DhcpFormatError';
  }
}

export interface DhcpMessage {
  /** 1 BOOTREQUEST (client), 2 BOOTREPLY (server). */
  readonly op: number;
  readonly xid: number;
  readonly broadcast: boolean;
  readonly clientAddress: string;
  readonly yourAddress: string;
  /** giaddr: a relay agent's address, `0.0.0.0` when the message was not relayed. */
  readonly relayAddress: string;
  /** `aa:bb:cc:dd:ee:ff` for Ethernet. */
  readonly clientMac: string;
  /** Option 53. */
  readonly messageType?: number;
  /** Option 55, the codes the client asks for. */
  readonly requested: readonly number[];
  /** Option 108 in seconds, when present. */
  readonly v6OnlyWait?: number;
  /** All options by code (raw bytes). */
  readonly options: ReadonlyMap<number, Uint8Array>;
}

function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

export function decodeDhcpMessage(packet: Uint8Array): DhcpMessage {
  if (packet.length < 240) throw new DhcpFormatError(`${packet.length} bytes; at least 240 expected`);
  if (packet.length > 4096) throw new DhcpFormatError(`${packet.length} bytes; more than 4096`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.getUint32(236) !== MAGIC) throw new DhcpFormatError('no DHCP magic cookie');
  const op = packet[0];
  if (op !== 1 && op !== 2) throw new DhcpFormatError(`op ${op}`);
  const hlen = packet[2];
  if (hlen > 16) throw new DhcpFormatError(`hardware address length ${hlen}`);
  // RFC 3396: a repeated option's parts are concatenated. They are collected and
  // joined once at the end, so a packet of many small repeats costs linear time.
  const parts = new Map<number, Uint8Array[]>();
  let at = 240;
  while (at < packet.length) {
    const code = packet[at];
    if (code === 255) break;
    if (code === 0) {
      at++;
      continue;
    }
    if (at + 2 > packet.length) throw new DhcpFormatError(`option ${code} at byte ${at} is cut off`);
    const length = packet[at + 1];
    if (at + 2 + length > packet.length) throw new DhcpFormatError(`option ${code} at byte ${at} runs past the end`);
    const value = packet.subarray(at + 2, at + 2 + length);
    const list = parts.get(code);
    if (list) list.push(value);
    else parts.set(code, [value]);
    at += 2 + length;
  }
  const options = new Map<number, Uint8Array>();
  for (const [code, list] of parts) options.set(code, list.length === 1 ? list[0].slice() : Buffer.concat(list));
  const type = options.get(53);
  const v6 = options.get(DHCP_OPTION_V6ONLY);
  if (v6 && v6.length !== 4) throw new DhcpFormatError(`option 108 has ${v6.length} bytes, not 4`);
  return {
    op,
    xid: view.getUint32(4),
    broadcast: (view.getUint16(10) & 0x8000) !== 0,
    clientAddress: ipv4(packet, 12),
    yourAddress: ipv4(packet, 16),
    relayAddress: ipv4(packet, 24),
    clientMac: Array.from(packet.subarray(28, 28 + hlen), (b) => b.toString(16).padStart(2, '0')).join(':'),
    ...(type && type.length === 1 ? { messageType: type[0] } : {}),
    requested: Array.from(options.get(55) ?? []),
    ...(v6 ? { v6OnlyWait: new DataView(v6.buffer, v6.byteOffset, 4).getUint32(0) } : {}),
    options,
  };
}

/**
 * A DHCPDISCOVER asking for the given options (broadcast flag set, so the
 * OFFER comes back as a broadcast a client without an address can read).
 *
 * @example
 * ```ts
 * socket.send(encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 1, requested: [1, 3, 6, 108] }), 67, '255.255.255.255');
 * ```
 */
export function encodeDhcpDiscover(options: { mac: string; xid: number; requested: readonly number[] }): Uint8Array {
  const out = new Uint8Array(240 + 3 + 2 + options.requested.length + 1);
  const view = new DataView(out.buffer);
  out[0] = 1;
  out[1] = 1;
  out[2] = 6;
  view.setUint32(4, options.xid >>> 0);
  view.setUint16(10, 0x8000);
  out.set(options.mac.split(':').map((h) => parseInt(h, 16)), 28);
  view.setUint32(236, MAGIC);
  let at = 240;
  out.set([53, 1, DhcpMessageType.DISCOVER], at);
  at += 3;
  out.set([55, options.requested.length, ...options.requested], at);
  at += 2 + options.requested.length;
  out[at] = 255;
  return out;
}
