/**
 * The hub's firewall when the home's own router allows PCP THIRD_PARTY: a
 * {@link GatewayFirewall} that programs the commodity router over PCP from
 * the hub's address, on behalf of the LAN host each entry names.
 *
 * - add/renew → PCP MAP for the entry's internal client (THIRD_PARTY), with
 *   the lifetime the entry has left. An IPv4 port mapping asks for the
 *   engine's settled external port with PREFER_FAILURE: the router must give
 *   exactly that port or refuse; a router that still answers another port is
 *   a failure ({@link RouterPortMismatchError}) and its mapping is deleted at
 *   once. An IPv6 pinhole is a MAP with the IPv6 internal address.
 * - delete → MAP with lifetime 0 and the mapping's nonce; deleting an entry
 *   the hub does not hold is success.
 * - The entry's deadline is the need's: the router may cap a lifetime (miniupnpd's
 *   `max_lifetime`), so the PCP client renews before half of each grant until
 *   the deadline, asks only for the time left, and the hub deletes the mapping
 *   at the deadline (a `min_lifetime` would otherwise keep it longer).
 * - A router that lost its state (its epoch went back, or an ANNOUNCE) has
 *   every held mapping requested again at once (the PCP client does this).
 * - Nonces are derived from the grant id and a secret (`nonceSecret`): a hub
 *   restarted with the same secret renews and deletes the mappings it made
 *   before, instead of colliding with them.
 * - miniupnpd 2.3.1 (nftables), captured in the lab: it ignores PREFER_FAILURE
 *   (it answers the next free port, which this firewall deletes and reports),
 *   it grants a MAP for an existing mapping whatever its nonce, and it
 *   refuses (NOT_AUTHORIZED) to delete an IPv6 pinhole that a MAP has
 *   refreshed. So a held pinhole is renewed by replacing it (delete, then map:
 *   a gap of one round trip; `replacePinholesOnRenew`), and a pinhole that
 *   still cannot be deleted is cut to the router's shortest lifetime
 *   (`delete-shortened`).
 *
 * @example
 * ```ts
 * import { openRouterPcpFirewall } from './router-pcp-firewall';
 * const fw = await openRouterPcpFirewall({
 *   ipv4: { localAddress: '192.168.77.5', routerAddress: '192.168.77.1' },
 *   ipv6: { localAddress: '2001:db8:77::5', routerAddress: '2001:db8:77::1', routerAliases: ['192.168.77.1'] },
 *   interfaceName: 'eth0',
 * });
 * await fw.apply([action]);          // the console's UDP 3074 is mapped on the router
 * (await fw.list())[0].expiresInSeconds;
 * await fw.close();
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { asyncScheduler, Observable, SchedulerLike, Subject, Subscription } from 'rxjs';
import { entryFromAction, normalizeEntry } from '../../adapters/nftables/firewall-entry';
import { openUdpPcpTransport, PcpClient, PcpMapping, PcpMappingEvent, PcpMappingState, PcpMapRequest, PcpResultError, PcpTransport, PCP_NONCE_BYTES } from '../../adapters/pcp';
import type { Action } from '../../policies/model/action';
import type { Family } from '../../policies/model/address';
import { entryKey } from '../gateway/gateway-firewall';
import type { ActualEntry, DesiredEntry, FirewallEntry, GatewayFirewall, ReconcileSummary } from '../gateway/gateway-firewall';

/** The router gave another external port than the settled one (it ignored PREFER_FAILURE). */
export class RouterPortMismatchError extends Error {
  override readonly name = 'RouterPortMismatchError';
  constructor(
    readonly entry: FirewallEntry,
    readonly grantedPort: number,
  ) {
    super(
      `the router mapped ${entry.protocol} ${entry.internalClient}:${entry.internalPort} on external port ${grantedPort}, not the settled ${entry.externalPort} ` +
        '(it ignored PREFER_FAILURE); the mapping was deleted',
    );
  }
}

/** Some entries of a batch or a reconcile could not be applied; each failure is listed. */
export class RouterPcpApplyError extends Error {
  override readonly name = 'RouterPcpApplyError';
  constructor(readonly failures: readonly { readonly key: string; readonly error: Error }[]) {
    super(`the router refused ${failures.length} change(s): ${failures.map((f) => `${f.key}: ${f.error.message}`).join('; ')}`);
  }
}

