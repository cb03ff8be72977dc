/**
 * The one place where an engine decision becomes an admin API error: a
 * refused `open_port`'s decision (verdict + reason codes) -> `error_code` +
 * `details`. One row per reason code (the compiler checks every code has one);
 * the first reason with a row decides. The details name the rule, the reason
 * code, the conflicting party and the engine's own detail, e.g.
 * `matter-isolation/matter-device-isolation (device plug): plug is matter (mdns:_matter._tcp)`.
 *
 * | reason codes                                                      | error_code        |
 * | ----------------------------------------------------------------- | ----------------- |
 * | router-rejected, router-lost-entry (the firewall refused: fed back) | `firewall_failed` |
 * | every other deciding reason (isolation, ownership, hygiene, ports, capacity, client limit, network, router state) | `policy_denied` |
 * | informational only (admitted, lease-capped, owner-allowed ...)    | `policy_denied`, citing the first reason |
 *
 * @example
 * ```ts
 * const { error_code, details } = adminAnswerOf(decision); // 'policy_denied', 'matter-isolation/matter-device-isolation (device plug): ...'
 * ```
 */
import type { Decision, Reason, ReasonCode } from '../../../policies';
import { UPNP_ANSWERS } from '../../../adapters/upnp/server/upnp-answer-table';
import { ErrorCode } from './admin-protocol';

type AdminRow = Extract<ErrorCode, 'policy_denied' | 'firewall_failed'> | null;

/** Deciding reasons are the ones the UPnP table gives a code (same rows, one source of "informational"). */
function rowOf(code: ReasonCode): AdminRow {
  if (UPNP_ANSWERS[code] === null) return null;
  return code === 'router-rejected' || code === 'router-lost-entry' ? 'firewall_failed' : 'policy_denied';
}

/** The table: every reason code, its admin error code (`null`: informational). */
export const ADMIN_ANSWERS: Readonly<Record<ReasonCode, AdminRow>> = Object.fromEntries(
  (Object.keys(UPNP_ANSWERS) as ReasonCode[]).map((code) => [code, rowOf(code)]),
) as Record<ReasonCode, AdminRow>;

/** `rule/code (party kind id): detail`. */
export function reasonDetails(r: Reason): string {
  return `${r.rule}/${r.code}${r.conflictsWith ? ` (${r.conflictsWith.kind} ${r.conflictsWith.id})` : ''}${r.detail ? `: ${r.detail}` : ''}`;
}

export interface AdminAnswer {
  readonly error_code: Extract<ErrorCode, 'policy_denied' | 'firewall_failed'>;
  readonly details: string;
}

/** The admin API error for a decision that refused an `open_port`. */
export function adminAnswerOf(decision: Decision): AdminAnswer {
  for (const r of decision.reasons) {
    const row = ADMIN_ANSWERS[r.code];
    if (row !== null) return { error_code: row, details: `${decision.verdict}: ${reasonDetails(r)}` };
  }
  const first = decision.reasons[0];
  return { error_code: 'policy_denied', details: `${decision.verdict}: ${first ? reasonDetails(first) : 'no reason given'}` };
}
