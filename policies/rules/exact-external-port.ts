import { Party, Reason, reason } from '../model/reason';

/**
 * Rule 11, exact external port: a need that does not accept another external
 * port than the one it wished for (UPnP AddPortMapping, `acceptOtherExternalPort:
 * false`) is denied when the ipv4-external-port-exclusive rule could only give
 * it another one — the port is held by another need or by the router, or lies
 * outside the MAP-E port set. The reasons of the exclusive rule (naming the
 * holder) follow this one on the decision. Needs that accept another port
 * (the default, AddAnyPortMapping) are never touched by this rule.
 *
 * @example
 * ```ts
 * checkExactExternalPort(3074, 3075, false, { kind: 'need', id: 'console-a' })?.code; // 'external-port-unavailable'
 * checkExactExternalPort(3074, 3075, true);                                          // undefined
 * ```
 * @returns the denial, or `undefined` when the port given will do.
 */
export function checkExactExternalPort(
  wished: number,
  given: number | undefined,
  acceptOther: boolean,
  holder?: Party,
): Reason | undefined {
  if (acceptOther || given === wished) return undefined;
  const by = holder === undefined ? '' : holder.kind === 'need' ? ` (held by ${holder.id})` : holder.kind === 'gateway' ? ` (held by the router ${holder.id})` : ` (${holder.kind} ${holder.id})`;
  return reason('exact-external-port', 'external-port-unavailable', {
    family: 'ipv4',
    ...(holder !== undefined ? { conflictsWith: holder } : {}),
    detail: `external port ${wished} is not available${by} and the request does not accept another port`,
  });
}
