/**
 * Keeps one family's port through a hub (the coordination protocol): ask the
 * hub before touching the router, and follow its answer.
 *
 * - a refusal: the port is `denied` with the hub's reason (rule, code,
 *   detail); the router is not touched;
 * - `applier: 'hub'`: the hub put the need on the router; the agent does not
 *   touch the router, and keeps the need alive by asking again before half of
 *   the lease has run;
 * - `applier: 'agent'`: the agent applies exactly the settled parameters
 *   (`applySettled`: its usual keeper, which renews the router itself), then
 *   reports the outcome; it asks again before half of the hub's lease;
 * - the hub unavailable (timeout, refused, reset, 5xx, malformed answer): the
 *   agent decides alone (`applyAlone`, exactly what it does without a hub),
 *   says so once, asks the hub again at each renewal, and when the hub is
 *   back says so and reconciles (reports what it holds, or hands over to the
 *   hub's settlement).
 *
 * Every verdict carries `hub: { url, applier, needId, reasons, reachable }`.
 *
 * @example
 * ```ts
 * const keeper = new HubKeeper({ family: 'ipv4', hub: new HubClient({ url }), ask: { protocol: 'udp', internalPort: 3074, family: 'ipv4' },
 *   applySettled: (grant, client) => openWith(grant, client), applyAlone: (client) => openAlone(client), log: console.error });
 * const verdict = await keeper.open('192.168.77.10');   // { verdict: 'open', …, hub: { applier: 'agent', needId: 'n1', … } }
 * await keeper.close();                                  // the router's mapping removed, then DELETE the need
 * ```
 */
import { asyncScheduler, BehaviorSubject, Observable, SchedulerLike, Subscription } from 'rxjs';
import type { CoordinationAsk, CoordinationGrant, CoordinationOutcome, CoordinationReason, CoordinationRefusal } from '../hub/coordination-protocol';
import { HubAnswer, HubCalls } from './hub-client';
import type { Keeper } from './lease-keeper';
import { renewalDelayMs } from './lease-timing';
import type { Opened } from './protocol-race';
import type { Reachability } from './reachability';

/** What the hub said about a family, as the JSON output shows it. */
export interface HubView {
  readonly url: string;
  /** Who applied it (absent: the hub refused, or was not reachable). */
  readonly applier?: 'hub' | 'agent';
  readonly needId?: string;
  readonly reasons: readonly CoordinationReason[];
  /** false: the hub did not answer and the agent decided alone. */
  readonly reachable: boolean;
  /** Why the hub was not used, when it was not. */
  readonly detail?: string;
}

/** A verdict, with what the hub said. */
export type HubReachability = Reachability & { readonly hub?: HubView };

export interface HubKeeperInit {
  readonly family: 'ipv4' | 'ipv6';
  readonly hub: HubCalls;
  /** The ask, without lease renewal state (the same ask renews). */
  readonly ask: CoordinationAsk;
  /** Applies a grant's settled parameters for `client` (never AddAnyPortMapping: the settled external port exactly). */
  readonly applySettled: (grant: CoordinationGrant, client: string) => Promise<Opened>;
  /** Opens as the agent does without a hub. */
  readonly applyAlone: (client: string) => Promise<Opened>;
  /** One line for the user (the hub lost, the hub back). */
  readonly log?: (message: string) => void;
  readonly onProblem?: (error: unknown) => void;
  readonly scheduler?: SchedulerLike;
}

/** Whether a hub error means "decide alone" (any failure to get a usable answer). */
function isHubFailure(error: unknown): error is Error {
  return error instanceof Error;
}

function reasonText(reasons: readonly CoordinationReason[]): string {
  if (reasons.length === 0) return 'no reason given';
  return reasons
    .map((r) => `${r.rule} ${r.code}${r.detail ? `: ${r.detail}` : ''}${r.conflictsWith ? ` (conflicts with ${r.conflictsWith})` : ''}`)
    .join('; ');
}

/** The router outcome to report for what the agent applied. */
export function outcomeOf(opened: Opened): CoordinationOutcome {
  const v = opened.verdict;
  const via = v.via === 'pcp' || v.via === 'natpmp' || opened.kind === 'pcp' ? 'pcp' : 'upnp';
  if (v.verdict === 'open') {
    return { ok: true, via, ...(v.family === 'ipv4' ? { externalPort: v.externalPort } : {}), leaseSeconds: v.leaseSeconds };
  }
  return { ok: false, via, error: `${v.verdict}: ${v.reason}`.slice(0, 512) };
}

