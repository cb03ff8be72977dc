import { ActualEntry, DesiredEntry } from '../../../adapters/nftables/firewall-entry';
import { planReconcile, timingOf } from '../../../adapters/nftables/reconcile-plan';

const NOW = 1_000_000;
const desired = (port: number, over: Partial<DesiredEntry> = {}): DesiredEntry => ({
  kind: 'pinhole',
  family: 'ipv6',
  protocol: 'udp',
  internalClient: '2001:db8::10',
  internalPort: port,
  remoteHost: '',
  remotePort: 0,
  owner: `g${port}`,
  leaseSeconds: 3600,
  expiresAt: NOW + 1800_000,
  ...over,
});
const actual = (port: number, over: Partial<ActualEntry> = {}): ActualEntry => ({
  kind: 'pinhole',
  family: 'ipv6',
  set: 'pinhole_ipv6',
  protocol: 'udp',
  internalClient: '2001:db8::10',
  internalPort: port,
  remoteHost: '',
  remotePort: 0,
  owner: `g${port}`,
  timeoutSeconds: 3600,
  expiresInSeconds: 1799,
  ...over,
});

describe('timingOf', () => {
  it('keeps the remaining time: a recovered lease is never extended', () => {
    expect(timingOf(desired(1), NOW)).toEqual({ timeoutSeconds: 3600, expiresSeconds: 1800 });
    expect(timingOf(desired(1, { expiresAt: NOW + 1 }), NOW)).toEqual({ timeoutSeconds: 3600, expiresSeconds: 1 });
  });
  it('gives a fresh lease when no expiry is known, none when permanent, undefined when over', () => {
    expect(timingOf(desired(1, { expiresAt: undefined }), NOW)).toEqual({ timeoutSeconds: 3600 });
    expect(timingOf(desired(1, { leaseSeconds: 0 }), NOW)).toEqual({ timeoutSeconds: 0 });
    expect(timingOf(desired(1, { expiresAt: NOW }), NOW)).toBeUndefined();
  });
});

describe('planReconcile', () => {
  it('removes orphans, adds the missing, leaves the matching alone', () => {
    const plan = planReconcile([desired(1), desired(2)], [actual(2), actual(3)], { now: NOW });
    expect(plan.add.map((a) => a.entry.internalPort)).toEqual([1]);
    expect(plan.add[0].timing).toEqual({ timeoutSeconds: 3600, expiresSeconds: 1800 });
    expect(plan.remove.map((a) => a.internalPort)).toEqual([3]);
    expect(plan.correct).toEqual([]);
    expect(plan.unchanged).toBe(1);
  });

  it('corrects remaining time beyond the tolerance, data, owner and permanence', () => {
    const plan = planReconcile(
      [desired(1), desired(2), desired(3), desired(4), desired(5, { leaseSeconds: 0 })],
      [
        actual(1, { expiresInSeconds: 3599 }),
        actual(2, { expiresInSeconds: 1798 }),
        actual(3, { owner: 'someone' }),
        actual(4, { timeoutSeconds: 0, expiresInSeconds: undefined }),
        actual(5),
      ],
      { now: NOW },
    );
    expect(plan.correct.map((c) => [c.entry.internalPort, c.why])).toEqual([
      [1, 'expires in 3599s, should in 1800s'],
      [3, 'owner someone is not g3'],
      [4, 'is permanent but expires in 1800s'],
      [5, 'expires in 1799s but is permanent'],
    ]);
    expect(plan.unchanged).toBe(1);
  });

  it('rewrites a mapping that points at another client', () => {
    const m = { kind: 'port-mapping' as const, family: 'ipv4' as const, internalClient: '192.168.77.10', externalPort: 3074 };
    const plan = planReconcile([desired(3074, m)], [actual(3074, { ...m, set: 'portmap_ipv4', internalClient: '192.168.77.11' })], { now: NOW });
    expect(plan.correct[0].why).toBe('maps to 192.168.77.11:3074, not 192.168.77.10:3074');
  });

  it('does not add what has expired, and removes it when present', () => {
    const plan = planReconcile([desired(1, { expiresAt: NOW - 1 })], [actual(1)], { now: NOW });
    expect(plan.expired).toHaveLength(1);
    expect(plan.add).toEqual([]);
    expect(plan.remove).toHaveLength(1);
  });

  it('keeps the longer of two desired entries for one element', () => {
    const plan = planReconcile([desired(1, { owner: 'a' }), desired(1, { owner: 'b', expiresAt: NOW + 3000_000 })], [], { now: NOW });
    expect(plan.add.map((a) => a.entry.owner)).toEqual(['b']);
    expect(plan.conflicts.map((c) => [c.kept.owner, c.dropped.owner])).toEqual([['b', 'a']]);
  });
});
