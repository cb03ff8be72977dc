// Journal test records: a need, a decision about it, and one whole open + close cycle as the daemon journals it.
import type { Action } from '../../../policies/model/action';
import type { Decision, Verdict } from '../../../policies/model/decision';
import type { NeedRequest } from '../../../policies/model/need';
import type { Journal } from '../../../plugin/gateway/journal';
import { action } from '../nftables/support';

/** A game-session need of `deviceId`, e.g. `j.saveNeed(need('n1'))`. */
export const need = (id: string, deviceId = 'console-a'): NeedRequest => ({
  id,
  requester: { deviceId, address: '192.168.77.20' },
  protocol: 'udp',
  internalPort: 3074,
  family: 'ipv4',
  class: 'game-session',
  leaseSeconds: 3600,
});

/** A decision about `needId` with a 200-byte reason (so rows have weight for size retention), e.g. `j.appendDecision(decision('n1', 1, 'plug'))`. */
export const decision = (needId: string, seq: number, deviceId = 'console-a', verdict: Verdict = 'granted'): Decision => ({
  type: 'decision',
  seq,
  at: 5,
  cause: 'need-submitted',
  needId,
  deviceId,
  verdict,
  reasons: [{ rule: 'lease-cap', code: 'granted', detail: 'x'.repeat(200) }] as unknown as Decision['reasons'],
  changes: [],
  grants: [],
});

/** One open + close as the daemon makes it: need, decision, intent, applied; then ended, delete intent, applied, decision. */
export function cycle(j: Journal, i: number): void {
  const id = `n${i}`;
  j.saveNeed(need(id));
  j.appendDecision(decision(id, 2 * i));
  const add: Action = action({ key: `k${i}`, grantId: `g${i}`, needId: id });
  j.recordIntents([add]);
  j.markAppliedMany([add.key]);
  j.endNeed(id, 'deleted');
  const del: Action = action({ key: `k${i}-del`, op: 'delete', grantId: `g${i}`, needId: id });
  j.recordIntents([del]);
  j.markAppliedMany([del.key]);
  j.appendDecision(decision(id, 2 * i + 1));
}
