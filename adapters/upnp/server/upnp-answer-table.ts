/**
 * The one place where an engine decision becomes a UPnP answer: a refused
 * need's decision (verdict + reason codes) -> `errorCode` + `errorDescription`.
 * One row per reason code (the compiler checks every code has one); the first
 * reason of the decision that has a code for the operation decides. Reasons
 * that only inform (admitted, lease-capped, owner-allowed ...) have none; a
 * decision with no deciding reason answers 501.
 *
 * The errorDescription starts with the standard text of the code (what
 * miniupnpd sends, what clients that match on text expect), then names the
 * reason code and the engine's own detail, e.g. `Action not authorized:
 * matter-device-isolation — plug is matter (mdns:_matter._tcp); this gateway
 * keeps Matter and IoT devices unreachable from the Internet`.
 *
 * | reason code (rule)                                            | pinhole | AddPortMapping / AddAny |
 * | ------------------------------------------------------------- | ------- | ----------------------- |
 * | matter-device-isolation, thread-border-router, iot-device     | 606     | 606                     |
 * | target-not-owned (requester-owns-target)                      | 606     | 718 / 606 (AddAny, Delete), as miniupnpd's secure mode |
 * | requester-unknown (requester-owns-target)                     | 606     | 606                     |
 * | privileged-internal-port (port-hygiene)                       | 606     | 606                     |
 * | protocol-not-allowed / wildcard-internal-client / -port       | 705 / 708 / 706 | 402             |
 * | invalid-port                                                  | 402     | 402                     |
 * | external-port-unavailable (exact-external-port)               | 718     | 718                     |
 * | external-port-in-use, external-port-held-by-router            | 718     | 718                     |
 * | external-ports-exhausted                                      | 728     | 728                     |
 * | capacity-full, preempted (capacity)                           | 701     | 728                     |
 * | client-limit-reached (client-limit)                           | 701     | 728                     |
 * | router-capacity-exhausted (router-feedback)                   | 701     | 728                     |
 * | inbound-pinhole-not-allowed / firewall-disabled               | 703 / 702 | 501                   |
 * | router-not-authorized                                         | 606     | 606                     |
 * | port-opening-disabled (owner-port-opening)                    | 606     | 606                     |
 * | router-rejected, router-lost-entry, permanent-lease-only      | the router's fault code, else 501 |
 * | no-gateway, pinholes-/port-mappings-unsupported               | 501     | 501                     |
 * | cgnat, ds-lite, double-nat, no-ipv4-wan (ipv6-mostly)         | 501     | 501                     |
 * | no-stable-address, address-deprecated                         | 402     | 402                     |
 * | (no deciding reason: withdrawn, a grant of another family)    | 501     | 501                     |
 *
 * @example
 * ```ts
 * const answer = upnpAnswerOf(decision, 'pinhole');
 * answer.code;        // 606
 * answer.description; // 'Action not authorized: matter-device-isolation — plug is matter (mdns:_matter._tcp); ...'
 * ```
 */
import type { Decision, Reason, ReasonCode } from '../../../policies';
import { faultDescription } from './soap-response';

/**
 * Which request the decision answers: the same reason has different codes per service (and action).
 * `pinhole` covers AddPinhole, UpdatePinhole, DeletePinhole and the pinhole queries.
 */
export type DecidedOperation = 'pinhole' | 'add-port-mapping' | 'add-any-port-mapping' | 'delete-port-mapping';

/**
 * A row: the UPnP code per operation (`anyPortMapping` when AddAnyPortMapping differs from
 * AddPortMapping), or `fault` (the router's own fault code behind a feedback reason, else 501);
 * `null`: informational.
 */
type Row = {
  readonly pinhole: number;
  readonly portMapping: number;
  readonly anyPortMapping?: number;
  readonly deletePortMapping?: number;
  readonly gloss?: string;
} | 'fault' | null;

const same = (code: number, gloss?: string): Row => ({ pinhole: code, portMapping: code, ...(gloss !== undefined ? { gloss } : {}) });
const ISOLATED = 'this gateway keeps Matter and IoT devices unreachable from the Internet';

