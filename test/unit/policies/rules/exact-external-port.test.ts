import { checkExactExternalPort } from '../../../../policies/rules/exact-external-port';
import { consoleDevice, gateway, harness, need } from '../support';

describe('rule: exact-external-port', () => {
  it('denies another port only when the need does not accept one, naming the holder', () => {
    expect(checkExactExternalPort(3074, 3074, false)).toBeUndefined();
    expect(checkExactExternalPort(3074, 3075, true)).toBeUndefined();
    const r = checkExactExternalPort(3074, 3075, false, { kind: 'need', id: 'a-3074' });
    expect(r).toMatchObject({ rule: 'exact-external-port', code: 'external-port-unavailable', family: 'ipv4', conflictsWith: { kind: 'need', id: 'a-3074' } });
    expect(r?.detail).toContain('a-3074');
  });

  it('in the engine: a taken port is a denial for a need that wants exactly it, another port for one that does not care', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    h.send(consoleDevice('b', 11));
    expect(h.engine.request(need('a-3074', 'a', { family: 'ipv4' })).verdict).toBe('granted');
    const exact = h.engine.request(need('b-3074', 'b', { family: 'ipv4', acceptOtherExternalPort: false }));
    expect(exact.verdict).toBe('denied');
    expect(exact.reasons.map((r) => r.code)).toEqual(['external-port-unavailable', 'external-port-in-use']);
    expect(exact.reasons[0].conflictsWith).toEqual({ kind: 'need', id: 'a-3074' });
    expect(exact.grants).toEqual([]);
    expect(h.engine.snapshot().grants.map((g) => g.needId)).toEqual(['a-3074']);
    const any = h.engine.request(need('b-3074-any', 'b', { family: 'ipv4' }));
    expect(any.verdict).toBe('granted-with-changes');
    expect(any.grants[0].externalPort).toBe(3075);
  });

  it('a free port is granted as asked', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    const d = h.engine.request(need('a-3074', 'a', { family: 'ipv4', acceptOtherExternalPort: false }));
    expect(d.verdict).toBe('granted');
    expect(d.grants[0].externalPort).toBe(3074);
  });

  it('the event schema refuses a non-boolean acceptOtherExternalPort', () => {
    const h = harness();
    expect(() => h.send({ type: 'need-submitted', need: { ...need('x', 'a'), acceptOtherExternalPort: 'no' as unknown as boolean } })).toThrow(/acceptOtherExternalPort/);
  });
});
