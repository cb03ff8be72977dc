import { Reason, reason } from '../model/reason';

/**
 * Rule 12, owner port opening: the owner can switch port opening off for one
 * device (Home Assistant's "Allow port opening" switch, the admin API's
 * `set_port_opening`). While it is off, every need that device asks for, and
 * every need for one of its addresses, is denied, naming the device and who
 * switched it off; switched on again, its next request is decided by the
 * other rules as before. Needs it held when switched off lose their grants in
 * the same event.
 *
 * `disabled` maps a device id to who switched it off (an `owner-port-opening`
 * event with `allowed: false`).
 *
 * @example
 * ```ts
 * const off = new Map([['console', 'home-assistant']]);
 * checkOwnerPortOpening('console', undefined, off)?.code; // 'port-opening-disabled'
 * checkOwnerPortOpening('laptop', undefined, off);        // undefined
 * ```
 * @returns the denial, or `undefined` when neither the requester nor the target is switched off.
 */
export function checkOwnerPortOpening(requesterId: string | undefined, targetId: string | undefined, disabled: ReadonlyMap<string, string>): Reason | undefined {
  if (disabled.size === 0) return undefined;
  const id = requesterId !== undefined && disabled.has(requesterId) ? requesterId : targetId !== undefined && disabled.has(targetId) ? targetId : undefined;
  if (id === undefined) return undefined;
  const by = disabled.get(id) as string;
  return reason('owner-port-opening', 'port-opening-disabled', {
    conflictsWith: { kind: 'policy', id: `owner-port-opening:${id}` },
    detail: `port opening for ${id} is switched off by the owner (${by})`,
  });
}
