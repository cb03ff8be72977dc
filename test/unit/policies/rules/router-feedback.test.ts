import { gatewayGate, interpretFault } from '../../../../policies/rules/router-feedback';
import { defaultGateway } from '../../../../policies';
import { GW, consoleDevice, gateway, harness, need } from '../support';

describe('rule: router-feedback', () => {
  it('maps UPnP faults to reactions', () => {
    expect(interpretFault(606, 'add', 'pinhole', 'gw')).toMatchObject({ kind: 'deny', reason: { code: 'router-not-authorized', faultCode: 606, conflictsWith: { kind: 'gateway', id: 'gw' } } });
    expect(interpretFault(703, 'add', 'pinhole', 'gw')).toMatchObject({ kind: 'deny', reason: { code: 'inbound-pinhole-not-allowed' }, gatewayPatch: { inboundPinholeAllowed: false, grade: 'B' } });
    expect(interpretFault(702, 'add', 'pinhole', 'gw')).toMatchObject({ kind: 'not-needed' });
    expect(interpretFault(701, 'add', 'pinhole', 'gw')).toMatchObject({ kind: 'capacity', reason: { code: 'router-capacity-exhausted' } });
    expect(interpretFault(728, 'add', 'port-mapping', 'gw')).toMatchObject({ kind: 'capacity' });
    expect(interpretFault(704, 'renew', 'pinhole', 'gw')).toMatchObject({ kind: 'reconcile', reason: { code: 'router-lost-entry' } });
    expect(interpretFault(402, 'renew', 'pinhole', 'gw')).toMatchObject({ kind: 'reconcile' });
    expect(interpretFault(402, 'add', 'pinhole', 'gw')).toMatchObject({ kind: 'deny', reason: { code: 'router-rejected', faultCode: 402 } });
    expect(interpretFault(718, 'add', 'port-mapping', 'gw', 3074)).toEqual({ kind: 'move-port', port: 3074 });
    expect(interpretFault(725, 'add', 'port-mapping', 'gw')).toMatchObject({ kind: 'permanent-only' });
    expect(interpretFault(704, 'delete', 'pinhole', 'gw')).toEqual({ kind: 'ignore' });
  });

  it('gates tables on what the gateway can do', () => {
    expect(gatewayGate(undefined, 'pinhole')).toMatchObject({ queue: { code: 'no-gateway' } });
    expect(gatewayGate(defaultGateway('g'), 'pinhole')).toEqual({ ok: true });
    expect(gatewayGate({ ...defaultGateway('g'), pinholes: false }, 'pinhole')).toMatchObject({ deny: { code: 'pinholes-unsupported' } });
    expect(gatewayGate({ ...defaultGateway('g'), grade: 'C' }, 'pinhole')).toMatchObject({ deny: { code: 'inbound-pinhole-not-allowed' } });
    expect(gatewayGate({ ...defaultGateway('g'), firewallEnabled: false }, 'pinhole')).toMatchObject({ notNeeded: { code: 'firewall-disabled' } });
    expect(gatewayGate({ ...defaultGateway('g'), portMappings: false }, 'port-mapping')).toMatchObject({ deny: { code: 'port-mappings-unsupported' } });
  });

  function setup() {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    return h;
  }

  it('703 denies with the setting to change, grades the router B, and denies later pinholes at once', () => {
    const h = setup();
    h.engine.request(need('a', 'a', { family: 'ipv6' }));
    const step = h.send({ type: 'action-failed', key: h.actions[0].key, code: 703 });
    expect(step.decisions[0]).toMatchObject({ needId: 'a', verdict: 'denied', reasons: [{ code: 'inbound-pinhole-not-allowed', faultCode: 703, conflictsWith: { kind: 'gateway', id: GW } }] });
    expect(step.decisions[0].reasons[0].detail).toMatch(/grade B: enable inbound IPv6 pinholes/);
    expect(step.actions).toEqual([]);
    expect(h.engine.request(need('b', 'b', { family: 'ipv6' }))).toMatchObject({ verdict: 'denied', reasons: [{ code: 'inbound-pinhole-not-allowed' }] });
    expect(h.engine.snapshot().gateways[0]).toMatchObject({ grade: 'B', inboundPinholeAllowed: false });
  });

  it('701 learns the capacity from the confirmed entries, queues without retrying', () => {
    const h = setup();
    h.engine.request(need('a', 'a', { family: 'ipv6' }));
    h.ackAll();
    h.engine.request(need('b', 'b', { family: 'ipv6' }));
    const addB = h.actions[h.actions.length - 1];
    const step = h.send({ type: 'action-failed', key: addB.key, code: 701 });
    expect(step.decisions[0]).toMatchObject({ needId: 'b', verdict: 'queued', reasons: [{ code: 'router-capacity-exhausted', faultCode: 701 }] });
    expect(step.actions).toEqual([]);
    expect(h.engine.snapshot().gateways[0].learnedPinholeCapacity).toBe(1);
    const end = h.send({ type: 'need-ended', needId: 'a' });
    expect(end.decisions.map((d) => [d.needId, d.verdict])).toEqual([['a', 'withdrawn'], ['b', 'granted']]);
  });

  it('704 on renewal re-adds every active grant with a new generation', () => {
    const h = harness({ config: { leaseCapSeconds: { 'game-session': 100, voice: 100, service: 100, admin: 100 } } });
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    h.engine.request(need('a', 'a'));
    h.engine.request(need('b', 'b', { family: 'ipv6' }));
    h.ackAll();
    h.advanceTo(40_000);
    const renew = h.actions.filter((a) => a.op === 'renew');
    expect(renew).toHaveLength(3);
    const step = h.send({ type: 'action-failed', key: renew[0].key, code: 704 });
    expect(step.actions.map((a) => `${a.op} ${a.grantId} g${a.generation} ${a.reason.code}`)).toEqual([
      'add a#ipv6 g4 router-lost-entry', 'add a#ipv4 g5 router-lost-entry', 'add b#ipv6 g6 router-lost-entry',
    ]);
    // a stale 704 for an older key changes nothing
    expect(h.send({ type: 'action-failed', key: renew[1].key, code: 704 }).actions).toEqual([]);
    h.engine.dispose();
  });

  it('718 moves the mapping to another external port; 725 re-adds it as permanent', () => {
    const h = setup();
    h.engine.request(need('a', 'a', { family: 'ipv4' }));
    const step = h.send({ type: 'action-failed', key: h.actions[0].key, code: 718 });
    expect(step.decisions[0]).toMatchObject({ verdict: 'granted-with-changes', grants: [{ externalPort: 3075 }] });
    expect(step.decisions[0].reasons.map((r) => r.code)).toContain('external-port-held-by-router');
    const p = h.send({ type: 'action-failed', key: step.actions[0].key, code: 725 });
    expect(p.actions).toMatchObject([{ op: 'add', leaseSeconds: 0, generation: 3, externalPort: 3075 }]);
    expect(p.decisions[0].reasons.map((r) => r.code)).toContain('permanent-lease-only');
  });

  it('606 denies the leg only; 702 means no pinhole is needed', () => {
    const h = setup();
    h.engine.request(need('a', 'a'));
    const [pin, map] = h.actions;
    const s = h.send({ type: 'action-failed', key: map.key, code: 606 });
    expect(s.decisions[0]).toMatchObject({ verdict: 'granted-with-changes', grants: [{ family: 'ipv6' }] });
    expect(s.decisions[0].reasons.find((r) => r.code === 'router-not-authorized')?.conflictsWith).toEqual({ kind: 'gateway', id: GW });
    const f = h.send({ type: 'action-failed', key: pin.key, code: 702 });
    expect(f.decisions[0]).toMatchObject({ verdict: 'granted-with-changes', grants: [] });
    expect(f.decisions[0].reasons.map((r) => r.code)).toEqual(['firewall-disabled', 'router-not-authorized']);
  });

  it('a changed boot id re-adds everything; feedback for old keys is ignored', () => {
    const h = setup();
    h.engine.request(need('a', 'a'));
    h.ackAll();
    const before = h.engine.snapshot().grants.map((g) => ({ ...g, generation: 0, uniqueId: 0 }));
    const step = h.send(gateway({ bootId: 'boot-2' }));
    expect(step.actions.map((a) => `${a.op} ${a.grantId} ${a.reason.code}`)).toEqual(['add a#ipv6 gateway-rebooted', 'add a#ipv4 gateway-rebooted']);
    expect(step.decisions).toEqual([]);
    h.ackAll();
    const after = h.engine.snapshot().grants.map((g) => ({ ...g, generation: 0, uniqueId: 0 }));
    expect(after).toEqual(before);
  });
});
