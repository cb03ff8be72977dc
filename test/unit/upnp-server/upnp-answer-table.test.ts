// The UPnP answer table, row by row: every reason code of the engine, the errorCode it
// answers for a pinhole and for a port mapping (null: informational, never the answer).
import { describeAnswer, MAX_DESCRIPTION_LENGTH, upnpAnswerOf, upnpAnswerOfReason } from '../../../adapters/upnp/server';
import { Decision, Reason, REASON_CODES, ReasonCode, RuleName } from '../../../policies';

/** [pinhole, AddPortMapping, AddAnyPortMapping, DeletePortMapping (the last two when they differ)]; 'fault': the router's own code (faultCode), else 501. */
const EXPECTED: Record<ReasonCode, [number, number] | [number, number, number, number] | 'fault' | null> = {
  'matter-device-isolation': [606, 606],
  'thread-border-router': [606, 606],
  'iot-device': [606, 606],
  'owner-allowed': null,
  'target-not-owned': [606, 718, 606, 606],
  'requester-unknown': [606, 606],
  'admin-override': null,
  'protocol-not-allowed': [705, 402],
  'wildcard-internal-client': [708, 402],
  'wildcard-internal-port': [706, 402],
  'invalid-port': [402, 402],
  'privileged-internal-port': [606, 606],
  'external-port-in-use': [718, 718],
  'external-port-reassigned': null,
  'outside-map-e-port-set': null,
  'external-port-held-by-router': [718, 718],
  'router-assigned-external-port': null,
  'external-ports-exhausted': [728, 728],
  admitted: null,
  'capacity-full': [701, 728],
  preempted: [701, 728],
  'preempted-lower-class': null,
  'pinhole-shared': null,
  'lease-capped': null,
  'renewal-due': null,
  'session-ended': null,
  'need-released': null,
  'device-left': null,
  'address-deprecated': [402, 402],
  'address-followed': null,
  'no-stable-address': [402, 402],
  'ipv6-only-host': null,
  cgnat: [501, 501],
  'ds-lite': [501, 501],
  'double-nat': [501, 501],
  'no-ipv4-wan': [501, 501],
  'no-gateway': [501, 501],
  'pinholes-unsupported': [501, 501],
  'port-mappings-unsupported': [501, 501],
  'inbound-pinhole-not-allowed': [703, 501],
  'router-not-authorized': [606, 606],
  'firewall-disabled': [702, 501],
  'router-capacity-exhausted': [701, 728],
  'router-lost-entry': 'fault',
  'gateway-rebooted': null,
  'permanent-lease-only': 'fault',
  'router-rejected': 'fault',
  'client-limit-reached': [701, 728],
  'port-opening-disabled': [606, 606],
  'external-port-unavailable': [718, 718],
};

const base: Omit<Decision, 'verdict' | 'reasons'> = { type: 'decision', seq: 1, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'd', changes: [], grants: [] };
const decision = (reasons: Reason[], verdict: Decision['verdict'] = 'denied'): Decision => ({ ...base, verdict, reasons });
const rows = (Object.entries(REASON_CODES) as [RuleName, readonly ReasonCode[]][]).flatMap(([rule, codes]) => codes.map((code) => [rule, code] as const));

describe('the UPnP answer table', () => {
  it('has a row for every reason code of the engine', () => {
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.map(([, c]) => c).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(rows)('%s/%s', (rule, code) => {
    const expected = EXPECTED[code];
    const r: Reason = { rule, code, detail: `detail of ${code}` };
    const pinhole = upnpAnswerOf(decision([r]), 'pinhole');
    const mapping = upnpAnswerOf(decision([r]), 'add-port-mapping');
    const anyMapping = upnpAnswerOf(decision([r]), 'add-any-port-mapping');
    const deleteMapping = upnpAnswerOfReason(r, 'delete-port-mapping');
    if (expected === null) {
      // Informational: nothing decided, 501, the description still cites the reason.
      expect([pinhole.code, mapping.code, anyMapping.code, deleteMapping.code]).toEqual([501, 501, 501, 501]);
      // (capacity/admitted says nothing about a refusal and is not cited.)
      expect(pinhole.description).toBe(code === 'admitted' ? 'Action Failed' : `Action Failed: ${code} — detail of ${code}`);
    } else if (expected === 'fault') {
      expect([pinhole.code, mapping.code, anyMapping.code]).toEqual([501, 501, 501]);
      expect(upnpAnswerOf(decision([{ ...r, faultCode: 725 }]), 'add-port-mapping').code).toBe(725);
    } else {
      expect([pinhole.code, mapping.code, anyMapping.code, deleteMapping.code]).toEqual([expected[0], expected[1], expected[2] ?? expected[1], expected[3] ?? expected[1]]);
      expect(pinhole.reason).toEqual(r);
      expect(pinhole.description.startsWith(`${describeAnswer(expected[0], undefined)}: ${code} — detail of ${code}`)).toBe(true);
    }
  });

  it('the first deciding reason decides; informational ones before it are passed over', () => {
    const d = decision([
      { rule: 'capacity', code: 'admitted', family: 'ipv4' },
      { rule: 'exact-external-port', code: 'external-port-unavailable', detail: 'external port 3074 is not available' },
      { rule: 'ipv4-external-port-exclusive', code: 'external-ports-exhausted' },
    ]);
    expect(upnpAnswerOf(d, 'add-port-mapping')).toMatchObject({ code: 718, description: 'ConflictInMappingEntry: external-port-unavailable — external port 3074 is not available' });
  });

  it('a decision without reasons is 501 with the standard text only; long details are cut', () => {
    expect(upnpAnswerOf(decision([], 'withdrawn'), 'pinhole')).toEqual({ code: 501, description: 'Action Failed' });
    const long = upnpAnswerOf(decision([{ rule: 'matter-isolation', code: 'matter-device-isolation', detail: 'x'.repeat(1000) }]), 'pinhole');
    expect(long.description.length).toBe(MAX_DESCRIPTION_LENGTH);
    expect(long.description.startsWith('Action not authorized: matter-device-isolation — xxx')).toBe(true);
  });
});
