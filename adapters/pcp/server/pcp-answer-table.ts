/**
 * The one place where an engine decision becomes a PCP result code (RFC 6887
 * section 7.4) or a NAT-PMP result code (RFC 6886 section 3.5). One row per
 * reason code (the compiler checks every code has one); the first reason of
 * the decision that has a row decides. Reasons that only inform (admitted,
 * lease-capped ...) have none; a refusal with no deciding reason answers
 * NETWORK_FAILURE / 3 (short-lived: the client may try again).
 *
 * PCP has no text field, so the reason travels in the daemon's log and the
 * admin API's decisions; the answer keeps the reason that decided for them.
 *
 * | reason code (rule)                                                | PCP                     | NAT-PMP |
 * | ----------------------------------------------------------------- | ----------------------- | ------- |
 * | matter-device-isolation, thread-border-router, iot-device         | 2 NOT_AUTHORIZED        | 2       |
 * | target-not-owned, requester-unknown, privileged-internal-port     | 2 NOT_AUTHORIZED        | 2       |
 * | wildcard-internal-client, wildcard-internal-port                  | 2 NOT_AUTHORIZED        | 2       |
 * | inbound-pinhole-not-allowed, firewall-disabled, router-not-authorized | 2 NOT_AUTHORIZED    | 2       |
 * | cgnat, ds-lite, double-nat (an inbound port that cannot work)     | 2 NOT_AUTHORIZED        | 2       |
 * | address-deprecated, no-stable-address                             | 2 NOT_AUTHORIZED        | 2       |
 * | port-opening-disabled (owner-port-opening)                        | 2 NOT_AUTHORIZED        | 2       |
 * | protocol-not-allowed                                              | 9 UNSUPP_PROTOCOL       | 2       |
 * | invalid-port                                                      | 3 MALFORMED_REQUEST     | 2       |
 * | external-port-in-use / -held-by-router / -unavailable             | 11 CANNOT_PROVIDE_EXTERNAL (only asked with PREFER_FAILURE) | 4 |
 * | external-ports-exhausted, capacity-full, preempted, router-capacity-exhausted | 8 NO_RESOURCES | 4  |
 * | client-limit-reached                                              | 10 USER_EX_QUOTA        | 4       |
 * | no-ipv4-wan, no-gateway, pinholes-/port-mappings-unsupported      | 7 NETWORK_FAILURE       | 3       |
 * | router-lost-entry, router-rejected, permanent-lease-only          | 7 NETWORK_FAILURE       | 3       |
 * | (no deciding reason)                                              | 7 NETWORK_FAILURE       | 3       |
 *
 * Error lifetimes (RFC 6887 7.4: how long the client should not retry): 30 s
 * for the short-lived codes (7, 8, 10), 1800 s for the others.
 *
 * @example
 * ```ts
 * const answer = pcpAnswerOf(decision);
 * answer.pcp;       // 2 (NOT_AUTHORIZED) for a Matter plug
 * answer.natPmp;    // 2
 * answer.reason?.code; // 'matter-device-isolation'
 * ```
 */
import type { Decision, Reason, ReasonCode } from '../../../policies';
import { isShortLivedPcpError } from '../pcp-result-codes';

/** PCP result codes this table answers with (RFC 6887 7.4). */
export const PCP_RESULT = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const;

/** NAT-PMP result codes (RFC 6886 3.5). */
export const NATPMP_RESULT = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPP_OPCODE: 5,
} as const;

type Row = { readonly pcp: number; readonly natPmp: number } | null;

const refused: Row = { pcp: PCP_RESULT.NOT_AUTHORIZED, natPmp: NATPMP_RESULT.NOT_AUTHORIZED };
const resources: Row = { pcp: PCP_RESULT.NO_RESOURCES, natPmp: NATPMP_RESULT.OUT_OF_RESOURCES };
const network: Row = { pcp: PCP_RESULT.NETWORK_FAILURE, natPmp: NATPMP_RESULT.NETWORK_FAILURE };
const portTaken: Row = { pcp: PCP_RESULT.CANNOT_PROVIDE_EXTERNAL, natPmp: NATPMP_RESULT.OUT_OF_RESOURCES };

