import { Recovery } from '../../../../plugin/gateway/journal';
import { Acknowledged } from './crash-harness';

/** `now`: taken just before recover(). Everything acknowledged before the kill is in the recovered state; nothing there lacks an owner; no lease is longer than asked. */
export function checkRecovery(r: Recovery, ack: Acknowledged, now: number): void {
  const live = new Set(r.needs.map((n) => n.id));
  const grants = new Map(r.grants.map((g) => [g.id, g]));
  for (const g of r.grants) {
    expect(live.has(g.needId)).toBe(true);
    if (g.leaseSeconds > 0) {
      expect(g.expiresAt! - g.leaseStartedAt).toBe(g.leaseSeconds * 1000);
      expect(g.leaseStartedAt).toBeLessThanOrEqual(now);
      expect(g.expiresAt!).toBeGreaterThan(now);
    }
  }
  for (const need of ack.ended) expect(live.has(need)).toBe(false);
  for (const [grantId, last] of ack.lastOp) {
    const needId = grantId.slice(0, grantId.lastIndexOf('#'));
    if (ack.ending.has(needId)) continue; // its end was under way at the kill: present or gone are both right
    if (ack.ended.has(needId) || last.op === 'delete') expect(grants.has(grantId)).toBe(false);
    else if (last.lease > 10) expect(grants.has(grantId)).toBe(true); // short leases may have expired meanwhile
  }
}