export class HubKeeper implements Keeper {
  private readonly scheduler: SchedulerLike;
  private readonly subject = new BehaviorSubject<HubReachability | undefined>(undefined);
  private client: string | undefined;
  private inner: Opened | undefined;
  private innerSub: Subscription | undefined;
  private timer: Subscription | undefined;
  private view: HubView;
  private needId: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The hub was unavailable at the last ask (logged once per outage). */
  private outage = false;

  constructor(private readonly init: HubKeeperInit) {
    this.scheduler = init.scheduler ?? asyncScheduler;
    this.view = { url: init.hub.url, reasons: [], reachable: false };
  }

  get reachability$(): Observable<Reachability | undefined> {
    return this.subject.asObservable();
  }

  get reachability(): HubReachability | undefined {
    return this.subject.value;
  }

  get internalClient(): string | undefined {
    return this.client;
  }

  /** What the hub said last. */
  get hubView(): HubView {
    return this.view;
  }

  /** How the current port was applied: by the hub, or by one of the agent's protocols. */
  get kind(): 'upnp' | 'pcp' | 'hub' {
    return this.inner?.kind ?? 'hub';
  }

  open(internalClient: string): Promise<Reachability> {
    return this.serial(async () => {
      this.client = internalClient;
      return this.askAndApply();
    });
  }

  /** Asks the hub again now (and lets the agent's own keeper renew the router). */
  renewNow(): Promise<Reachability | undefined> {
    return this.serial(async () => {
      if (this.closed || this.client === undefined) return this.reachability;
      await this.inner?.keeper?.renewNow();
      return this.askAndApply();
    });
  }

  moveTo(internalClient: string, oldAddressStillOwned: boolean): Promise<Reachability> {
    return this.serial(async () => {
      const old = this.client;
      await this.dropInner(oldAddressStillOwned);
      if (old !== undefined && oldAddressStillOwned) await this.endNeed(old);
      this.client = internalClient;
      this.needId = undefined;
      return this.askAndApply();
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      this.timer?.unsubscribe();
      try {
        await this.dropInner(true);
        if (this.client !== undefined) await this.endNeed(this.client);
      } finally {
        this.subject.complete();
      }
    });
  }

  detach(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.innerSub?.unsubscribe();
    this.inner?.keeper?.detach();
    this.subject.complete();
  }

  private async endNeed(client: string): Promise<void> {
    if (this.needId === undefined || this.outage) return;
    try {
      await this.init.hub.end(this.needId, client);
    } catch (error) {
      this.init.onProblem?.(error);
    }
  }

  private async dropInner(close: boolean): Promise<void> {
    const inner = this.inner;
    this.inner = undefined;
    this.innerSub?.unsubscribe();
    this.innerSub = undefined;
    if (!inner?.keeper) return;
    if (close) await inner.keeper.close().catch((e: unknown) => this.init.onProblem?.(e));
    else inner.keeper.detach();
  }

  private async askAndApply(): Promise<HubReachability> {
    const client = this.client!;
    let answer: HubAnswer;
    try {
      answer = await this.init.hub.ask(this.init.ask, client);
    } catch (error) {
      if (!isHubFailure(error)) throw error;
      return this.alone(client, error);
    }
    if (this.outage) {
      this.outage = false;
      this.init.log?.(`the hub at ${this.init.hub.url} answers again; ${this.init.family} follows its settlement`);
    }
    if (answer.kind === 'refusal') return this.refused(answer.refusal);
    const grant = answer.grant;
    this.needId = grant.needId;
    this.view = { url: this.init.hub.url, applier: grant.applier, needId: grant.needId, reasons: grant.reasons, reachable: true };
    if (grant.applier === 'hub') {
      await this.dropInner(true); // whatever the agent held alone is now the hub's to hold
      const verdict = this.hubApplied(grant);
      this.publish(verdict, renewalDelayMs(grant.leaseSeconds));
      return verdict;
    }
    // applier: 'agent' — keep what the agent holds when it is exactly what was settled.
    const held = this.inner?.verdict.verdict === 'open' ? this.inner : undefined;
    const current = held?.keeper?.reachability ?? held?.verdict;
    const matches =
      current !== undefined && current.verdict === 'open' && current.internalClient === client && (grant.family !== 'ipv4' || grant.externalPort === undefined || current.externalPort === grant.externalPort);
    if (!matches) {
      await this.dropInner(true);
      this.adopt(await this.init.applySettled(grant, client));
    }
    const inner = this.inner!;
    await this.report(grant.needId, { ...inner, verdict: inner.keeper?.reachability ?? inner.verdict }, client);
    const verdict = this.annotate(inner.keeper?.reachability ?? inner.verdict);
    this.publish(verdict, renewalDelayMs(grant.leaseSeconds));
    return verdict;
  }

