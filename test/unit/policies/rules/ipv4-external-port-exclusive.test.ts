import { findFreePort, settleExternalPort, PortHolder } from '../../../../policies/rules/ipv4-external-port-exclusive';
import { nextPortInSet, portInSet, PortSet } from '../../../../policies';
import { consoleDevice, gateway, harness, need } from '../support';

const rank = (classRank: number, priority: number, order: number) => ({ classRank, priority, order });

describe('rule: ipv4-external-port-exclusive', () => {
  const held = (map: Record<number, PortHolder>) => (p: number) => map[p];

  it('takes the wished port when free', () => {
    expect(settleExternalPort({ wish: 3074, claimant: rank(1, 0, 2), gatewayId: 'gw', minPort: 1024, holderOf: held({}) })).toEqual({ port: 3074, reasons: [] });
  });

  it('gives an older holder priority: the newcomer gets the next free port, naming the holder', () => {
    const r = settleExternalPort({
      wish: 3074, claimant: rank(1, 0, 2), gatewayId: 'gw', minPort: 1024,
      holderOf: held({ 3074: { kind: 'need', needId: 'a', rank: rank(1, 0, 1) }, 3075: { kind: 'need', needId: 'c', rank: rank(1, 0, 0) } }),
    });
    expect(r).toMatchObject({ port: 3076, reasons: [{ code: 'external-port-in-use', conflictsWith: { kind: 'need', id: 'a' } }] });
    expect('displace' in r && r.displace).toBeFalsy();
  });

  it('lets a higher class displace the holder (who must move), never overwrite silently', () => {
    const r = settleExternalPort({
      wish: 3074, claimant: rank(2, 0, 9), gatewayId: 'gw', minPort: 1024,
      holderOf: held({ 3074: { kind: 'need', needId: 'a', rank: rank(1, 5, 1) } }),
    });
    expect(r).toEqual({ port: 3074, reasons: [], displace: 'a' });
  });

  it('skips ports the router holds for others (718)', () => {
    const r = settleExternalPort({ wish: 3074, claimant: rank(3, 0, 1), gatewayId: 'gw', minPort: 1024, holderOf: held({ 3074: { kind: 'router' } }) });
    expect(r).toMatchObject({ port: 3075, reasons: [{ code: 'external-port-held-by-router', conflictsWith: { kind: 'gateway', id: 'gw' } }] });
  });

  it('stays inside a MAP-E port set', () => {
    const set: PortSet = { offset: 6, psidLength: 8, psid: 0x34 };
    const r = settleExternalPort({ wish: 3074, claimant: rank(1, 0, 1), gatewayId: 'gw', portSet: set, minPort: 1024, holderOf: held({}) });
    expect(r).toMatchObject({ reasons: [{ code: 'outside-map-e-port-set' }] });
    const port = (r as { port: number }).port;
    expect(portInSet(port, set)).toBe(true);
    expect(port).toBe(nextPortInSet(3074, set));
    // every port of that set: 63 blocks of 4 ports
    let count = 0;
    for (let p = 1; p <= 65535; p++) if (portInSet(p, set)) count++;
    expect(count).toBe(63 * 4);
  });

  it('reports exhaustion when no port is free', () => {
    const all = (p: number): PortHolder | undefined => (p >= 1024 ? { kind: 'router' } : undefined);
    expect(findFreePort(2000, undefined, 1024, all)).toBeUndefined();
    expect(settleExternalPort({ wish: 3074, claimant: rank(1, 0, 1), gatewayId: 'gw', minPort: 1024, holderOf: all })).toMatchObject({
      exhausted: { code: 'external-ports-exhausted', conflictsWith: { kind: 'gateway', id: 'gw' } },
    });
    expect(findFreePort(65535, undefined, 1024, (p) => (p === 65535 ? { kind: 'router' } : undefined))).toBe(1024);
  });

  it('in the engine: two consoles on UDP 3074, then a voice need displaces the second', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    h.send(consoleDevice('c', 12));
    expect(h.engine.request(need('a', 'a', { family: 'ipv4' })).grants[0].externalPort).toBe(3074);
    const b = h.engine.request(need('b', 'b', { family: 'ipv4' }));
    expect(b).toMatchObject({ verdict: 'granted-with-changes', changes: [{ field: 'externalPort', wanted: 3074, got: 3075 }] });
    expect(b.reasons.find((r) => r.code === 'external-port-in-use')?.conflictsWith).toEqual({ kind: 'need', id: 'a' });

    const step = h.send({ type: 'need-submitted', need: need('c', 'c', { family: 'ipv4', class: 'voice', externalPort: 3075 }) });
    const byNeed = Object.fromEntries(step.decisions.map((d) => [d.needId, d]));
    expect(byNeed.c).toMatchObject({ verdict: 'granted', grants: [{ externalPort: 3075 }] });
    expect(byNeed.b).toMatchObject({ verdict: 'granted-with-changes', grants: [{ externalPort: 3076 }], changes: [{ field: 'externalPort', wanted: 3074, got: 3076 }] });
    expect(byNeed.b.reasons.find((r) => r.code === 'external-port-reassigned')?.conflictsWith).toEqual({ kind: 'need', id: 'c' });
    expect(step.actions.map((x) => `${x.op}:${x.needId}:${x.externalPort}`)).toEqual(['delete:b:3075', 'add:c:3075', 'add:b:3076']);
    const ports = h.engine.snapshot().grants.map((g) => g.externalPort).sort();
    expect(ports).toEqual([3074, 3075, 3076]);
  });

  it('in the engine: the same port on TCP is no conflict', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    h.engine.request(need('a', 'a', { family: 'ipv4' }));
    expect(h.engine.request(need('b', 'b', { family: 'ipv4', protocol: 'tcp' })).verdict).toBe('granted');
  });
});
