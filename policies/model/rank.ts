import { PolicyConfig } from './config';
import { Need } from './need';

/** What decides who wins a port or a table slot: class rank, then priority, then age. */
export interface Rank {
  readonly classRank: number;
  readonly priority: number;
  /** Submission order: lower is older. */
  readonly order: number;
}

export function rankOf(need: Need, config: PolicyConfig): Rank {
  return { classRank: config.classRank[need.class], priority: need.priority, order: need.order };
}

/** True when `a` outranks `b`: higher class, then higher priority, then older. */
export function outranks(a: Rank, b: Rank): boolean {
  if (a.classRank !== b.classRank) return a.classRank > b.classRank;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.order < b.order;
}