/** The table: every reason code, its PCP and NAT-PMP answer (`null`: informational). */
export const PCP_ANSWERS: Readonly<Record<ReasonCode, Row>> = {
  'matter-device-isolation': refused,
  'thread-border-router': refused,
  'iot-device': refused,
  'owner-allowed': null,
  'target-not-owned': refused,
  'requester-unknown': refused,
  'admin-override': null,
  'protocol-not-allowed': { pcp: PCP_RESULT.UNSUPP_PROTOCOL, natPmp: NATPMP_RESULT.NOT_AUTHORIZED },
  'wildcard-internal-client': refused,
  'wildcard-internal-port': refused,
  'invalid-port': { pcp: PCP_RESULT.MALFORMED_REQUEST, natPmp: NATPMP_RESULT.NOT_AUTHORIZED },
  'privileged-internal-port': refused,
  'external-port-in-use': portTaken,
  'external-port-reassigned': null,
  'outside-map-e-port-set': null,
  'external-port-held-by-router': portTaken,
  'router-assigned-external-port': null,
  'external-ports-exhausted': resources,
  admitted: null,
  'capacity-full': resources,
  preempted: resources,
  'preempted-lower-class': null,
  'pinhole-shared': null,
  'lease-capped': null,
  'renewal-due': null,
  'session-ended': null,
  'need-released': null,
  'device-left': null,
  'address-deprecated': refused,
  'address-followed': null,
  'no-stable-address': refused,
  'ipv6-only-host': null,
  cgnat: refused,
  'ds-lite': refused,
  'double-nat': refused,
  'no-ipv4-wan': network,
  'no-gateway': network,
  'pinholes-unsupported': network,
  'port-mappings-unsupported': network,
  'inbound-pinhole-not-allowed': refused,
  'router-not-authorized': refused,
  'firewall-disabled': refused,
  'router-capacity-exhausted': resources,
  'router-lost-entry': network,
  'gateway-rebooted': null,
  'permanent-lease-only': network,
  'router-rejected': network,
  'client-limit-reached': { pcp: PCP_RESULT.USER_EX_QUOTA, natPmp: NATPMP_RESULT.OUT_OF_RESOURCES },
  'external-port-unavailable': portTaken,
  'port-opening-disabled': refused,
};

/** Seconds a client should wait before asking again after a short-lived error, and after a long-lived one. */
export const SHORT_ERROR_LIFETIME_SECONDS = 30;
export const LONG_ERROR_LIFETIME_SECONDS = 1800;

/** The PCP and NAT-PMP answer to a refused need. */
export interface PcpAnswer {
  readonly pcp: number;
  readonly natPmp: number;
  /** The error's lifetime for the PCP answer (RFC 6887 7.4). */
  readonly errorLifetime: number;
  /** The reason that decided the code (undefined: none did). */
  readonly reason?: Reason;
}

/** The error lifetime RFC 6887 7.4 asks for a result code. */
export function errorLifetimeOf(pcpCode: number): number {
  return isShortLivedPcpError(pcpCode) ? SHORT_ERROR_LIFETIME_SECONDS : LONG_ERROR_LIFETIME_SECONDS;
}

/** The answer to one reason (a rule applied outside a decision). */
export function pcpAnswerOfReason(r: Reason): PcpAnswer {
  const pick: { readonly pcp: number; readonly natPmp: number } = PCP_ANSWERS[r.code] ?? { pcp: PCP_RESULT.NETWORK_FAILURE, natPmp: NATPMP_RESULT.NETWORK_FAILURE };
  return { pcp: pick.pcp, natPmp: pick.natPmp, errorLifetime: errorLifetimeOf(pick.pcp), reason: r };
}

/** The answer to a decision that refused (or did not give the asked family) — see the module comment. */
export function pcpAnswerOf(decision: Decision): PcpAnswer {
  for (const r of decision.reasons) {
    const row = PCP_ANSWERS[r.code];
    if (row) return { pcp: row.pcp, natPmp: row.natPmp, errorLifetime: errorLifetimeOf(row.pcp), reason: r };
  }
  return { pcp: PCP_RESULT.NETWORK_FAILURE, natPmp: NATPMP_RESULT.NETWORK_FAILURE, errorLifetime: SHORT_ERROR_LIFETIME_SECONDS };
}

/** One line for logs: `NOT_AUTHORIZED (matter-isolation/matter-device-isolation: detail)`. */
export function describePcpReason(r: Reason | undefined): string {
  if (!r) return 'no deciding reason';
  return `${r.rule}/${r.code}${r.detail ? `: ${r.detail}` : ''}`;
}
