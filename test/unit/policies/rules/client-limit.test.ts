import { checkClientLimit } from '../../../../policies/rules/client-limit';
import { consoleDevice, gateway, harness, need } from '../support';

describe('rule: client-limit', () => {
  it('denies at the limit, naming the policy and the limit; below it, says nothing', () => {
    expect(checkClientLimit('192.168.1.10', 1, 2)).toBeUndefined();
    expect(checkClientLimit('192.168.1.10', 2, 2)).toMatchObject({
      rule: 'client-limit', code: 'client-limit-reached', conflictsWith: { kind: 'policy', id: 'max-needs-per-requester' },
    });
    expect(checkClientLimit('192.168.1.10', 2, 2)?.detail).toContain('192.168.1.10');
    expect(checkClientLimit('192.168.1.10', 10_000, undefined)).toBeUndefined();
  });

  it('in the engine: one address holds at most maxNeedsPerRequester needs; an ended need frees its place; renewals never count twice', () => {
    const h = harness({ config: { maxNeedsPerRequester: 2 } });
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    const v4 = (id: string, port: number, address = '192.168.1.10', deviceId = 'a') =>
      need(id, deviceId, { family: 'ipv4', internalPort: port, requester: { deviceId, address }, internalClient: address });
    expect(h.engine.request(v4('n1', 4001)).verdict).toBe('granted');
    expect(h.engine.request(v4('n2', 4002)).verdict).toBe('granted');
    expect(h.engine.request(v4('n1', 4001)).verdict).toBe('granted'); // the same need again
    const third = h.engine.request(v4('n3', 4003));
    expect(third.verdict).toBe('denied');
    expect(third.reasons[0]).toMatchObject({ rule: 'client-limit', code: 'client-limit-reached' });
    expect(third.grants).toEqual([]);
    // Another address is not limited by a's needs.
    expect(h.engine.request(v4('m1', 5001, '192.168.1.11', 'b')).verdict).toBe('granted');
    h.send({ type: 'need-ended', needId: 'n2', why: 'released' });
    expect(h.engine.request(v4('n3', 4003)).verdict).toBe('granted');
  });

  it('is off by default (no limit configured)', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    for (let i = 0; i < 100; i++) {
      const d = h.engine.request(need(`n${i}`, 'a', { family: 'ipv4', internalPort: 4000 + i, requester: { deviceId: 'a', address: '192.168.1.10' } }));
      expect(d.verdict).toBe('granted');
    }
  });

  it('refuses a bad limit', () => {
    expect(() => harness({ config: { maxNeedsPerRequester: 0 } })).toThrow(/maxNeedsPerRequester/);
  });
});
