// The PCP / NAT-PMP answer table, row by row: every reason code of the engine, the PCP result
// code and the NAT-PMP result code it answers with (null: informational, never the answer).
import { errorLifetimeOf, pcpAnswerOf, pcpAnswerOfReason, PCP_ANSWERS } from '../../../adapters/pcp/server';
import { Decision, Reason, REASON_CODES, ReasonCode, RuleName } from '../../../policies';

/** [PCP, NAT-PMP]; null: informational. Written out here, independently of the table. */
const EXPECTED: Record<ReasonCode, [number, number] | null> = {
  'matter-device-isolation': [2, 2],
  'thread-border-router': [2, 2],
  'iot-device': [2, 2],
  'owner-allowed': null,
  'target-not-owned': [2, 2],
  'requester-unknown': [2, 2],
  'admin-override': null,
  'protocol-not-allowed': [9, 2],
  'wildcard-internal-client': [2, 2],
  'wildcard-internal-port': [2, 2],
  'invalid-port': [3, 2],
  'privileged-internal-port': [2, 2],
  'external-port-in-use': [11, 4],
  'external-port-reassigned': null,
  'outside-map-e-port-set': null,
  'external-port-held-by-router': [11, 4],
  'router-assigned-external-port': null,
  'external-ports-exhausted': [8, 4],
  admitted: null,
  'capacity-full': [8, 4],
  preempted: [8, 4],
  'preempted-lower-class': null,
  'pinhole-shared': null,
  'lease-capped': null,
  'renewal-due': null,
  'session-ended': null,
  'need-released': null,
  'device-left': null,
  'address-deprecated': [2, 2],
  'address-followed': null,
  'no-stable-address': [2, 2],
  'ipv6-only-host': null,
  cgnat: [2, 2],
  'ds-lite': [2, 2],
  'double-nat': [2, 2],
  'no-ipv4-wan': [7, 3],
  'no-gateway': [7, 3],
  'pinholes-unsupported': [7, 3],
  'port-mappings-unsupported': [7, 3],
  'inbound-pinhole-not-allowed': [2, 2],
  'router-not-authorized': [2, 2],
  'firewall-disabled': [2, 2],
  'router-capacity-exhausted': [8, 4],
  'router-lost-entry': [7, 3],
  'gateway-rebooted': null,
  'permanent-lease-only': [7, 3],
  'router-rejected': [7, 3],
  'client-limit-reached': [10, 4],
  'port-opening-disabled': [2, 2],
  'external-port-unavailable': [11, 4],
};

const base: Omit<Decision, 'verdict' | 'reasons'> = { type: 'decision', seq: 1, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'd', changes: [], grants: [] };
const decision = (reasons: Reason[], verdict: Decision['verdict'] = 'denied'): Decision => ({ ...base, verdict, reasons });
const rows = (Object.entries(REASON_CODES) as [RuleName, readonly ReasonCode[]][]).flatMap(([rule, codes]) => codes.map((code) => [rule, code] as const));

describe('the PCP / NAT-PMP answer table', () => {
  it('has a row for every reason code of the engine', () => {
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.map(([, c]) => c).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(PCP_ANSWERS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(rows)('%s/%s', (rule, code) => {
    const expected = EXPECTED[code];
    const r: Reason = { rule, code, detail: `detail of ${code}` };
    const answer = pcpAnswerOf(decision([r]));
    if (expected === null) {
      // Informational: nothing decided; NETWORK_FAILURE / 3, short-lived, no reason named.
      expect(answer).toEqual({ pcp: 7, natPmp: 3, errorLifetime: 30 });
      expect(pcpAnswerOfReason(r)).toMatchObject({ pcp: 7, natPmp: 3 });
    } else {
      expect([answer.pcp, answer.natPmp]).toEqual(expected);
      expect(answer.reason).toEqual(r);
      expect(answer.errorLifetime).toBe([7, 8, 10].includes(expected[0]) ? 30 : 1800);
      expect(pcpAnswerOfReason(r)).toEqual(answer);
    }
  });

  it('the first deciding reason decides; informational ones before it are passed over', () => {
    const d = decision([
      { rule: 'capacity', code: 'admitted', family: 'ipv4' },
      { rule: 'client-limit', code: 'client-limit-reached' },
      { rule: 'matter-isolation', code: 'matter-device-isolation' },
    ]);
    expect(pcpAnswerOf(d)).toMatchObject({ pcp: 10, natPmp: 4, reason: { code: 'client-limit-reached' } });
  });

  it('error lifetimes: short-lived codes 30 s, the others 1800 s', () => {
    expect([errorLifetimeOf(7), errorLifetimeOf(8), errorLifetimeOf(10)]).toEqual([30, 30, 30]);
    expect([errorLifetimeOf(2), errorLifetimeOf(3), errorLifetimeOf(12)]).toEqual([1800, 1800, 1800]);
  });
});
