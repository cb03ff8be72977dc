import { checkIsolation } from '../../../../policies/rules/matter-isolation';
import { VirtualTimeScheduler } from 'rxjs';
import { createPolicyEngine, Device } from '../../../../policies';
import { GW, consoleDevice, gateway, harness, need, submitNeed } from '../support';

function device(kinds: Device['kinds'], ownerAllowed = false): Device {
  return { id: 'plug', identities: {}, kinds, addresses: [], ownerAllowed, firstSeenAt: 0 };
}

describe('rule: matter-isolation', () => {
  it('denies a Matter device, naming it', () => {
    const r = checkIsolation(device([{ kind: 'matter', evidence: 'mdns:_matter._tcp' }]));
    expect(r).toEqual({
      deny: { code: 'matter-device-isolation', rule: 'matter-isolation', conflictsWith: { kind: 'device', id: 'plug' }, detail: 'plug is matter (mdns:_matter._tcp)' },
    });
  });

  it('denies Thread border routers and other IoT with their own codes', () => {
    expect(checkIsolation(device([{ kind: 'thread-border-router', evidence: 'mdns:_meshcop._udp' }]))).toMatchObject({ deny: { code: 'thread-border-router' } });
    expect(checkIsolation(device([{ kind: 'iot', evidence: 'oui' }]))).toMatchObject({ deny: { code: 'iot-device' } });
  });

  it('lets a console through and keeps an owner allow as a note', () => {
    expect(checkIsolation(device([{ kind: 'game-console', evidence: 'x' }]))).toBeUndefined();
    expect(checkIsolation(undefined)).toBeUndefined();
    expect(checkIsolation(device([{ kind: 'matter', evidence: 'm' }], true))).toMatchObject({ allow: { code: 'owner-allowed', rule: 'matter-isolation' } });
  });

  it('withdraws the grant of a device revealed as Matter in the same event', () => {
    const h = harness();
    h.send(gateway());
    h.send({ type: 'device-seen', deviceId: 'plug', addresses: [{ address: '2001:db8:1::42' }] });
    const granted = h.send(submitNeed('plug-ota', 'plug', { family: 'ipv6', protocol: 'tcp', internalPort: 5540, class: 'service' }));
    expect(granted.decisions[0].verdict).toBe('granted');
    expect(granted.actions.map((a) => a.op)).toEqual(['add']);

    const reveal = h.send({ type: 'device-seen', deviceId: 'plug', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }] });
    expect(reveal.decisions).toHaveLength(1);
    expect(reveal.decisions[0]).toMatchObject({
      needId: 'plug-ota',
      verdict: 'denied',
      cause: 'device-seen',
      reasons: [{ code: 'matter-device-isolation', rule: 'matter-isolation', conflictsWith: { kind: 'device', id: 'plug' } }],
      grants: [],
    });
    expect(reveal.actions).toHaveLength(1);
    expect(reveal.actions[0]).toMatchObject({ op: 'delete', table: 'pinhole', internalClient: '2001:db8:1::42', gatewayId: GW });
    expect(h.engine.snapshot().grants).toEqual([]);
  });

  it('catches a Matter identity that shows up under another device id with the same address', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('pc', 0x20));
    h.send({ type: 'device-seen', deviceId: 'unknown-host', addresses: [{ address: '2001:db8:1::99' }] });
    h.send(submitNeed('admin-fwd', 'pc', { class: 'admin', family: 'ipv6', internalClient: '2001:db8:1::99', internalPort: 8080, protocol: 'tcp' }));
    expect(h.engine.snapshot().grants).toHaveLength(1);
    const r = h.send({ type: 'device-seen', deviceId: 'mdns:plug.local', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }], addresses: [{ address: '2001:db8:1::99' }] });
    expect(r.decisions.map((d) => [d.needId, d.verdict, d.reasons[0].code])).toEqual([['admin-fwd', 'denied', 'matter-device-isolation']]);
    expect(r.actions.map((a) => a.op)).toEqual(['delete']);
  });

  it('an explicit owner allow admits an isolated device', () => {
    const h = harness();
    h.send(gateway());
    h.send({ type: 'device-seen', deviceId: 'hub', kinds: [{ kind: 'matter', evidence: 'mdns' }], addresses: [{ address: '2001:db8:1::7' }] });
    expect(h.engine.request(need('hub-1', 'hub', { family: 'ipv6' })).verdict).toBe('denied');
    h.send({ type: 'owner-allow', deviceId: 'hub', allowed: true });
    const d = h.engine.request(need('hub-2', 'hub', { family: 'ipv6' }));
    expect(d.verdict).toBe('granted');
    expect(d.reasons.map((r) => r.code)).toEqual(['owner-allowed', 'admitted']);
    const revoke = h.send({ type: 'owner-allow', deviceId: 'hub', allowed: false });
    expect(revoke.decisions.map((x) => [x.needId, x.verdict])).toEqual([['hub-2', 'denied']]);
  });
});

describe('matter-isolation evidence', () => {
  it('quotes the strongest evidence: a Matter read (vendor, product) replaces an mDNS advertisement, not the other way round', () => {
    const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
    engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '1' });
    engine.submit({ type: 'device-seen', deviceId: 'plug', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp 1234-5678' }], addresses: [{ address: '2001:db8::42' }] });
    engine.submit({
      type: 'device-seen',
      deviceId: 'plug',
      kinds: [{ kind: 'matter', evidence: 'matter-read:BasicInformation vendor="Acme" product="Smart Plug"' }],
    });
    engine.submit({ type: 'device-seen', deviceId: 'plug', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp 1234-5678' }] });
    const d = engine.request({ id: 'n1', requester: { deviceId: 'plug' }, protocol: 'udp', internalPort: 5540, family: 'ipv6', class: 'service' });
    expect(d.verdict).toBe('denied');
    expect(d.reasons[0]).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation' });
    expect(d.reasons[0].detail).toBe('plug is matter (matter-read:BasicInformation vendor="Acme" product="Smart Plug")');
  });
});
