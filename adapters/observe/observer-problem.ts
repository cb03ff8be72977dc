/**
 * Something an observer could not use: a malformed packet, a device that
 * stopped answering, a command that failed. Observers report problems through
 * an `onProblem` callback and keep running; a problem never ends the stream
 * and never removes what is already known (no protection is lost).
 *
 * @example
 * ```ts
 * watchMatterMdns({ ..., onProblem: (p) => console.error(`${p.source}: ${p.message}`) });
 * ```
 */
export interface ObserverProblem {
  /** Which observer, e.g. `matter-mdns`, `matter-controller`, `neighbours`. */
  readonly source: string;
  readonly message: string;
  /** Who sent the bad input or stopped answering, when known (an address or a device id). */
  readonly subject?: string;
  /** Milliseconds on the observer's clock. */
  readonly at: number;
}

export type ProblemSink = (problem: ObserverProblem) => void;

export const ignoreProblems: ProblemSink = () => undefined;