/** What happened to a held mapping outside of apply/reconcile. */
export type RouterPcpFirewallEvent =
  | { readonly type: 'renewed'; readonly entry: FirewallEntry; readonly state: PcpMappingState }
  /** Mapped again after the router lost its state; `elapsedMs` from noticing it to the new grant. */
  | { readonly type: 'remapped'; readonly entry: FirewallEntry; readonly state: PcpMappingState; readonly elapsedMs: number }
  /** The router refused a renewal or re-map, or no answer came in time: the entry is gone. */
  | { readonly type: 'lost'; readonly entry: FirewallEntry; readonly error: Error }
  /** The entry reached its deadline and was removed. */
  | { readonly type: 'expired'; readonly entry: FirewallEntry }
  /** The router refused to delete a pinhole (miniupnpd 2.3.1 after a refresh): it was cut to the router's shortest lifetime instead. */
  | { readonly type: 'delete-shortened'; readonly entry: FirewallEntry; readonly lifetimeSeconds: number; readonly error: Error };

export interface RouterPcpFirewallInit {
  /** PCP client toward the router's IPv4 address (IPv4 port mappings), from the hub's IPv4 address. */
  readonly ipv4?: PcpClient;
  /** PCP client toward the router's IPv6 address (IPv6 pinholes), from the hub's IPv6 address. */
  readonly ipv6?: PcpClient;
  /** The scheduler the clients run on (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** The clock `DesiredEntry.expiresAt` is in (default `Date.now`). */
  readonly now?: () => number;
  /** Keys the mappings' nonces (a persisted secret survives a hub restart); default random. */
  readonly nonceSecret?: Buffer;
  /** Lifetime asked for an entry with lease 0 (permanent), renewed until deleted (default 86400 s). */
  readonly permanentLifetimeSeconds?: number;
  /**
   * Renew a held IPv6 pinhole by deleting and mapping it again (a gap of one
   * round trip) instead of refreshing it with the same nonce (default true):
   * miniupnpd 2.3.1 (nftables) can no longer delete a pinhole a MAP has
   * refreshed. Turn off for a router that keeps refreshed pinholes deletable.
   */
  readonly replacePinholesOnRenew?: boolean;
  /** Called on close (transports the firewall opened). */
  readonly onClose?: () => Promise<void>;
}

interface Held {
  entry: FirewallEntry;
  mapping: PcpMapping;
  /** Scheduler ms; undefined for a permanent entry. */
  deadlineMs: number | undefined;
  leaseSeconds: number;
  watch: Subscription;
}

/** The largest lifetime PCP carries (32-bit seconds); asked leases are capped to it. */
const MAX_PCP_LIFETIME = 0xffffffff;

export class RouterPcpFirewall implements GatewayFirewall {
  private readonly held = new Map<string, Held>();
  private readonly scheduler: SchedulerLike;
  private readonly now: () => number;
  private readonly secret: Buffer;
  private readonly permanentLifetime: number;
  private readonly replacePinholes: boolean;
  private readonly eventsSubject = new Subject<RouterPcpFirewallEvent>();
  private closed = false;

  /** Renewals, re-maps after a router restart, losses and deadlines of held entries. */
  readonly events$: Observable<RouterPcpFirewallEvent> = this.eventsSubject.asObservable();

  constructor(private readonly init: RouterPcpFirewallInit) {
    if (!init.ipv4 && !init.ipv6) throw new Error('RouterPcpFirewall needs a PCP client for ipv4, ipv6 or both');
    this.scheduler = init.scheduler ?? asyncScheduler;
    this.now = init.now ?? Date.now;
    this.secret = init.nonceSecret ?? randomBytes(32);
    this.permanentLifetime = init.permanentLifetimeSeconds ?? 86400;
    this.replacePinholes = init.replacePinholesOnRenew ?? true;
    if (!Number.isInteger(this.permanentLifetime) || this.permanentLifetime <= 0) throw new Error(`permanentLifetimeSeconds must be a positive integer, got ${this.permanentLifetime}`);
  }

  async prepare(): Promise<void> {}

  async apply(actions: readonly Action[]): Promise<void> {
    this.checkOpen();
    const failures: { key: string; error: Error }[] = [];
    for (const action of actions) {
      try {
        const entry = entryFromAction(action);
        if (action.op === 'delete') await this.remove(entry);
        else await this.put(entry, entry.leaseSeconds === 0 ? undefined : this.scheduler.now() + entry.leaseSeconds * 1000, entry.leaseSeconds);
      } catch (error) {
        failures.push({ key: action.key, error: asError(error) });
      }
    }
    if (failures.length > 0) throw new RouterPcpApplyError(failures);
  }

