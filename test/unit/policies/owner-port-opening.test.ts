import { checkOwnerPortOpening } from '../../../policies/rules/owner-port-opening';
import { validateEvent } from '../../../policies/model/event-schema';
import { consoleDevice, gateway, harness, submitNeed } from './support';

describe('rule: owner-port-opening', () => {
  it('denies a switched-off requester or target, naming the device and who switched it off', () => {
    const off = new Map([['console', 'home-assistant']]);
    expect(checkOwnerPortOpening('console', undefined, off)).toEqual({
      rule: 'owner-port-opening',
      code: 'port-opening-disabled',
      conflictsWith: { kind: 'policy', id: 'owner-port-opening:console' },
      detail: 'port opening for console is switched off by the owner (home-assistant)',
    });
    expect(checkOwnerPortOpening('admin', 'console', off)?.code).toBe('port-opening-disabled');
    expect(checkOwnerPortOpening('laptop', 'laptop', off)).toBeUndefined();
    expect(checkOwnerPortOpening('console', 'console', new Map())).toBeUndefined();
  });

  it('withdraws the grants of a device switched off in the same event, refuses its next need, and lets it through once switched on', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('console', 0x10));
    h.send(consoleDevice('laptop', 0x11));
    const granted = h.send(submitNeed('game', 'console', { family: 'ipv6' }));
    expect(granted.decisions[0].verdict).toBe('granted');
    h.ackAll();

    const off = h.send({ type: 'owner-port-opening', deviceId: 'console', allowed: false, by: 'mqtt' });
    expect(off.decisions).toHaveLength(1);
    expect(off.decisions[0]).toMatchObject({
      needId: 'game',
      verdict: 'denied',
      cause: 'owner-port-opening',
      reasons: [{ rule: 'owner-port-opening', code: 'port-opening-disabled', detail: 'port opening for console is switched off by the owner (mqtt)' }],
      grants: [],
    });
    expect(off.actions.map((a) => a.op)).toEqual(['delete']);
    expect(h.engine.snapshot().grants).toEqual([]);

    const next = h.send(submitNeed('game-2', 'console', { family: 'ipv6' }));
    expect(next.decisions[0]).toMatchObject({ verdict: 'denied', reasons: [{ code: 'port-opening-disabled' }] });
    // Another device is not affected.
    expect(h.send(submitNeed('other', 'laptop', { family: 'ipv6' })).decisions[0].verdict).toBe('granted');
    // The same setting again changes nothing and emits nothing.
    expect(h.send({ type: 'owner-port-opening', deviceId: 'console', allowed: false, by: 'mqtt' }).decisions).toEqual([]);

    h.send({ type: 'owner-port-opening', deviceId: 'console', allowed: true, by: 'mqtt' });
    expect(h.send(submitNeed('game-3', 'console', { family: 'ipv6' })).decisions[0].verdict).toBe('granted');
  });

  it('holds for a device not seen yet (settings are submitted before the journal at start)', () => {
    const h = harness();
    h.send(gateway());
    h.send({ type: 'owner-port-opening', deviceId: 'console', allowed: false });
    h.send(consoleDevice('console', 0x10));
    expect(h.send(submitNeed('game', 'console', { family: 'ipv6' })).decisions[0]).toMatchObject({
      verdict: 'denied',
      reasons: [{ code: 'port-opening-disabled', detail: 'port opening for console is switched off by the owner (owner)' }],
    });
  });

  it('the event validator accepts the event and names a bad field', () => {
    expect(validateEvent({ type: 'owner-port-opening', deviceId: 'console', allowed: false, by: 'x' })).toMatchObject({ type: 'owner-port-opening' });
    expect(() => validateEvent({ type: 'owner-port-opening', deviceId: 'console', allowed: 'no' })).toThrow(/allowed/);
    expect(() => validateEvent({ type: 'owner-port-opening', allowed: true })).toThrow(/deviceId/);
  });
});
