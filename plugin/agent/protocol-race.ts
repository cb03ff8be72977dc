/**
 * `--via auto` for one address family: UPnP and PCP at once, the first that
 * proves the port open wins, and the other is stopped where it can be (UPnP
 * discovery is aborted before anything is asked of the router, a PCP MAP
 * still unanswered is given up with a best-effort delete) and undone
 * where it cannot: when both open nearly at once, the later one is closed as
 * soon as it answers, so exactly one stays open, and then the winner is asked
 * for once more (a router that holds one entry per target, as a homenet
 * gateway does, dropped the winner's with the loser's). Without any `open`, the most
 * telling verdict wins (not-needed, then denied, ineffective, unsupported;
 * UPnP's on a tie: a UPnP refusal carries the router's own errorDescription). `cleanup` resolves once the loser is closed (or detached,
 * when it opened nothing).
 *
 * @example
 * ```ts
 * const { winner, cleanup } = await raceFamily((signal) => openOverUpnp(signal), (giveUpMs) => openOverPcp(giveUpMs), 3000);
 * console.log(winner.kind, winner.verdict.verdict);
 * await cleanup;   // the loser is gone from the router
 * ```
 */
import type { Keeper } from './lease-keeper';
import type { Reachability } from './reachability';

/** One protocol's attempt at one family. */
/** What the race needs of a keeper; `reassert` asks the router again for what the keeper holds (re-adding it if the router forgot it). */
export type RacedKeeper = Pick<Keeper, 'close' | 'detach'> & { reassert?(): Promise<unknown> };

export interface Opened<K extends RacedKeeper = Keeper> {
  readonly keeper?: K;
  readonly verdict: Reachability;
  /** What opened it. */
  readonly kind: 'upnp' | 'pcp';
}

const VERDICT_RANK: Record<Reachability['verdict'], number> = { open: 0, 'not-needed': 1, denied: 2, ineffective: 3, unsupported: 4 };

/** Races the two attempts; see the module comment. */
export async function raceFamily<K extends RacedKeeper>(
  upnp: (signal: AbortSignal) => Promise<Opened<K>>,
  pcp: (giveUpAfterMs: number, signal: AbortSignal) => Promise<Opened<K>>,
  pcpGiveUpMs: number,
): Promise<{ winner: Opened<K>; cleanup: Promise<void> }> {
  const stop = new AbortController();
  const attempts = [pcp(pcpGiveUpMs, stop.signal), upnp(stop.signal)];
  const winner = await new Promise<Opened<K>>((resolve, reject) => {
    const results: (Opened<K> | undefined)[] = [];
    const errors: unknown[] = [];
    let pending = attempts.length;
    let decided = false;
    const settle = () => {
      pending -= 1;
      if (decided || pending > 0) return;
      const done = results.filter((r): r is Opened<K> => r !== undefined).reverse() // UPnP's first: its verdict wins a tie
        .sort((a, b) => VERDICT_RANK[a.verdict.verdict] - VERDICT_RANK[b.verdict.verdict]);
      decided = true;
      if (done[0]) resolve(done[0]);
      else reject(errors[0] instanceof Error ? errors[0] : new Error(String(errors[0])));
    };
    attempts.forEach((attempt, i) => {
      void attempt.then(
        (r) => {
          results[i] = r;
          if (!decided && r.verdict.verdict === 'open') {
            decided = true;
            resolve(r);
          }
          settle();
        },
        (e: unknown) => {
          errors.push(e);
          settle();
        },
      );
    });
  });
  stop.abort();
  const cleanup = Promise.allSettled(attempts).then(async (all) => {
    let closedAnOpenLoser = false;
    for (const r of all) {
      if (r.status !== 'fulfilled' || r.value === winner || !r.value.keeper) continue;
      if (r.value.verdict.verdict === 'open') {
        await r.value.keeper.close();
        closedAnOpenLoser = true;
      } else r.value.keeper.detach();
    }
    // A router that keeps one entry per target (a homenet gateway: the UPnP pinhole and the PCP MAP
    // are one need) removed the winner's entry with the loser's: ask again for what the winner holds.
    if (closedAnOpenLoser && winner.verdict.verdict === 'open') await winner.keeper?.reassert?.();
  });
  return { winner, cleanup };
}

