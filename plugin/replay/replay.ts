import { VirtualTimeScheduler } from 'rxjs';
import { Action, Decision, EngineSnapshot, NetworkFacts, PolicyConfig, createPolicyEngine } from '../../policies';
import { TimedEvent } from './event-log';
import { ReplaySummary, SummaryBuilder } from './summary';

export interface ReplayOptions {
  /** Keep the virtual clock running this long after the last event (ms), e.g. to see renewals. */
  tailMs?: number;
  /** Acknowledge every add/renew as a successful adapter would (logs without recorded feedback). */
  autoAck?: boolean;
  config?: Partial<PolicyConfig>;
  network?: Partial<NetworkFacts>;
  /** Every decision and action, in `seq` order, as it is produced. */
  onOutput?: (output: Decision | Action) => void;
}

export interface ReplayResult {
  readonly summary: ReplaySummary;
  readonly snapshot: EngineSnapshot;
}

/**
 * Runs the policy engine over a timed event log on a virtual clock: each
 * event is submitted at its `at`, lease timers fire in between, and the run
 * ends `tailMs` after the last event. Same log and options, same output.
 *
 * @example
 * ```ts
 * const events = parseEventLog(text);
 * const lines: string[] = [];
 * const { summary } = replayEvents(events, { onOutput: (o) => lines.push(JSON.stringify(o)) });
 * ```
 */
export function replayEvents(events: readonly TimedEvent[], options: ReplayOptions = {}): ReplayResult {
  const scheduler = new VirtualTimeScheduler();
  const engine = createPolicyEngine({ scheduler, config: options.config, network: options.network, validate: false });
  const summary = new SummaryBuilder();
  const toAck: string[] = [];
  engine.output$.subscribe((o) => {
    summary.output(o);
    options.onOutput?.(o);
    if (options.autoAck && o.type === 'action' && o.op !== 'delete') toAck.push(o.key);
  });
  const ack = () => {
    for (let i = 0; i < toAck.length; i++) engine.submit({ type: 'action-succeeded', key: toAck[i] });
    toAck.length = 0;
  };
  let i = 0;
  const step = () => {
    const at = events[i].at;
    while (i < events.length && events[i].at === at) {
      const e = events[i++];
      summary.event(e.at, e.event);
      engine.submit(e.event);
      if (options.autoAck) ack();
    }
    if (i < events.length) scheduler.schedule(step, events[i].at - scheduler.now());
  };
  if (events.length > 0) scheduler.schedule(step, events[0].at);
  const end = (events.length > 0 ? events[events.length - 1].at : 0) + (options.tailMs ?? 0);
  scheduler.maxFrames = end;
  scheduler.flush();
  scheduler.frame = end;
  if (options.autoAck) ack();
  const snapshot = engine.snapshot();
  engine.dispose();
  return { summary: summary.build(end, snapshot), snapshot };
}
