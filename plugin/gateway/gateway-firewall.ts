/**
 * What the gateway daemon needs from the router's firewall: add or refresh an
 * entry with a kernel-side timeout (so the kernel expires a lease even when
 * the daemon is dead), remove one, read everything back, and reconcile the
 * table against the desired entries at start and on demand.
 *
 * The nftables adapter (`adapters/nftables/`) is adapted to this port by
 * `nftables-gateway-firewall.ts`; {@link MemoryGatewayFirewall} is the
 * in-process stand-in for tests and for `firewall.enabled: false`.
 *
 * @example
 * ```ts
 * import { MemoryGatewayFirewall } from './gateway-firewall';
 * const fw = new MemoryGatewayFirewall(() => Date.now());
 * await fw.apply({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::10',
 *   internalPort: 3074, remoteHost: '', remotePort: 0, leaseSeconds: 600, expiresAt: Date.now() + 600_000 });
 * (await fw.list()).length; // 1
 * ```
 */
import { entryFromAction } from '../../adapters/nftables/firewall-entry';
import type { ActualEntry, DesiredEntry, FirewallEntry } from '../../adapters/nftables/firewall-entry';
import type { Action } from '../../policies/model/action';

export type { ActualEntry, DesiredEntry, FirewallEntry };

/** What a reconcile did. */
export interface ReconcileSummary {
  /** Entries that were missing and were added. */
  readonly added: number;
  /** Entries in the table that nothing wanted (orphans), removed. */
  readonly removed: number;
  /** Entries rewritten (wrong data, owner or time left). */
  readonly corrected: number;
  /** Entries already as wanted. */
  readonly unchanged: number;
}

export interface GatewayFirewall {
  /** Creates what the firewall needs (table, sets, chains); idempotent, keeps existing entries. */
  prepare(): Promise<void>;
  /**
   * Applies engine actions as one transaction: add/renew make the entry exist
   * with a kernel timeout of the action's `leaseSeconds`; delete removes it (a
   * missing entry is success). Throws when nothing could be applied.
   */
  apply(actions: readonly Action[]): Promise<void>;
  /** Every entry in the table (with time left). */
  list(): Promise<ActualEntry[]>;
  /** Makes the table hold exactly `desired` (adds, removes orphans, fixes timeouts to `expiresAt`). */
  reconcile(desired: readonly DesiredEntry[]): Promise<ReconcileSummary>;
  /** Releases resources; entries stay in the kernel (they expire by their own timeouts). */
  close(): Promise<void>;
}

/** The identity of an entry: two entries with the same key are the same kernel element. */
export function entryKey(e: FirewallEntry): string {
  return `${e.kind}|${e.family}|${e.protocol}|${e.internalClient}|${e.internalPort}|${e.externalPort ?? '-'}|${e.remoteHost}|${e.remotePort}`;
}

interface Held {
  entry: FirewallEntry;
  expiresAt: number;
  timeoutSeconds: number;
}

/** An in-memory firewall with kernel-like timeouts, driven by an injected clock. */
export class MemoryGatewayFirewall implements GatewayFirewall {
  private readonly entries = new Map<string, Held>();
  /** Every change, for tests: `add <key> <timeout>s`, `delete <key>`. */
  readonly calls: string[] = [];
  /** Set to make the next calls fail (tests of feedback paths). */
  failWith?: Error;

  constructor(private readonly now: () => number) {}

  async prepare(): Promise<void> {}

  async apply(actions: readonly Action[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    const entries = actions.map((a) => ({ op: a.op, entry: entryFromAction(a) }));
    for (const { op, entry } of entries) {
      const { leaseSeconds, expiresAt: _e, ...plain } = entry;
      const key = entryKey(plain);
      if (op === 'delete') {
        this.calls.push(`delete ${key}`);
        this.entries.delete(key);
      } else {
        this.calls.push(`add ${key} ${leaseSeconds}s`);
        this.entries.set(key, { entry: plain, expiresAt: this.now() + leaseSeconds * 1000, timeoutSeconds: leaseSeconds });
      }
    }
  }

  async list(): Promise<ActualEntry[]> {
    this.expire();
    return [...this.entries.values()].map(({ entry, expiresAt, timeoutSeconds }) => ({
      ...entry,
      set: entry.kind,
      timeoutSeconds,
      expiresInSeconds: Math.max(0, Math.ceil((expiresAt - this.now()) / 1000)),
    }));
  }

  async reconcile(desired: readonly DesiredEntry[]): Promise<ReconcileSummary> {
    if (this.failWith) throw this.failWith;
    this.expire();
    const now = this.now();
    const want = new Map<string, { entry: FirewallEntry; expiresAt: number; timeoutSeconds: number }>();
    for (const d of desired) {
      const { leaseSeconds, expiresAt, ...plain } = d;
      const at = expiresAt ?? now + leaseSeconds * 1000;
      if (at > now) want.set(entryKey(plain), { entry: plain, expiresAt: at, timeoutSeconds: leaseSeconds });
    }
    let added = 0;
    let removed = 0;
    let corrected = 0;
    let unchanged = 0;
    for (const [key, held] of [...this.entries]) {
      const w = want.get(key);
      if (!w) {
        this.entries.delete(key);
        this.calls.push(`delete ${key}`);
        removed++;
      } else if (Math.abs(w.expiresAt - held.expiresAt) > 2000 || w.entry.owner !== held.entry.owner) {
        this.entries.set(key, w);
        corrected++;
      } else unchanged++;
    }
    for (const [key, w] of want) {
      if (!this.entries.has(key)) {
        this.entries.set(key, w);
        this.calls.push(`add ${key}`);
        added++;
      }
    }
    return { added, removed, corrected, unchanged };
  }

  async close(): Promise<void> {}

  private expire(): void {
    const now = this.now();
    for (const [key, held] of [...this.entries]) if (held.expiresAt <= now) this.entries.delete(key);
  }
}
