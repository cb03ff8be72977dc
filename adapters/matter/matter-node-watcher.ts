import { asyncScheduler, merge, Observable, SchedulerLike, Subscription, timer } from 'rxjs';
import type { DeviceSeen } from '../../policies/model/event';
import { ProblemSink } from '../observe/observer-problem';
import { MatterNodeReport } from './matter-controller';
import { matterNodeEvent } from './matter-node-event';

/** What the node watcher needs of a controller (a `MatterController`, or a stand-in in unit tests). */
export interface MatterNodeReader {
  nodeIds(): string[];
  read(nodeId: string, timeoutMs?: number): Promise<MatterNodeReport>;
}

export interface WatchMatterNodesOptions {
  readonly controller: MatterNodeReader;
  /** Read every node again this often (default 300 000 ms). */
  readonly intervalMs?: number;
  /** Node ids (16 hex digits) to read again at once, e.g. when mDNS shows a node's addresses changed. */
  readonly refresh?: Observable<string>;
  readonly readTimeoutMs?: number;
  /**
   * A read that failed is tried again after this long, doubling on each
   * further failure up to `intervalMs` (default 5000 ms): a node that was
   * restarting when it was first read is read as soon as it answers, not one
   * interval later.
   */
  readonly retryMs?: number;
  readonly scheduler?: SchedulerLike;
  /** A node that does not answer is reported here; what is known of it stays. */
  readonly onProblem?: ProblemSink;
  /** Each successful read, for diagnostics (e.g. `homenet devices` prints vendor and product). */
  readonly onReport?: (report: MatterNodeReport) => void;
}

/**
 * Commissioned Matter nodes as engine events: every node of the controller's
 * fabric is read (BasicInformation, device types, NetworkInterfaces) at once,
 * then every `intervalMs` and whenever `refresh` names it; a changed read is a
 * new `device-seen`. A node that stops answering is an `onProblem` report and
 * no event (its last addresses stay protected), and is read again after
 * `retryMs`, backing off to `intervalMs`.
 *
 * @example
 * ```ts
 * const controller = await MatterController.open({ storagePath, interfaceName: 'eth0' });
 * watchMatterNodes({ controller }).subscribe((e) => console.log(e.deviceId, e.addresses));
 * ```
 */
export function watchMatterNodes(options: WatchMatterNodesOptions): Observable<DeviceSeen> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const intervalMs = options.intervalMs ?? 300_000;
  const retryMs = Math.min(options.retryMs ?? 5000, intervalMs);
  return new Observable<DeviceSeen>((subscriber) => {
    const last = new Map<string, string>();
    const inFlight = new Set<string>();
    /** Failed reads in a row, per node (for the back-off). */
    const failures = new Map<string, number>();
    let closed = false;
    const subscription = new Subscription();
    const readOne = (nodeId: string) => {
      if (inFlight.has(nodeId) || closed) return;
      inFlight.add(nodeId);
      options.controller.read(nodeId, options.readTimeoutMs).then(
        (report) => {
          inFlight.delete(nodeId);
          failures.delete(nodeId);
          if (closed) return;
          options.onReport?.(report);
          const event = matterNodeEvent(report);
          const signature = JSON.stringify(event);
          if (last.get(nodeId) === signature) return;
          last.set(nodeId, signature);
          subscriber.next(event);
        },
        (error: unknown) => {
          inFlight.delete(nodeId);
          if (closed) return;
          options.onProblem?.({
            source: 'matter-controller',
            message: error instanceof Error ? error.message : String(error),
            subject: nodeId,
            at: scheduler.now(),
          });
          const failed = (failures.get(nodeId) ?? 0) + 1;
          failures.set(nodeId, failed);
          subscription.add(scheduler.schedule(() => readOne(nodeId), Math.min(retryMs * 2 ** (failed - 1), intervalMs)));
        },
      );
    };
    const known = (nodeId: string) => options.controller.nodeIds().includes(nodeId.toUpperCase());
    subscription.add(
      merge(timer(0, intervalMs, scheduler)).subscribe(() => {
        for (const id of options.controller.nodeIds()) readOne(id);
      }),
    );
    if (options.refresh) subscription.add(options.refresh.subscribe((id) => known(id) && readOne(id.toUpperCase())));
    return () => {
      closed = true;
      subscription.unsubscribe();
    };
  });
}
