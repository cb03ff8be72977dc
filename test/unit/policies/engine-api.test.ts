import { VirtualTimeScheduler } from 'rxjs';
import { InvalidEventError, createPolicyEngine } from '../../../policies';

describe('createPolicyEngine (public API)', () => {
  it('runs the doc example: a same-tick decision for a submitted need', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    const seen: string[] = [];
    engine.actions$.subscribe((a) => seen.push(`${a.op} ${a.table} ${a.key}`));
    engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '1' });
    engine.submit({
      type: 'device-seen', deviceId: 'console-a', kinds: [{ kind: 'game-console', evidence: 'dhcp-vendor-class' }],
      addresses: [{ address: '2001:db8:1::10' }, { address: '192.168.1.10' }],
    });
    const decision = engine.request({ id: 'a-3074', requester: { deviceId: 'console-a' }, protocol: 'udp', internalPort: 3074, family: 'both', class: 'game-session' });
    expect(decision.verdict).toBe('granted');
    expect(seen).toEqual([
      'add pinhole add|gw|ipv6|udp|2001:db8:1::10|3074|-|g1',
      'add port-mapping add|gw|ipv4|udp|192.168.1.10|3074|3074|g2',
    ]);
  });

  it('runs the index example: a Matter plug is denied', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '7' });
    engine.submit({ type: 'device-seen', deviceId: 'plug', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }], addresses: [{ address: '2001:db8::42' }] });
    const d = engine.request({ id: 'n1', requester: { deviceId: 'plug' }, protocol: 'tcp', internalPort: 5540, family: 'ipv6', class: 'service' });
    expect(d).toMatchObject({ verdict: 'denied', reasons: [{ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: 'plug' } }] });
  });

  it('queues events submitted from inside an output subscriber and processes them right after', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    const order: string[] = [];
    engine.output$.subscribe((o) => {
      order.push(o.type === 'action' ? `action ${o.op}` : `decision ${o.verdict}`);
      if (o.type === 'action' && o.op === 'add') {
        // an adapter that answers synchronously
        const step = engine.submit({ type: 'action-succeeded', key: o.key, uniqueId: 5 });
        expect(step).toEqual({ decisions: [], actions: [] });
      }
    });
    engine.submit({ type: 'gateway-seen', gatewayId: 'gw' });
    engine.submit({ type: 'device-seen', deviceId: 'pc', addresses: [{ address: '2001:db8::1' }] });
    engine.request({ id: 'x', requester: { deviceId: 'pc' }, protocol: 'udp', internalPort: 4000, family: 'ipv6', class: 'game-session' });
    expect(order).toEqual(['decision granted', 'action add']);
    expect(engine.snapshot().grants).toMatchObject([{ id: 'x#ipv6', state: 'active', uniqueId: 5 }]);
  });

  it('rejects malformed events with the field named, and stops after dispose', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    expect(() => engine.submit({ type: 'need-ended' } as never)).toThrow(new InvalidEventError("field 'needId': expected a non-empty string, got nothing"));
    let completed = false;
    engine.decisions$.subscribe({ complete: () => (completed = true) });
    engine.dispose();
    expect(completed).toBe(true);
    expect(engine.submit({ type: 'tick' })).toEqual({ decisions: [], actions: [] });
  });

  it('snapshots are sorted and JSON-serialisable; state$ counts', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    const stats: number[] = [];
    engine.state$.subscribe((s) => stats.push(s.grants));
    engine.submit({ type: 'gateway-seen', gatewayId: 'gw' });
    for (const id of ['b', 'a']) {
      engine.submit({ type: 'device-seen', deviceId: id, addresses: [{ address: id === 'a' ? '2001:db8::a' : '2001:db8::b' }] });
      engine.request({ id: `need-${id}`, requester: { deviceId: id }, protocol: 'udp', internalPort: 4000, family: 'ipv6', class: 'voice' });
    }
    const s = engine.snapshot();
    expect(s.devices.map((d) => d.id)).toEqual(['a', 'b']);
    expect(s.needs.map((n) => [n.need.id, n.verdict, n.grantIds])).toEqual([['need-a', 'granted', ['need-a#ipv6']], ['need-b', 'granted', ['need-b#ipv6']]]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(stats).toEqual([0, 0, 1, 1, 2]);
  });
});
