// The admin API answer table, row by row: every reason code, the error_code a refused
// open_port answers with, and the details naming rule, code, party and detail.
import { ADMIN_ANSWERS, adminAnswerOf } from '../../../plugin/gateway/admin/admin-answer-table';
import { Decision, Reason, REASON_CODES, ReasonCode, RuleName } from '../../../policies';

const INFORMATIONAL: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'owner-allowed', 'admin-override', 'external-port-reassigned', 'outside-map-e-port-set', 'router-assigned-external-port', 'admitted',
  'preempted-lower-class', 'pinhole-shared', 'lease-capped', 'renewal-due', 'session-ended', 'need-released', 'device-left',
  'address-followed', 'ipv6-only-host', 'gateway-rebooted',
]);
const FIREWALL: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['router-rejected', 'router-lost-entry']);

const base: Omit<Decision, 'verdict' | 'reasons'> = { type: 'decision', seq: 1, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'd', changes: [], grants: [] };
const rows = (Object.entries(REASON_CODES) as [RuleName, readonly ReasonCode[]][]).flatMap(([rule, codes]) => codes.map((code) => [rule, code] as const));

describe('the admin API answer table', () => {
  it.each(rows)('%s/%s', (rule, code) => {
    const expected = INFORMATIONAL.has(code) ? null : FIREWALL.has(code) ? 'firewall_failed' : 'policy_denied';
    expect(ADMIN_ANSWERS[code]).toBe(expected);
    const r: Reason = { rule, code, conflictsWith: { kind: 'device', id: 'plug' }, detail: 'why' };
    expect(adminAnswerOf({ ...base, verdict: 'denied', reasons: [r] })).toEqual({
      error_code: expected ?? 'policy_denied',
      details: `denied: ${rule}/${code} (device plug): why`,
    });
  });

  it('a deciding reason after informational ones decides', () => {
    const d: Decision = { ...base, verdict: 'denied', reasons: [{ rule: 'capacity', code: 'admitted' }, { rule: 'router-feedback', code: 'router-rejected', detail: 'nft: Operation not permitted' }] };
    expect(adminAnswerOf(d)).toEqual({ error_code: 'firewall_failed', details: 'denied: router-feedback/router-rejected: nft: Operation not permitted' });
  });
});