  async list(): Promise<ActualEntry[]> {
    const now = this.scheduler.now();
    return [...this.held.values()].map(({ entry, deadlineMs, leaseSeconds }) => ({
      ...entry,
      set: entry.kind,
      timeoutSeconds: leaseSeconds,
      ...(deadlineMs !== undefined ? { expiresInSeconds: Math.max(0, Math.ceil((deadlineMs - now) / 1000)) } : {}),
    }));
  }

  async reconcile(desired: readonly DesiredEntry[]): Promise<ReconcileSummary> {
    this.checkOpen();
    const clockNow = this.now();
    const schedNow = this.scheduler.now();
    const want = new Map<string, { entry: DesiredEntry; deadlineMs: number | undefined }>();
    for (const d of desired) {
      const entry = normalizeEntry<DesiredEntry>(d, d.owner ?? 'desired entry');
      if (entry.leaseSeconds === 0 && entry.expiresAt === undefined) {
        want.set(keyOf(entry), { entry, deadlineMs: undefined });
        continue;
      }
      const left = entry.expiresAt !== undefined ? entry.expiresAt - clockNow : entry.leaseSeconds * 1000;
      if (left > 0) want.set(keyOf(entry), { entry, deadlineMs: schedNow + left });
    }
    const failures: { key: string; error: Error }[] = [];
    const summary = { added: 0, removed: 0, corrected: 0, unchanged: 0 };
    for (const [key, held] of [...this.held]) {
      if (want.has(key)) continue;
      try {
        await this.remove(held.entry);
        summary.removed++;
      } catch (error) {
        failures.push({ key, error: asError(error) });
      }
    }
    for (const [key, { entry, deadlineMs }] of want) {
      const held = this.held.get(key);
      const same =
        held !== undefined &&
        held.entry.owner === entry.owner &&
        (held.deadlineMs === undefined ? deadlineMs === undefined : deadlineMs !== undefined && Math.abs(held.deadlineMs - deadlineMs) <= 2000);
      if (same) {
        summary.unchanged++;
        continue;
      }
      try {
        const lease = deadlineMs === undefined ? 0 : Math.max(1, Math.ceil((deadlineMs - schedNow) / 1000));
        await this.put(entry, deadlineMs, lease, { takeOver: held === undefined });
        if (held) summary.corrected++;
        else summary.added++;
      } catch (error) {
        failures.push({ key, error: asError(error) });
      }
    }
    if (failures.length > 0) throw new RouterPcpApplyError(failures);
    return summary;
  }

  /** Stops renewing; the router lets the mappings run out at their lifetimes (all within their deadlines). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const held of this.held.values()) this.forget(held);
    this.held.clear();
    this.eventsSubject.complete();
    this.init.ipv4?.close();
    this.init.ipv6?.close();
    await this.init.onClose?.();
  }

  /** The nonce of an entry: the same for the same grant and entry across hub restarts with the same secret. */
  nonceOf(entry: FirewallEntry): Buffer {
    return createHmac('sha256', this.secret)
      .update(`${entry.owner ?? ''}|${keyOf(entry)}`)
      .digest()
      .subarray(0, PCP_NONCE_BYTES);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the router PCP firewall is closed');
  }

  private clientFor(family: Family): PcpClient {
    const client = family === 'ipv4' ? this.init.ipv4 : this.init.ipv6;
    if (!client) throw new Error(`the hub has no PCP client toward the router for ${family} (no ${family} address of its own to send from)`);
    return client;
  }

