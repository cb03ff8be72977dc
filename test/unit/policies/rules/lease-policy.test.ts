import { leaseSecondsFor, leaseTerms, renewalTime } from '../../../../policies/rules/lease-policy';
import { DEFAULT_CONFIG, resolveConfig } from '../../../../policies';
import { consoleDevice, gateway, harness, need } from '../support';

describe('rule: lease-policy', () => {
  it('caps leases per class and uses the cap when none is asked for', () => {
    expect(leaseSecondsFor(0, 'game-session', DEFAULT_CONFIG)).toBe(7200);
    expect(leaseSecondsFor(600, 'game-session', DEFAULT_CONFIG)).toBe(600);
    expect(leaseSecondsFor(999999, 'voice', DEFAULT_CONFIG)).toBe(3600);
    const t = leaseTerms(86400, 'game-session', 'ipv4', DEFAULT_CONFIG, 1000);
    expect(t.terms).toEqual({ leaseSeconds: 7200, leaseStartedAt: 1000, expiresAt: 1000 + 7200000, renewAt: 1000 + 2880000 });
    expect(t.change).toEqual({ field: 'leaseSeconds', family: 'ipv4', wanted: 86400, got: 7200 });
    expect(t.reason).toMatchObject({ code: 'lease-capped', rule: 'lease-policy' });
  });

  it('renews strictly before half of the lease, even for tiny leases', () => {
    expect(renewalTime(0, 3600, 0.4)).toBe(1440000);
    expect(renewalTime(0, 2, 0.49999)).toBeLessThan(1000);
    expect(() => resolveConfig({ renewAtFraction: 0.5 })).toThrow(RangeError);
    expect(() => resolveConfig({ leaseCapSeconds: { voice: 0 } })).toThrow(RangeError);
  });

  it('in the engine: renews on the virtual clock before half-life, with a fresh key each time', () => {
    const h = harness({ config: { leaseCapSeconds: { 'game-session': 600, voice: 600, service: 600, admin: 600 } } });
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.engine.request(need('a', 'a', { family: 'ipv6' }));
    h.ackAll();
    h.advanceTo(599_999);
    const renewals = h.actions.filter((a) => a.op === 'renew');
    expect(renewals.map((a) => a.at)).toEqual([240_000, 480_000]);
    expect(renewals.map((a) => a.key)).toEqual([
      'renew|gw|ipv6|udp|2001:db8:1::a|3074|-|g1|r1',
      'renew|gw|ipv6|udp|2001:db8:1::a|3074|-|g1|r2',
    ]);
    expect(renewals[0].uniqueId).toBeDefined();
    expect(renewals[0].reason).toMatchObject({ code: 'renewal-due', rule: 'lease-policy' });
    const g = h.engine.snapshot().grants[0];
    expect(g.renewAt - g.leaseStartedAt).toBeLessThan((g.leaseSeconds * 1000) / 2);
    h.engine.dispose();
  });

  it('in the engine: ending a session, a device leaving, or a deprecated address withdraw in the same tick', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    h.engine.request(need('a1', 'a'));
    h.engine.request(need('b1', 'b', { family: 'ipv6' }));
    h.advanceTo(5000);
    const end = h.send({ type: 'need-ended', needId: 'a1', why: 'session-ended' });
    expect(end.decisions).toEqual([
      expect.objectContaining({ at: 5000, needId: 'a1', verdict: 'withdrawn', reasons: [{ code: 'session-ended', rule: 'lease-policy' }] }),
    ]);
    expect(end.actions.map((a) => [a.op, a.table, a.at])).toEqual([['delete', 'pinhole', 5000], ['delete', 'port-mapping', 5000]]);
    const left = h.send({ type: 'device-left', deviceId: 'b' });
    expect(left.decisions[0]).toMatchObject({ needId: 'b1', verdict: 'withdrawn', reasons: [{ code: 'device-left' }] });
    expect(left.actions.map((a) => a.op)).toEqual(['delete']);
    expect(h.engine.snapshot().grants).toEqual([]);
  });
});
