import { checkRequesterIsTarget, checkRequesterOwnsEntry, checkRequesterOwnsTarget } from '../../../../policies/rules/requester-owns-target';
import { Device, Need } from '../../../../policies';
import { consoleDevice, gateway, harness, need } from '../support';

const base: Need = {
  id: 'n', requester: { deviceId: 'a', address: '2001:db8::a' }, protocol: 'udp', internalPort: 4000, remoteHost: '', remotePort: 0,
  family: 'ipv6', leaseSeconds: 0, class: 'game-session', priority: 0, submittedAt: 0, order: 1,
};
const devA: Device = { id: 'a', identities: {}, kinds: [], ownerAllowed: false, firstSeenAt: 0,
  addresses: [{ address: '2001:db8::a', family: 'ipv6', scope: 'gua', stable: true, deprecated: false }, { address: '2001:db8::aa', family: 'ipv6', scope: 'gua', stable: false, deprecated: false }] };

describe('rule: requester-owns-target', () => {
  it('allows the request source address and the device own addresses', () => {
    expect(checkRequesterOwnsTarget({ ...base, internalClient: '2001:db8::a' }, undefined, undefined)).toBeUndefined();
    expect(checkRequesterOwnsTarget({ ...base, internalClient: '2001:db8::aa' }, devA, 'a')).toBeUndefined();
    expect(checkRequesterOwnsTarget(base, devA, 'a')).toBeUndefined();
  });

  it("denies another device's address and names that device", () => {
    expect(checkRequesterOwnsTarget({ ...base, internalClient: '2001:db8::b' }, devA, 'b')).toMatchObject({
      code: 'target-not-owned', rule: 'requester-owns-target', conflictsWith: { kind: 'device', id: 'b' },
    });
    expect(checkRequesterOwnsTarget({ ...base, internalClient: '2001:db8::c' }, devA, undefined)).toMatchObject({
      code: 'target-not-owned', conflictsWith: { kind: 'device', id: 'address:2001:db8::c' },
    });
  });

  it('lets admin needs target any device, and denies an unknown requester with no address', () => {
    expect(checkRequesterOwnsTarget({ ...base, class: 'admin', internalClient: '2001:db8::b' }, devA, 'b')).toBeUndefined();
    expect(checkRequesterOwnsTarget({ ...base, requester: { deviceId: 'ghost' } }, undefined, undefined)).toMatchObject({
      code: 'requester-unknown', conflictsWith: { kind: 'device', id: 'ghost' },
    });
  });

  it('in the engine: a console cannot open a port for its neighbour', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    const d = h.engine.request(need('steal', 'a', { internalClient: '192.168.1.11', family: 'ipv4' }));
    expect(d).toMatchObject({ verdict: 'denied', reasons: [{ code: 'target-not-owned', conflictsWith: { kind: 'device', id: 'b' } }] });
    expect(h.actions).toEqual([]);
  });
});

describe('rule: requester-owns-target, as IGD:2 applies it (requesterMustBeTarget)', () => {
  it('holds the InternalClient, as written, to the address the request came from', () => {
    expect(checkRequesterIsTarget('2001:db8:1::10', '2001:db8:1::10', 'a')).toBeUndefined();
    for (const written of ['2001:DB8:1::10', '2001:db8:1:0:0:0:0:10', '192.168.1.10', undefined]) {
      expect(checkRequesterIsTarget(written, '2001:db8:1::10', 'a')).toMatchObject({ rule: 'requester-owns-target', code: 'target-not-owned' });
    }
  });

  it('in the engine: another address of the same device is denied only for needs that say so', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    const overV4 = { family: 'ipv6' as const, internalClient: '2001:db8:1::a', requester: { deviceId: 'a', address: '192.168.1.10' } };
    expect(h.engine.request(need('loose', 'a', overV4)).verdict).toBe('granted');
    const strict = h.engine.request(need('strict', 'a', { ...overV4, internalPort: 3075, requesterMustBeTarget: true }));
    expect(strict.verdict).toBe('denied');
    expect(strict.reasons[0]).toMatchObject({ rule: 'requester-owns-target', code: 'target-not-owned' });
    const own = h.engine.request(need('own', 'a', { family: 'ipv6', internalClient: '2001:db8:1::a', internalPort: 3076, requesterMustBeTarget: true, requester: { deviceId: 'a', address: '2001:db8:1::a' } }));
    expect(own.verdict).toBe('granted');
    // The admin class may target any address.
    expect(h.engine.request(need('adm', 'a', { ...overV4, internalPort: 3077, class: 'admin', requesterMustBeTarget: true })).verdict).toBe('granted');
  });
});

describe('rule: requester-owns-target, for an entry that exists', () => {
  const entry = { label: 'pinhole 1', needId: 'n1', requesterAddress: '2001:db8:1::10', internalClient: '2001:db8:1::10' };
  it('lets the client that opened it (by its address or the InternalClient it opened) change it, no one else', () => {
    expect(checkRequesterOwnsEntry(entry, '2001:db8:1::10')).toBeUndefined();
    expect(checkRequesterOwnsEntry({ ...entry, requesterAddress: '192.168.1.10' }, '2001:db8:1::10')).toBeUndefined();
    const other = checkRequesterOwnsEntry(entry, '2001:db8:1::11');
    expect(other).toMatchObject({ rule: 'requester-owns-target', code: 'target-not-owned', conflictsWith: { kind: 'need', id: 'n1' } });
    expect(other?.detail).toBe('pinhole 1 belongs to 2001:db8:1::10; only the client that opened it may change it');
    expect(checkRequesterOwnsEntry({ label: 'pinhole 2 (opened by the admin)', needId: 'a1' }, '2001:db8:1::10')?.code).toBe('target-not-owned');
  });
});