  /** Makes the entry exist on the router until `deadlineMs` (scheduler time; undefined = until deleted). */
  private async put(entry: FirewallEntry, deadlineMs: number | undefined, leaseSeconds: number, options: { readonly takeOver?: boolean } = {}): Promise<void> {
    const key = keyOf(entry);
    const lifetime = Math.min(MAX_PCP_LIFETIME, deadlineMs === undefined ? this.permanentLifetime : Math.max(1, Math.ceil((deadlineMs - this.scheduler.now()) / 1000)));
    const held = this.held.get(key);
    if (held && held.mapping.isActive && !(entry.kind === 'pinhole' && this.replacePinholes)) {
      const state = await held.mapping.extend(deadlineMs === undefined ? this.permanentLifetime : lifetime, deadlineMs);
      this.checkPort(entry, state.externalPort, held.mapping);
      held.entry = entry;
      held.deadlineMs = deadlineMs;
      held.leaseSeconds = leaseSeconds;
      return;
    }
    if (entry.kind === 'pinhole' && entry.family === 'ipv4') throw new Error('an IPv4 pinhole (no NAT) cannot be opened over PCP on a NAT router; only IPv4 port mappings and IPv6 pinholes');
    if (held) {
      this.drop(key, held);
      // A pinhole is replaced rather than refreshed (see `replacePinholesOnRenew`): delete, then map anew.
      if (held.mapping.isActive) await held.mapping.delete().catch(() => undefined);
    } else if (options.takeOver && entry.kind === 'pinhole' && this.replacePinholes) {
      // A pinhole this hub made before a restart (same nonce): replace it too, so it stays deletable.
      await this.clientFor(entry.family)
        .release({ protocol: entry.protocol, internalPort: entry.internalPort, internalAddress: entry.internalClient }, this.nonceOf(entry))
        .catch(() => undefined);
    }
    const mapping = await this.clientFor(entry.family).map({ ...this.mapRequest(entry, lifetime), ...(deadlineMs !== undefined ? { untilMs: deadlineMs } : {}) }, { nonce: this.nonceOf(entry) });
    const next: Held = { entry, mapping, deadlineMs, leaseSeconds, watch: new Subscription() };
    this.held.set(key, next);
    next.watch.add(mapping.changes$.subscribe({ next: (e) => this.onChange(key, next, e), complete: () => this.onComplete(key, next) }));
    await this.checkPortOrDelete(entry, mapping.state.externalPort, key, next);
  }

  /** The PCP MAP request of an entry. */
  private mapRequest(entry: FirewallEntry, lifetimeSeconds: number): PcpMapRequest {
    const filters = entry.remoteHost === '' ? [] : [{ remotePeerAddress: entry.remoteHost, prefixLength: entry.family === 'ipv4' ? 32 : 128, remotePeerPort: entry.remotePort }];
    return {
      protocol: entry.protocol,
      internalPort: entry.internalPort,
      internalAddress: entry.internalClient,
      lifetimeSeconds,
      ...(entry.kind === 'port-mapping' ? { suggestedExternalPort: entry.externalPort ?? entry.internalPort, preferFailure: true } : { suggestedExternalPort: entry.internalPort }),
      ...(filters.length > 0 ? { filters } : {}),
    };
  }

  /**
   * Deletes a mapping on the router. miniupnpd 2.3.1 (nftables) answers
   * NOT_AUTHORIZED to the delete of an IPv6 pinhole that a MAP has refreshed
   * (the refresh drops the rule's owner label): the pinhole is then cut to
   * the router's shortest lifetime with one more MAP of lifetime 1, not
   * renewed, and `delete-shortened` says how long it stays.
   */
  private async unmap(entry: FirewallEntry, nonce: Buffer, remove: () => Promise<void>): Promise<void> {
    try {
      await remove();
    } catch (error) {
      if (!(entry.kind === 'pinhole' && error instanceof PcpResultError && error.resultName === 'NOT_AUTHORIZED')) throw error;
      const last = await this.clientFor(entry.family).map(this.mapRequest(entry, 1), { nonce });
      last.stop();
      this.eventsSubject.next({ type: 'delete-shortened', entry, lifetimeSeconds: last.state.lifetime, error });
    }
  }

  private async checkPortOrDelete(entry: FirewallEntry, grantedPort: number, key: string, held: Held): Promise<void> {
    if (entry.kind !== 'port-mapping' || grantedPort === entry.externalPort) return;
    this.drop(key, held);
    await held.mapping.delete().catch(() => undefined);
    throw new RouterPortMismatchError(entry, grantedPort);
  }

  private checkPort(entry: FirewallEntry, grantedPort: number, mapping: PcpMapping): void {
    if (entry.kind !== 'port-mapping' || grantedPort === entry.externalPort) return;
    const key = keyOf(entry);
    const held = this.held.get(key);
    if (held) this.drop(key, held);
    void mapping.delete().catch(() => undefined);
    throw new RouterPortMismatchError(entry, grantedPort);
  }

  private onChange(key: string, held: Held, e: PcpMappingEvent): void {
    if (this.held.get(key) !== held) return;
    switch (e.type) {
      case 'renewed':
      case 'remapped':
        if (held.entry.kind === 'port-mapping' && e.state.externalPort !== held.entry.externalPort) {
          const error = new RouterPortMismatchError(held.entry, e.state.externalPort);
          this.drop(key, held);
          void held.mapping.delete().catch(() => undefined);
          this.eventsSubject.next({ type: 'lost', entry: held.entry, error });
          return;
        }
        this.eventsSubject.next(e.type === 'renewed' ? { type: 'renewed', entry: held.entry, state: e.state } : { type: 'remapped', entry: held.entry, state: e.state, elapsedMs: e.elapsedMs });
        return;
      case 'failed':
        this.drop(key, held);
        this.eventsSubject.next({ type: 'lost', entry: held.entry, error: e.error });
        return;
      case 'expired':
        this.drop(key, held);
        this.eventsSubject.next({ type: 'lost', entry: held.entry, error: new Error('no renewal got an answer from the router before the mapping ran out') });
        return;
    }
  }