/** The table: every reason code, its UPnP answer. */
export const UPNP_ANSWERS: Readonly<Record<ReasonCode, Row>> = {
  'matter-device-isolation': same(606, ISOLATED),
  'thread-border-router': same(606, ISOLATED),
  'iot-device': same(606, ISOLATED),
  'owner-allowed': null,
  'target-not-owned': { pinhole: 606, portMapping: 718, anyPortMapping: 606, deletePortMapping: 606, gloss: 'a device may only open ports to its own address' },
  'requester-unknown': same(606, 'the gateway does not know the requesting device'),
  'admin-override': null,
  'protocol-not-allowed': { pinhole: 705, portMapping: 402 },
  'wildcard-internal-client': { pinhole: 708, portMapping: 402 },
  'wildcard-internal-port': { pinhole: 706, portMapping: 402 },
  'invalid-port': same(402),
  'privileged-internal-port': same(606, 'ports below 1024 are for the administrator'),
  'external-port-in-use': same(718),
  'external-port-reassigned': null,
  'outside-map-e-port-set': null,
  'external-port-held-by-router': same(718),
  'router-assigned-external-port': null,
  'external-ports-exhausted': same(728),
  admitted: null,
  'capacity-full': { pinhole: 701, portMapping: 728 },
  preempted: { pinhole: 701, portMapping: 728 },
  'preempted-lower-class': null,
  'pinhole-shared': null,
  'lease-capped': null,
  'renewal-due': null,
  'session-ended': null,
  'need-released': null,
  'device-left': null,
  'address-deprecated': same(402),
  'address-followed': null,
  'no-stable-address': same(402),
  'ipv6-only-host': null,
  cgnat: same(501, 'an inbound port cannot work behind carrier-grade NAT'),
  'ds-lite': same(501, 'an inbound IPv4 port cannot work over DS-Lite'),
  'double-nat': same(501, 'an inbound IPv4 port cannot work behind a second NAT'),
  'no-ipv4-wan': same(501, 'the gateway has no IPv4 on its WAN'),
  'no-gateway': same(501),
  'pinholes-unsupported': same(501),
  'port-mappings-unsupported': same(501),
  'inbound-pinhole-not-allowed': { pinhole: 703, portMapping: 501 },
  'router-not-authorized': same(606),
  'firewall-disabled': { pinhole: 702, portMapping: 501 },
  'router-capacity-exhausted': { pinhole: 701, portMapping: 728 },
  'router-lost-entry': 'fault',
  'gateway-rebooted': null,
  'permanent-lease-only': 'fault',
  'router-rejected': 'fault',
  'client-limit-reached': { pinhole: 701, portMapping: 728 },
  'external-port-unavailable': same(718),
  'port-opening-disabled': same(606, 'the owner switched port opening off for this device'),
};

/** The longest errorDescription sent (clients print it on one line). */
export const MAX_DESCRIPTION_LENGTH = 300;

/** A UPnP answer to a refused need. */
export interface UpnpAnswer {
  readonly code: number;
  readonly description: string;
  /** The reason that decided the code (undefined: no reason did, 501). */
  readonly reason?: Reason;
}

function codeOf(r: Reason, operation: DecidedOperation): number | undefined {
  const row = UPNP_ANSWERS[r.code];
  if (row === null || row === undefined) return undefined;
  if (row === 'fault') return r.faultCode ?? 501;
  switch (operation) {
    case 'pinhole': return row.pinhole;
    case 'add-port-mapping': return row.portMapping;
    case 'add-any-port-mapping': return row.anyPortMapping ?? row.portMapping;
    case 'delete-port-mapping': return row.deletePortMapping ?? row.portMapping;
  }
}

/** The errorDescription of `code` for `reason`: the standard text, the reason code, the engine's detail. */
export function describeAnswer(code: number, r: Reason | undefined): string {
  const standard = faultDescription(code);
  if (!r) return standard;
  const row = UPNP_ANSWERS[r.code];
  const gloss = row !== null && row !== 'fault' ? row.gloss : undefined;
  const said = [r.detail, gloss].filter((s): s is string => !!s).join('; ');
  const text = `${standard}: ${r.code}${said ? ` — ${said}` : ''}`;
  return text.length <= MAX_DESCRIPTION_LENGTH ? text : `${text.slice(0, MAX_DESCRIPTION_LENGTH - 1)}…`;
}

/** The UPnP answer to one reason of a rule applied outside a decision (ownership of an existing entry). */
export function upnpAnswerOfReason(r: Reason, operation: DecidedOperation): UpnpAnswer {
  const code = codeOf(r, operation) ?? 501;
  return { code, description: describeAnswer(code, r), reason: r };
}

/** The UPnP answer to a decision that refused (or did not give the asked family) — see the module comment. */
export function upnpAnswerOf(decision: Decision, operation: DecidedOperation): UpnpAnswer {
  for (const r of decision.reasons) {
    const code = codeOf(r, operation);
    if (code !== undefined) return { code, description: describeAnswer(code, r), reason: r };
  }
  const first = decision.reasons.find((r) => r.rule !== 'capacity' || r.code !== 'admitted');
  return first ? { code: 501, description: describeAnswer(501, first), reason: first } : { code: 501, description: describeAnswer(501, undefined) };
}
