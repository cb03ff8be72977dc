import { asyncScheduler, BehaviorSubject, Observable, SchedulerLike, Subscription } from 'rxjs';
import { FamilyOpener, OpenerResult } from './family-opener';
import { renewalDelayMs } from './lease-timing';
import { Reachability } from './reachability';

export interface LeaseKeeperInit<Held> {
  readonly opener: FamilyOpener<Held>;
  readonly scheduler?: SchedulerLike;
  /** Called when a renewal or move fails in a way the keeper cannot fix itself. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps one family's port open: renews it before half of its lease has run,
 * retries a failed renewal (shorter delays) while the lease still runs, moves
 * it to a new InternalClient address when the old one goes away, and closes it.
 * Time comes from the injected rxjs scheduler, so tests can drive it.
 */
export class LeaseKeeper<Held> {
  private readonly scheduler: SchedulerLike;
  private readonly subject: BehaviorSubject<Reachability | undefined>;
  private client: string | undefined;
  private held: Held | undefined;
  private timer: Subscription | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failures = 0;

  constructor(private readonly init: LeaseKeeperInit<Held>) {
    this.scheduler = init.scheduler ?? asyncScheduler;
    this.subject = new BehaviorSubject<Reachability | undefined>(undefined);
  }

  /** Every verdict, the current one first (after `open` resolved). */
  get reachability$(): Observable<Reachability | undefined> {
    return this.subject.asObservable();
  }

  get reachability(): Reachability | undefined {
    return this.subject.value;
  }

  get internalClient(): string | undefined {
    return this.client;
  }

  /** Opens for `internalClient`. */
  open(internalClient: string): Promise<Reachability> {
    return this.serial(async () => {
      this.client = internalClient;
      return this.apply(await this.init.opener.open(internalClient));
    });
  }

  /** Renews now (also what the timer does). When nothing is held, opens again. */
  renewNow(): Promise<Reachability | undefined> {
    return this.serial(async () => {
      if (this.closed || this.client === undefined) return this.reachability;
      const result =
        this.held === undefined ? await this.init.opener.open(this.client) : await this.init.opener.renew(this.client, this.held);
      return this.apply(result);
    });
  }

  /** Asks the router again for what is held (a renewal; a router that forgot it gets it added again). */
  reassert(): Promise<Reachability | undefined> {
    return this.renewNow();
  }

  /**
   * Opens for a new address and closes the old one (best effort: an address
   * that is gone cannot ask the router for anything; its lease then expires).
   */
  moveTo(internalClient: string, oldAddressStillOwned: boolean): Promise<Reachability> {
    return this.serial(async () => {
      const oldClient = this.client;
      const oldHeld = this.held;
      this.client = internalClient;
      this.held = undefined;
      const verdict = this.apply(await this.init.opener.open(internalClient));
      if (oldClient !== undefined && oldHeld !== undefined && oldAddressStillOwned) {
        await this.init.opener.close(oldClient, oldHeld).catch((e: unknown) => this.init.onError?.(e));
      }
      return verdict;
    });
  }

  /** Stops renewing and removes the port from the router. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      this.timer?.unsubscribe();
      const { client, held } = this;
      this.held = undefined;
      try {
        if (client !== undefined && held !== undefined) await this.init.opener.close(client, held);
      } finally {
        this.subject.complete();
      }
    });
  }

  /** Stops renewing without touching the router (the lease runs out by itself). */
  detach(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.subject.complete();
  }

  private apply(result: OpenerResult<Held>): Reachability {
    this.held = result.held;
    this.failures = 0;
    if (!this.closed) this.subject.next(result.reachability);
    this.schedule(result.reachability.verdict === 'open' ? renewalDelayMs(result.reachability.leaseSeconds) : undefined);
    return result.reachability;
  }

  private schedule(delayMs: number | undefined): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.closed || delayMs === undefined) return;
    this.timer = this.scheduler.schedule(() => {
      this.renewNow().catch((error: unknown) => {
        // The router did not answer (rebooting, unreachable): try again soon,
        // with growing delays, while the lease may still be running.
        this.failures += 1;
        this.init.onError?.(error);
        this.schedule(Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)));
      });
    }, delayMs);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A keeper seen from outside, whatever it holds. */
export type Keeper = Pick<
  LeaseKeeper<unknown>,
  'reachability$' | 'reachability' | 'internalClient' | 'open' | 'renewNow' | 'moveTo' | 'close' | 'detach'
> & { reassert?(): Promise<unknown> };