  /** The mapping stopped on its own: the PCP client ends it at its deadline (`untilMs`). */
  private onComplete(key: string, held: Held): void {
    if (this.held.get(key) !== held || this.closed) return;
    this.expire(key, held);
  }

  /** The deadline: delete on the router (a lifetime the router raised to its minimum would outlive the lease). */
  private expire(key: string, held: Held): void {
    if (this.held.get(key) !== held) return;
    this.drop(key, held);
    const { entry, mapping } = held;
    void this.unmap(entry, mapping.nonce, () =>
      this.clientFor(entry.family).release({ protocol: entry.protocol, internalPort: entry.internalPort, internalAddress: entry.internalClient }, mapping.nonce),
    ).catch((error: unknown) => this.eventsSubject.next({ type: 'lost', entry, error: asError(error) }));
    this.eventsSubject.next({ type: 'expired', entry });
  }

  private async remove(entry: FirewallEntry): Promise<void> {
    const key = keyOf(entry);
    const held = this.held.get(key);
    if (!held) return; // not held: nothing of ours to delete
    this.drop(key, held);
    if (held.mapping.isActive) await this.unmap(held.entry, held.mapping.nonce, () => held.mapping.delete());
  }

  /** Forgets a held entry: its watchers and timer stop (the mapping itself is left to the caller). */
  private drop(key: string, held: Held): void {
    if (this.held.get(key) === held) this.held.delete(key);
    this.forget(held);
  }

  private forget(held: Held): void {
    held.watch.unsubscribe();
  }
}

/** The identity of an entry without its owner (the same router mapping whoever owns it). */
function keyOf(entry: FirewallEntry): string {
  return entryKey(entry);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Where the hub talks PCP to the router, per family. */
export interface RouterPcpEndpoint {
  /** The hub's own address of this family, toward the router. */
  readonly localAddress: string;
  /** The router's LAN address of this family (its PCP server). */
  readonly routerAddress: string;
  /** Other addresses of the router (its IPv4 address for the IPv6 client: miniupnpd 2.3.1 announces restarts over IPv4 only). */
  readonly routerAliases?: readonly string[];
}

export interface OpenRouterPcpFirewallOptions extends Omit<RouterPcpFirewallInit, 'ipv4' | 'ipv6' | 'onClose'> {
  readonly ipv4?: RouterPcpEndpoint;
  readonly ipv6?: RouterPcpEndpoint;
  /** LAN interface, for multicast ANNOUNCEs (a router restart). */
  readonly interfaceName?: string;
}

/**
 * Opens the PCP transports and clients toward the router and the firewall on
 * them; `close()` closes them all.
 *
 * @example
 * ```ts
 * const fw = await openRouterPcpFirewall({ ipv4: { localAddress: '192.168.77.5', routerAddress: '192.168.77.1' } });
 * ```
 */
export async function openRouterPcpFirewall(options: OpenRouterPcpFirewallOptions): Promise<RouterPcpFirewall> {
  const transports: PcpTransport[] = [];
  const clients: { ipv4?: PcpClient; ipv6?: PcpClient } = {};
  try {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const endpoint = options[family];
      if (!endpoint) continue;
      const transport = await openUdpPcpTransport({
        localAddress: endpoint.localAddress,
        serverAddress: endpoint.routerAddress,
        ...(options.interfaceName ? { interfaceName: options.interfaceName } : {}),
        announceFamilies: family === 'ipv6' ? ['ipv6', 'ipv4'] : ['ipv4'],
      });
      transports.push(transport);
      clients[family] = new PcpClient({
        transport,
        ...(options.scheduler ? { scheduler: options.scheduler } : {}),
        ...(endpoint.routerAliases ? { serverAliases: endpoint.routerAliases } : {}),
      });
    }
  } catch (error) {
    clients.ipv4?.close();
    clients.ipv6?.close();
    await Promise.all(transports.map((t) => t.close()));
    throw error;
  }
  const { ipv4: _a, ipv6: _b, interfaceName: _i, ...rest } = options;
  return new RouterPcpFirewall({ ...rest, ...clients, onClose: async () => void (await Promise.all(transports.map((t) => t.close()))) });
}
