import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { InvalidEventError, validateEvent } from '../../../../policies';
import { EventLogError, parseEventLog, replayEvents } from '../../../../plugin/replay';

const SCENARIOS = join(__dirname, '..', '..', '..', 'scenarios');

/** The event lines (no comments) of every recorded scenario, parsed. */
function scenarios(): Array<Array<Record<string, unknown>>> {
  const out: Array<Array<Record<string, unknown>>> = [];
  for (const f of readdirSync(SCENARIOS).filter((n) => n.endsWith('.jsonl')).sort()) {
    const events: Array<Record<string, unknown>> = [];
    for (const line of readFileSync(join(SCENARIOS, f), 'utf8').split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#') || t.startsWith('//')) continue;
      events.push(JSON.parse(t) as Record<string, unknown>);
    }
    out.push(events);
  }
  return out;
}
const scenarioEvents = () => scenarios().flat();

const seen = { type: 'device-seen', deviceId: 'console' };
const need = { id: 'n', requester: { deviceId: 'console' }, protocol: 'udp', internalPort: 3074, family: 'both', class: 'game-session' };

describe('validateEvent', () => {
  it('returns valid events unchanged (the same object), unknown fields included', () => {
    const events = scenarioEvents();
    expect(events.length).toBeGreaterThan(20);
    for (const e of events) {
      const { at: _at, ...rest } = e;
      expect(validateEvent(rest)).toBe(rest);
    }
    const extra = { ...seen, identities: { mac: '02:00:00:00:00:01', future: 7 }, later: { x: 1 } };
    expect(validateEvent(extra)).toBe(extra);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['identities member: number', { ...seen, identities: { mac: 42 } }, "field 'identities.mac': expected a string, got 42"],
    ['identities member: object', { ...seen, identities: { duid: {} } }, "field 'identities.duid': expected a string, got an object"],
    ['identities member: array', { ...seen, identities: { matterNodeId: ['a'] } }, "field 'identities.matterNodeId': expected a string, got an array"],
    ['identities member: null', { ...seen, identities: { mdnsHost: null } }, "field 'identities.mdnsHost': expected a string, got null"],
    ['identities: string', { ...seen, identities: 'mac' }, 'field \'identities\': expected an object, got "mac"'],
    ['kinds: object', { ...seen, kinds: {} }, "field 'kinds': expected an array, got an object"],
    ['kinds member: string', { ...seen, kinds: ['matter'] }, 'field \'kinds[0]\': expected an object, got "matter"'],
    ['kinds member kind', { ...seen, kinds: [{ kind: 'toaster', evidence: 'x' }] }, "field 'kinds[0].kind': expected one of"],
    ['kinds member evidence', { ...seen, kinds: [{ kind: 'iot', evidence: 3 }] }, "field 'kinds[0].evidence': expected a non-empty string, got 3"],
    ['address: number', { ...seen, addresses: [{ address: 1 }] }, "field 'addresses[0].address': expected a non-empty string, got 1"],
    ['address member: null', { ...seen, addresses: [{ address: '::1' }, null] }, "field 'addresses[1]': expected an object, got null"],
    ['address scope', { ...seen, addresses: [{ address: '::1', scope: 'mars' }] }, "field 'addresses[0].scope': expected one of"],
    ['address lifetime', { ...seen, addresses: [{ address: '::1', validLifetime: 'long' }] }, "field 'addresses[0].validLifetime': expected a number, got \"long\""],
    ['address temporary', { ...seen, addresses: [{ address: '::1', temporary: 'yes' }] }, "field 'addresses[0].temporary': expected a boolean, got \"yes\""],
    ['ipv6Only', { ...seen, ipv6Only: true }, "field 'ipv6Only': expected one of"],
    ['deviceId missing', { type: 'device-seen' }, "field 'deviceId': expected a non-empty string, got nothing"],
    ['need missing', { type: 'need-submitted' }, "field 'need': expected an object, got nothing"],
    ['requester: array', { type: 'need-submitted', need: { ...need, requester: [] } }, "field 'need.requester': expected an object, got an array"],
    ['requester deviceId', { type: 'need-submitted', need: { ...need, requester: { deviceId: false } } }, "field 'need.requester.deviceId': expected a non-empty string, got false"],
    ['requester address', { type: 'need-submitted', need: { ...need, requester: { deviceId: 'c', address: 5 } } }, "field 'need.requester.address': expected a non-empty string, got 5"],
    ['need port', { type: 'need-submitted', need: { ...need, internalPort: '3074' } }, 'field \'need.internalPort\': expected a number, got "3074"'],
    ['need lease', { type: 'need-submitted', need: { ...need, leaseSeconds: -1 } }, "field 'need.leaseSeconds': expected a number >= 0, got -1"],
    ['portSet', { type: 'network-changed', ipv4OverIpv6: { mode: 'map-e', portSet: 1 } }, "field 'ipv4OverIpv6.portSet': expected an object, got 1"],
    ['portSet field', { type: 'network-changed', ipv4OverIpv6: { mode: 'map-e', portSet: { offset: 6, psidLength: 'x', psid: 1 } } }, "field 'ipv4OverIpv6.portSet.psidLength': expected a number"],
    ['pref64', { type: 'network-changed', pref64: 64 }, "field 'pref64': expected a string or null, got 64"],
    ['description', { type: 'action-failed', key: 'k', code: 718, description: {} }, "field 'description': expected a string, got an object"],
    ['capacity', { type: 'gateway-seen', gatewayId: 'gw', pinholeCapacity: 'many' }, 'field \'pinholeCapacity\': expected a number, got "many"'],
    ['type', { type: 7 }, "field 'type': expected a string, got 7"],
  ])('names the field of a malformed event: %s', (_name, event, message) => {
    let thrown: unknown;
    try {
      validateEvent(event);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEventError);
    expect((thrown as Error).message.startsWith(message)).toBe(true);
  });

  it('keeps long values short in the message', () => {
    expect(() => validateEvent({ ...seen, ipv6Only: 'x'.repeat(1000) })).toThrow(/got "x{40}"\.\.\.$/);
  });

  it('random JSON mutations of valid events never crash a replay: only the validator refuses them', () => {
    const logs = scenarios();
    // A value, anywhere in an event: replaced by random JSON, or removed.
    const mutate = (root: unknown, path: number[], replacement: unknown, remove: boolean): unknown => {
      const copy = JSON.parse(JSON.stringify(root)) as Record<string, unknown>;
      let node: unknown = copy;
      for (let depth = 0; depth < path.length; depth++) {
        if (typeof node !== 'object' || node === null) break;
        const keys = Object.keys(node);
        if (keys.length === 0) break;
        const key = keys[path[depth] % keys.length];
        if (key === 'at') break;
        const child = (node as Record<string, unknown>)[key];
        const last = depth === path.length - 1 || typeof child !== 'object' || child === null;
        if (last) {
          if (remove && !Array.isArray(node)) delete (node as Record<string, unknown>)[key];
          else (node as Record<string, unknown>)[key] = replacement;
          break;
        }
        node = child;
      }
      return copy;
    };
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.nat(logs.length - 1),
        fc.nat(),
        fc.array(fc.nat(20), { minLength: 1, maxLength: 5 }),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
        (log, pick, path, replacement, remove) => {
          const events = logs[log];
          const index = pick % events.length;
          const mutated = events.map((e, i) => (i === index ? mutate(e, path, replacement, remove) : e));
          const text = mutated.map((e) => JSON.stringify(e)).join('\n');
          let parsed;
          try {
            parsed = parseEventLog(text, 'EVENTS.jsonl');
          } catch (error) {
            if (!(error instanceof EventLogError)) throw error;
            expect(error.message).toMatch(/^EVENTS\.jsonl:\d+: /);
            refused++;
            return;
          }
          accepted++;
          replayEvents(parsed, { autoAck: true, tailMs: 60_000 });
        },
      ),
      { numRuns: 400, seed: 9 },
    );
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });
});
