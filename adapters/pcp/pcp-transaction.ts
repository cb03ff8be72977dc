/**
 * One request in flight: sent, sent again on the retransmission schedule
 * until an answer that matches it arrives or the give-up time passes. Timers
 * run on the injected rxjs scheduler, so unit tests drive them on virtual time.
 *
 * @example
 * ```ts
 * const tx = new PcpTransaction({ bytes, matches: (r) => r.opcode === 'announce', what: 'ANNOUNCE', giveUpAfterMs: 5000,
 *   scheduler, send: (b) => transport.send(b), onAnswer: (r) => console.log(r), onFail: (e) => console.error(e) });
 * tx.start();
 * ```
 */
import { SchedulerLike, Subscription } from 'rxjs';
import { PcpTimeoutError } from './pcp-errors';
import { PcpResponse } from './pcp-message';
import { RetransmissionOptions, retransmissionDelays } from './pcp-retransmission';
import { scheduleAfter } from './long-delay';

export interface PcpTransactionInit {
  readonly bytes: Buffer;
  /** True for the answer to this request (opcode, nonce, protocol, internal port). */
  readonly matches: (response: PcpResponse) => boolean;
  /** For error messages, e.g. `MAP udp/40030 for 2001:db8:77::10`. */
  readonly what: string;
  readonly scheduler: SchedulerLike;
  readonly send: (bytes: Buffer) => Promise<void>;
  readonly retransmission?: RetransmissionOptions;
  /** Milliseconds after the first transmission to stop and fail with {@link PcpTimeoutError}. */
  readonly giveUpAfterMs: number;
  readonly onAnswer: (response: PcpResponse) => void;
  readonly onFail: (error: Error) => void;
}

export class PcpTransaction {
  private readonly subscriptions = new Subscription();
  private readonly nextDelay: () => number;
  private attempts = 0;
  private startedAt = 0;
  private done = false;

  constructor(private readonly init: PcpTransactionInit) {
    this.nextDelay = retransmissionDelays(init.retransmission);
  }

  get finished(): boolean {
    return this.done;
  }

  get transmissions(): number {
    return this.attempts;
  }

  matches(response: PcpResponse): boolean {
    return !this.done && this.init.matches(response);
  }

  start(): void {
    this.startedAt = this.init.scheduler.now();
    this.subscriptions.add(
      scheduleAfter(this.init.scheduler, this.init.giveUpAfterMs, () => this.fail(new PcpTimeoutError(this.init.what, this.attempts, this.init.scheduler.now() - this.startedAt))),
    );
    this.transmit();
  }

  private transmit(): void {
    if (this.done) return;
    this.attempts += 1;
    // A failed send (no route yet, interface going down) is retried like a lost datagram.
    this.init.send(this.init.bytes).catch(() => undefined);
    this.subscriptions.add(this.init.scheduler.schedule(() => this.transmit(), this.nextDelay()));
  }

  /** Delivers the matching answer; the transaction is then finished. */
  answer(response: PcpResponse): void {
    if (this.done) return;
    this.finish();
    this.init.onAnswer(response);
  }

  fail(error: Error): void {
    if (this.done) return;
    this.finish();
    this.init.onFail(error);
  }

  /** Stops without calling back (superseded by a newer request). */
  cancel(): void {
    this.finish();
  }

  private finish(): void {
    this.done = true;
    this.subscriptions.unsubscribe();
  }
}
