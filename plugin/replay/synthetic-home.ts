/**
 * Deterministic synthetic homes for replay and benchmarks: the same options
 * and seed always give the same event log.
 */
import { DeviceKind, NeedClass, PolicyEvent } from '../../policies';
import { TimedEvent } from './event-log';

export interface SyntheticHomeOptions {
  devices: number;
  needs: number;
  seed: number;
  /** Gateways (homes); devices are spread evenly. Default: one per 250 devices, at least 1. */
  gateways?: number;
  /** Virtual duration of the log (ms). Default 4 h. */
  durationMs?: number;
  /** Add a prefix change, a router reboot and Matter reveals mid-way (default true). */
  incidents?: boolean;
}

/** mulberry32: a small, fast, deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GAME_PORTS = [3074, 3075, 3478, 3479, 3480, 27015, 9308, 25565];

function pick<T>(rand: () => number, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [v, w] of weighted) {
    if ((x -= w) < 0) return v;
  }
  return weighted[weighted.length - 1][0];
}

export function syntheticV6(gateway: number, prefix: number, device: number): string {
  return `2001:db8:${gateway.toString(16)}:${prefix.toString(16)}::${(device + 1).toString(16)}`;
}
export function syntheticV4(device: number): string {
  return `10.${(device >> 16) & 255}.${(device >> 8) & 255}.${device & 255}`;
}

/**
 * Generates a home (or many homes behind many gateways) as a timed event log:
 * gateways, devices of every kind (consoles, PCs, phones, Matter plugs,
 * Thread border routers), needs of every class spread over the duration, most
 * of them ending, and optionally incidents: a prefix change on the first
 * gateway, a router reboot and a few devices revealed as Matter.
 */
export function generateSyntheticHome(options: SyntheticHomeOptions): TimedEvent[] {
  const rand = prng(options.seed);
  const devices = Math.max(1, Math.floor(options.devices));
  const gateways = Math.max(1, Math.floor(options.gateways ?? Math.ceil(devices / 250)));
  const duration = options.durationMs ?? 4 * 3600_000;
  const out: { at: number; seq: number; event: PolicyEvent }[] = [];
  let seq = 0;
  const emit = (at: number, event: PolicyEvent) => out.push({ at: Math.floor(at), seq: seq++, event });

  emit(0, { type: 'network-changed', wanIpv4: 'public', ipv4OverIpv6: { mode: 'none' } });
  for (let g = 0; g < gateways; g++) {
    emit(0, { type: 'gateway-seen', gatewayId: `gw${g}`, grade: 'A', bootId: 'boot-1', pinholeCapacity: 1024, portMappingCapacity: 1024 });
  }
  const kinds: DeviceKind[] = [];
  const gatewayOf = (d: number) => d % gateways;
  for (let d = 0; d < devices; d++) {
    const kind = pick<DeviceKind>(rand, [['game-console', 35], ['computer', 20], ['phone', 15], ['matter', 20], ['thread-border-router', 5], ['unknown', 5]]);
    kinds.push(kind);
    const ipv6Only = kind === 'phone' && rand() < 0.3;
    emit(rand() * 60_000, {
      type: 'device-seen',
      deviceId: `dev${d}`,
      identities: { mac: `02:00:${[(d >> 24) & 255, (d >> 16) & 255, (d >> 8) & 255, d & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}` },
      kinds: [{ kind, evidence: kind === 'matter' ? 'mdns:_matter._tcp' : kind === 'thread-border-router' ? 'mdns:_meshcop._udp' : 'synthetic' }],
      addresses: [{ address: syntheticV6(gatewayOf(d), 1, d) }, ...(ipv6Only ? [] : [{ address: syntheticV4(d) }])],
      ...(ipv6Only ? { ipv6Only: 'dhcpv4-option-108' as const } : {}),
    });
  }
  for (let n = 0; n < options.needs; n++) {
    // consoles and computers ask most; Matter devices sometimes try (and are denied)
    let d = Math.floor(rand() * devices);
    for (let tries = 0; tries < 3 && (kinds[d] === 'matter' || kinds[d] === 'thread-border-router') && rand() < 0.8; tries++) d = Math.floor(rand() * devices);
    const cls = pick<NeedClass>(rand, [['game-session', 70], ['voice', 15], ['service', 10], ['admin', 5]]);
    const port = rand() < 0.5 ? GAME_PORTS[Math.floor(rand() * GAME_PORTS.length)] : 1024 + Math.floor(rand() * 64000);
    const at = 60_000 + rand() * duration * 0.8;
    const family = pick(rand, [['both', 50], ['ipv6', 30], ['ipv4', 20]] as const);
    emit(at, {
      type: 'need-submitted',
      need: {
        id: `need${n}`,
        requester: { deviceId: `dev${d}` },
        protocol: rand() < 0.8 ? 'udp' : 'tcp',
        internalPort: port,
        family,
        class: cls,
        priority: Math.floor(rand() * 3),
        leaseSeconds: pick(rand, [[0, 5], [3600, 3], [86400, 2]] as const),
        sessionId: `s${n}`,
      },
    });
    const end = at + 300_000 + rand() * 7200_000;
    if (rand() < 0.7 && end < duration) emit(end, { type: 'need-ended', needId: `need${n}`, why: 'session-ended' });
  }
  if (options.incidents !== false) {
    const mid = duration / 2;
    for (let d = 0; d < devices; d += gateways) {
      if (gatewayOf(d) !== 0 || kinds[d] === 'phone') continue;
      emit(mid, {
        type: 'device-seen',
        deviceId: `dev${d}`,
        addresses: [{ address: syntheticV6(0, 1, d), deprecated: true }, { address: syntheticV6(0, 2, d) }, { address: syntheticV4(d) }],
      });
    }
    emit(mid + 600_000, { type: 'gateway-rebooted', gatewayId: 'gw0', bootId: 'boot-2' });
    for (let d = 0; d < devices; d++) {
      if (kinds[d] === 'unknown' && rand() < 0.5) emit(mid + rand() * duration * 0.4, { type: 'device-seen', deviceId: `dev${d}`, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }] });
    }
  }
  emit(duration, { type: 'tick' });
  out.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return out.map((e, i) => ({ at: e.at, line: i + 1, event: e.event }));
}
