import { checkPortHygiene, normaliseProtocol } from '../../../../policies/rules/port-hygiene';
import { consoleDevice, gateway, harness, need } from '../support';

describe('rule: port-hygiene', () => {
  const ok = { protocol: 'udp', internalPort: 3074, class: 'game-session' as const };

  it('accepts TCP and UDP on unprivileged ports', () => {
    expect(checkPortHygiene(ok)).toBeUndefined();
    expect(checkPortHygiene({ ...ok, protocol: 'TCP' })).toBeUndefined();
    expect(normaliseProtocol('17')).toBe('udp');
    expect(normaliseProtocol('sctp')).toBeUndefined();
  });

  it.each([
    [{ protocol: 'sctp' }, 'protocol-not-allowed', 'protocol-tcp-or-udp'],
    [{ internalClient: '::' }, 'wildcard-internal-client', 'literal-internal-client'],
    [{ internalClient: null }, 'wildcard-internal-client', 'literal-internal-client'],
    [{ internalPort: 0 }, 'wildcard-internal-port', 'no-port-wildcard'],
    [{ internalPort: 70000 }, 'invalid-port', 'port-range'],
    [{ externalPort: -1 }, 'invalid-port', 'port-range'],
    [{ internalPort: 80 }, 'privileged-internal-port', 'internal-port>=1024'],
  ])('denies %j with %s', (patch, code, policy) => {
    expect(checkPortHygiene({ ...ok, ...patch })).toMatchObject({ code, rule: 'port-hygiene', conflictsWith: { kind: 'policy', id: policy } });
  });

  it('lets admin use a port below 1024', () => {
    expect(checkPortHygiene({ ...ok, internalPort: 443, class: 'admin' })).toBeUndefined();
  });

  it('in the engine: a denied request leaves no trace and no action', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    expect(h.engine.request(need('web', 'a', { internalPort: 80, protocol: 'tcp' }))).toMatchObject({
      verdict: 'denied', reasons: [{ code: 'privileged-internal-port' }], grants: [],
    });
    expect(h.actions).toHaveLength(0);
    expect(h.engine.snapshot().needs).toHaveLength(0);
  });
});
