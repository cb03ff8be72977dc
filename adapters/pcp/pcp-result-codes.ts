/**
 * PCP result codes (RFC 6887 section 7.4) and NAT-PMP result codes (RFC 6886
 * section 3.5), with their names and whether an error is short-lived (the
 * condition may clear by itself, so the client may try again after the error's
 * lifetime) or long-lived (it will not clear without a configuration change).
 *
 * @example
 * ```ts
 * pcpResultName(5); // 'UNSUPP_OPTION'
 * ```
 */

export const PCP_RESULT_NAMES = [
  'SUCCESS',
  'UNSUPP_VERSION',
  'NOT_AUTHORIZED',
  'MALFORMED_REQUEST',
  'UNSUPP_OPCODE',
  'UNSUPP_OPTION',
  'MALFORMED_OPTION',
  'NETWORK_FAILURE',
  'NO_RESOURCES',
  'UNSUPP_PROTOCOL',
  'USER_EX_QUOTA',
  'CANNOT_PROVIDE_EXTERNAL',
  'ADDRESS_MISMATCH',
  'EXCESSIVE_REMOTE_PEERS',
] as const;

export type PcpResultName = (typeof PCP_RESULT_NAMES)[number];

/** What each PCP result means, in one line, for error messages and verdicts. */
const PCP_RESULT_MEANINGS: Readonly<Record<PcpResultName, string>> = {
  SUCCESS: 'the request succeeded',
  UNSUPP_VERSION: 'the server does not speak this PCP version',
  NOT_AUTHORIZED: 'the server refuses this request for this client (policy)',
  MALFORMED_REQUEST: 'the server could not parse the request',
  UNSUPP_OPCODE: 'the server does not implement this opcode',
  UNSUPP_OPTION: 'the server does not support a mandatory option of the request',
  MALFORMED_OPTION: 'an option of the request is malformed',
  NETWORK_FAILURE: 'the server has a network problem (e.g. no external address yet)',
  NO_RESOURCES: 'the server is out of mapping resources',
  UNSUPP_PROTOCOL: 'the server does not map this transport protocol',
  USER_EX_QUOTA: 'this client has used up its mapping quota',
  CANNOT_PROVIDE_EXTERNAL: 'the suggested external address or port cannot be given and PREFER_FAILURE was asked',
  ADDRESS_MISMATCH: 'the client address in the request is not the packet\'s source address',
  EXCESSIVE_REMOTE_PEERS: 'too many FILTER options for the server',
};

/** The RFC name of a PCP result code, or `RESULT_<n>` for codes the RFC does not define. */
export function pcpResultName(code: number): string {
  return PCP_RESULT_NAMES[code] ?? `RESULT_${code}`;
}

/** One line saying what a PCP result code means. */
export function pcpResultMeaning(code: number): string {
  const name = PCP_RESULT_NAMES[code];
  return name ? PCP_RESULT_MEANINGS[name] : 'a result code RFC 6887 does not define';
}

/**
 * True for the errors that may clear by themselves (RFC 6887 7.4: network
 * failure, resources, quota): the client may retry after the error lifetime.
 * The others need a change of request or configuration.
 */
export function isShortLivedPcpError(code: number): boolean {
  return code === 7 || code === 8 || code === 10;
}

export const NATPMP_RESULT_NAMES = [
  'SUCCESS',
  'UNSUPP_VERSION',
  'NOT_AUTHORIZED',
  'NETWORK_FAILURE',
  'OUT_OF_RESOURCES',
  'UNSUPP_OPCODE',
] as const;

/** The RFC 6886 name of a NAT-PMP result code, or `RESULT_<n>`. */
export function natPmpResultName(code: number): string {
  return NATPMP_RESULT_NAMES[code] ?? `RESULT_${code}`;
}
