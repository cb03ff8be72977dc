import { spawn } from 'node:child_process';
import { Observable } from 'rxjs';
import type { DeviceSeen } from '../../policies/model/event';
import { runCommand } from '../system/run-command';
import { canonicalAddress } from '../../policies/model/address';
import { ProblemSink } from './observer-problem';

/** One usable entry of the kernel's neighbour table (ARP / NDP). */
export interface Neighbour {
  readonly interface: string;
  readonly address: string;
  readonly mac: string;
  /** Kernel NUD states, e.g. `REACHABLE`, `STALE`. */
  readonly state: readonly string[];
  /** The neighbour sent RAs (`router` flag of an NDP entry). */
  readonly router: boolean;
}

interface IpJsonNeigh {
  dst?: unknown;
  dev?: unknown;
  lladdr?: unknown;
  state?: unknown;
  router?: unknown;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const UNUSABLE = new Set(['FAILED', 'INCOMPLETE', 'NOARP', 'NONE']);

/**
 * Parses `ip -j neigh show`. Entries without a MAC, in FAILED/INCOMPLETE
 * state, or with a malformed address are skipped; output that is not a JSON
 * list is an error.
 *
 * @example
 * ```ts
 * parseIpNeighJson('[{"dst":"fe80::1","dev":"eth0","lladdr":"02:00:00:00:00:01","state":["REACHABLE"]}]');
 * ```
 */
export function parseIpNeighJson(json: string): Neighbour[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch (error) {
    throw new Error(`cannot parse 'ip -j neigh' output: ${(error as Error).message}`);
  }
  if (!Array.isArray(list)) throw new Error("'ip -j neigh' output is not a list");
  const result: Neighbour[] = [];
  for (const raw of list as IpJsonNeigh[]) {
    if (!raw || typeof raw.dst !== 'string' || typeof raw.dev !== 'string' || typeof raw.lladdr !== 'string') continue;
    if (!MAC.test(raw.lladdr)) continue;
    const state = Array.isArray(raw.state) ? raw.state.filter((s): s is string => typeof s === 'string') : [];
    if (state.some((s) => UNUSABLE.has(s))) continue;
    const address = canonicalAddress(raw.dst);
    if (address === undefined) continue;
    result.push({ interface: raw.dev, address, mac: raw.lladdr.toLowerCase(), state, router: raw.router !== undefined && raw.router !== false });
  }
  return result;
}

/** Neighbours grouped by MAC: one engine event per LAN host. */
export function neighbourEvents(neighbours: readonly Neighbour[]): DeviceSeen[] {
  const byMac = new Map<string, Neighbour[]>();
  for (const n of neighbours) byMac.set(n.mac, [...(byMac.get(n.mac) ?? []), n]);
  return [...byMac.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([mac, list]) => ({
      type: 'device-seen' as const,
      deviceId: `mac:${mac}`,
      identities: { mac },
      kinds: list.some((n) => n.router) ? [{ kind: 'router' as const, evidence: 'ndp:router-flag' }] : [],
      addresses: [...new Set(list.map((n) => n.address))].sort().map((address) => ({ address })),
    }));
}

export interface WatchNeighboursOptions {
  /** Only this interface (default: all). */
  readonly interfaceName?: string;
  /** Re-read at least this often (default 10 000 ms). */
  readonly refreshMs?: number;
  /** Reads the table (default: `ip -j neigh show`); tests pass recorded output. */
  readonly read?: () => Promise<string>;
  /** Subscribe to kernel notifications with `ip monitor neigh` (default true). */
  readonly monitor?: boolean;
  readonly onProblem?: ProblemSink;
}

/**
 * LAN neighbours as engine events: one `device-seen` per MAC with every IP
 * address the kernel has for it, at once and whenever the table changes
 * (`ip monitor neigh`, and a re-read every `refreshMs`). Entries that vanish
 * shrink the host's address list; a host that vanishes entirely is not
 * reported as gone (a quiet device is not a departed one).
 *
 * @example
 * ```ts
 * watchNeighbours({ interfaceName: 'eth0' }).subscribe((e) => console.log(e.deviceId, e.addresses));
 * ```
 */
export function watchNeighbours(options: WatchNeighboursOptions = {}): Observable<DeviceSeen> {
  // Without 'dev': with it, 'ip -j neigh' leaves the interface out of each entry.
  const args = ['-j', 'neigh', 'show'];
  const read = options.read ?? (async () => (await runCommand('ip', args, { timeoutMs: 5000 })).stdout);
  return new Observable<DeviceSeen>((subscriber) => {
    const last = new Map<string, string>();
    let closed = false;
    let pending: NodeJS.Timeout | undefined;
    const refresh = () => {
      read().then(
        (json) => {
          if (closed) return;
          let neighbours: Neighbour[];
          try {
            neighbours = parseIpNeighJson(json);
          } catch (error) {
            options.onProblem?.({ source: 'neighbours', message: (error as Error).message, at: Date.now() });
            return;
          }
          const present = new Set<string>();
          for (const event of neighbourEvents(neighbours.filter((n) => !options.interfaceName || n.interface === options.interfaceName))) {
            present.add(event.deviceId);
            const signature = JSON.stringify(event);
            if (last.get(event.deviceId) === signature) continue;
            last.set(event.deviceId, signature);
            subscriber.next(event);
          }
          // Only what the kernel holds now is remembered (the kernel bounds its table; MACs a host rotates through do not pile up here).
          for (const id of last.keys()) if (!present.has(id)) last.delete(id);
        },
        (error: unknown) => !closed && options.onProblem?.({ source: 'neighbours', message: String(error), at: Date.now() }),
      );
    };
    const soon = () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        refresh();
      }, 20);
    };
    const monitor = options.monitor === false ? undefined : spawn('ip', ['monitor', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor?.on('error', () => undefined);
    monitor?.stdout?.on('data', soon);
    const timer = setInterval(refresh, options.refreshMs ?? 10_000);
    refresh();
    return () => {
      closed = true;
      clearInterval(timer);
      if (pending) clearTimeout(pending);
      monitor?.kill();
    };
  });
}
