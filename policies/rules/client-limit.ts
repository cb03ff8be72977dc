import { Reason, reason } from '../model/reason';

/**
 * Rule 10, client limit: one requester address holds at most
 * `maxNeedsPerRequester` live needs at once (engine config; absent = no
 * limit). A need past the limit is denied, naming the policy and the limit;
 * a need submitted again under its own id (a renewal) is not a new one and
 * never counts twice.
 *
 * @example
 * ```ts
 * checkClientLimit('192.168.77.10', 64, 64)?.code; // 'client-limit-reached'
 * checkClientLimit('192.168.77.10', 3, 64);        // undefined
 * ```
 * @returns the denial, or `undefined` when the requester has room.
 */
export function checkClientLimit(requesterAddress: string, held: number, limit: number | undefined): Reason | undefined {
  if (limit === undefined || held < limit) return undefined;
  return reason('client-limit', 'client-limit-reached', {
    conflictsWith: { kind: 'policy', id: 'max-needs-per-requester' },
    detail: `${requesterAddress} already holds ${held} pinholes/port mappings, the most one address may hold (${limit})`,
  });
}
