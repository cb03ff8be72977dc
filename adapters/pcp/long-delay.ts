/**
 * Schedules work after a delay that may exceed what a JavaScript timer holds
 * (2^31-1 ms, about 24.8 days; a longer `setTimeout` fires at once). PCP
 * lifetimes are 32-bit seconds, so a renewal can be years away: the wait is
 * chained in steps no timer overflows.
 *
 * @example
 * ```ts
 * const sub = scheduleAfter(asyncScheduler, 0xffffffff * 1000 * 0.45, () => renew());
 * sub.unsubscribe();
 * ```
 */
import { SchedulerLike, Subscription } from 'rxjs';

/** The longest delay a Node timer keeps. */
export const MAX_TIMER_MS = 2_147_483_647;

export function scheduleAfter(scheduler: SchedulerLike, delayMs: number, work: () => void): Subscription {
  const holder = new Subscription();
  const due = scheduler.now() + Math.max(0, delayMs);
  const step = (): void => {
    const left = due - scheduler.now();
    if (left <= 0) {
      work();
      return;
    }
    holder.add(scheduler.schedule(step, Math.min(left, MAX_TIMER_MS)));
  };
  holder.add(scheduler.schedule(step, Math.min(Math.max(0, delayMs), MAX_TIMER_MS)));
  return holder;
}