  private async report(needId: string, opened: Opened, client: string): Promise<void> {
    try {
      await this.init.hub.report(needId, outcomeOf(opened), client);
    } catch (error) {
      this.init.onProblem?.(error);
    }
  }

  private async alone(client: string, error: Error): Promise<HubReachability> {
    if (!this.outage) {
      this.outage = true;
      this.init.log?.(`${error.message}; ${this.init.family} is decided by this host alone until the hub answers again`);
    }
    this.view = { url: this.init.hub.url, reasons: [], reachable: false, detail: error.message };
    if (!this.inner) this.adopt(await this.init.applyAlone(client));
    const verdict = this.annotate(this.inner!.keeper?.reachability ?? this.inner!.verdict);
    this.publish(verdict, renewalDelayMs(this.init.ask.leaseSeconds || 3600));
    return verdict;
  }

  private async refused(refusal: CoordinationRefusal): Promise<HubReachability> {
    await this.dropInner(true);
    this.needId = refusal.needId;
    this.view = { url: this.init.hub.url, needId: refusal.needId, reasons: refusal.reasons, reachable: true };
    const first = refusal.reasons[0];
    const verdict: HubReachability = {
      family: this.init.family,
      verdict: refusal.verdict === 'ineffective' ? 'ineffective' : 'denied',
      ...(refusal.verdict === 'ineffective' ? { externalIpv4Kind: 'none' as const, gateway: this.init.hub.url } : { gateway: this.init.hub.url, ...(first ? { name: first.code } : {}) }),
      reason: `the hub ${refusal.verdict === 'queued' ? 'queued' : 'refused'} it: ${reasonText(refusal.reasons)}`,
      hub: this.view,
    } as HubReachability;
    // A queued need may be settled later: ask again; a denied one is final until the user asks again.
    this.publish(verdict, refusal.verdict === 'queued' ? renewalDelayMs(60) : undefined);
    return verdict;
  }

  private hubApplied(grant: CoordinationGrant): HubReachability {
    const changed = grant.verdict === 'granted-with-changes' ? ` (${reasonText(grant.reasons)})` : '';
    const externalPort = grant.family === 'ipv4' ? (grant.externalPort ?? grant.internalPort) : grant.internalPort;
    const externalAddress = grant.family === 'ipv6' ? grant.internalClient : (grant.externalAddress ?? '');
    return {
      family: this.init.family,
      verdict: 'open',
      reason: `the hub holds it on the router: ${grant.family} ${grant.protocol.toUpperCase()} ${externalPort} -> ${grant.internalClient}:${grant.internalPort}${grant.applied ? '' : ' (not yet confirmed by the router)'}${changed}`,
      protocol: grant.protocol,
      externalAddress,
      externalPort,
      internalClient: grant.internalClient,
      internalPort: grant.internalPort,
      leaseSeconds: grant.leaseSeconds,
      gateway: this.init.hub.url,
      hub: this.view,
    };
  }

  private adopt(opened: Opened): void {
    this.inner = opened;
    this.innerSub = opened.keeper?.reachability$.subscribe((r) => {
      if (r && !this.closed && this.inner === opened) this.subject.next(this.annotate(r));
    });
  }

  private annotate(r: Reachability): HubReachability {
    return { ...r, hub: this.view };
  }

  private publish(verdict: HubReachability, delayMs: number | undefined): void {
    if (!this.closed) this.subject.next(verdict);
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.closed || delayMs === undefined) return;
    this.timer = this.scheduler.schedule(() => {
      // Only the hub is asked here: the agent's own keeper renews the router on its own timer.
      this.serial(() => (this.closed ? Promise.resolve(this.reachability) : this.askAndApply())).catch((error: unknown) => {
        this.init.onProblem?.(error);
        this.publish(this.reachability ?? verdict, 30_000);
      });
    }, delayMs);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
