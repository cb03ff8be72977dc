/** The rules, by stable name. Every reason names the rule that produced it. */
export type RuleName =
  | 'matter-isolation'
  | 'requester-owns-target'
  | 'port-hygiene'
  | 'ipv4-external-port-exclusive'
  | 'capacity'
  | 'lease-policy'
  | 'address-churn'
  | 'ipv6-mostly'
  | 'router-feedback'
  | 'client-limit'
  | 'exact-external-port'
  | 'owner-port-opening';

export const RULE_NAMES: readonly RuleName[] = [
  'matter-isolation',
  'requester-owns-target',
  'port-hygiene',
  'ipv4-external-port-exclusive',
  'capacity',
  'lease-policy',
  'address-churn',
  'ipv6-mostly',
  'router-feedback',
  'client-limit',
  'exact-external-port',
  'owner-port-opening',
];

/** Stable reason codes, grouped by the rule that emits them. */
export const REASON_CODES = {
  'matter-isolation': ['matter-device-isolation', 'thread-border-router', 'iot-device', 'owner-allowed'],
  'requester-owns-target': ['target-not-owned', 'requester-unknown', 'admin-override'],
  'port-hygiene': [
    'protocol-not-allowed',
    'wildcard-internal-client',
    'wildcard-internal-port',
    'invalid-port',
    'privileged-internal-port',
  ],
  'ipv4-external-port-exclusive': [
    'external-port-in-use',
    'external-port-reassigned',
    'outside-map-e-port-set',
    'external-port-held-by-router',
    'router-assigned-external-port',
    'external-ports-exhausted',
  ],
  capacity: ['admitted', 'capacity-full', 'preempted', 'preempted-lower-class', 'pinhole-shared'],
  'lease-policy': ['lease-capped', 'renewal-due', 'session-ended', 'need-released', 'device-left', 'address-deprecated'],
  'address-churn': ['address-followed', 'no-stable-address'],
  'ipv6-mostly': ['ipv6-only-host', 'cgnat', 'ds-lite', 'double-nat', 'no-ipv4-wan'],
  'router-feedback': [
    'no-gateway',
    'pinholes-unsupported',
    'port-mappings-unsupported',
    'inbound-pinhole-not-allowed',
    'router-not-authorized',
    'firewall-disabled',
    'router-capacity-exhausted',
    'router-lost-entry',
    'gateway-rebooted',
    'permanent-lease-only',
    'router-rejected',
  ],
  'client-limit': ['client-limit-reached'],
  'exact-external-port': ['external-port-unavailable'],
  'owner-port-opening': ['port-opening-disabled'],
} as const satisfies Record<RuleName, readonly string[]>;

export type ReasonCode = (typeof REASON_CODES)[RuleName][number];

/** Who or what a decision conflicted with. */
export interface Party {
  readonly kind: 'need' | 'device' | 'gateway' | 'network' | 'policy';
  readonly id: string;
}

/** One reason of a decision. */
export interface Reason {
  readonly code: ReasonCode;
  readonly rule: RuleName;
  /** The leg it concerns, for needs with both families. */
  readonly family?: 'ipv4' | 'ipv6';
  readonly conflictsWith?: Party;
  /** Human-readable detail, e.g. the router setting to change. */
  readonly detail?: string;
  /** UPnP/PCP fault code behind a router-feedback reason. */
  readonly faultCode?: number;
}

export function reason(
  rule: RuleName,
  code: ReasonCode,
  extra?: { family?: 'ipv4' | 'ipv6'; conflictsWith?: Party; detail?: string; faultCode?: number },
): Reason {
  const r: { -readonly [K in keyof Reason]: Reason[K] } = { code, rule };
  if (extra?.family) r.family = extra.family;
  if (extra?.conflictsWith) r.conflictsWith = extra.conflictsWith;
  if (extra?.detail !== undefined) r.detail = extra.detail;
  if (extra?.faultCode !== undefined) r.faultCode = extra.faultCode;
  return r;
}
