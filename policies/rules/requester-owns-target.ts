import { Device } from '../model/device';
import { Need } from '../model/need';
import { Reason, reason } from '../model/reason';

/**
 * Rule 2, requester owns the target (the IGD:2 rule): a LAN client may only
 * ask for reachability of its own addresses. An `admin` need may target any
 * device. `targetOwnerId` is the device currently holding the need's
 * InternalClient address, if any device does.
 *
 * @returns a denial reason, or `undefined` when the need may proceed.
 */
export function checkRequesterOwnsTarget(
  need: Need,
  requester: Device | undefined,
  targetOwnerId: string | undefined,
): Reason | undefined {
  if (need.class === 'admin') return undefined;
  const target = need.internalClient;
  if (target === undefined) {
    // The need targets the requester itself: it must be known by device or address.
    if (requester || need.requester.address !== undefined) return undefined;
    return reason('requester-owns-target', 'requester-unknown', {
      conflictsWith: { kind: 'device', id: need.requester.deviceId },
      detail: 'no address to target: the requester is unknown and sent no address',
    });
  }
  if (need.requester.address === target) return undefined;
  if (requester && requester.addresses.some((a) => a.address === target)) return undefined;
  if (targetOwnerId !== undefined && targetOwnerId === need.requester.deviceId) return undefined;
  return reason('requester-owns-target', 'target-not-owned', {
    conflictsWith: { kind: 'device', id: targetOwnerId ?? `address:${target}` },
    detail: `${need.requester.deviceId} asked for ${target}, which is not its own address`,
  });
}

/**
 * Rule 2, as IGD:2 (and miniupnpd's secure mode) applies it to a UPnP request: the
 * InternalClient must be the very address the request came from, as written — not
 * another address of the same device, not the same address spelt differently
 * (upper case, uncompressed). Applied to needs that say so (`requesterMustBeTarget`).
 *
 * @example
 * ```ts
 * checkRequesterIsTarget('2001:DB8:77::10', '2001:db8:77::10', 'console-a')?.code; // 'target-not-owned'
 * checkRequesterIsTarget('192.168.77.10', '192.168.77.10', 'console-a');            // undefined
 * ```
 * @returns a denial reason, or `undefined` when the request came from its target's address.
 */
export function checkRequesterIsTarget(internalClientAsWritten: string | undefined, requesterAddress: string | undefined, requesterId: string): Reason | undefined {
  if (internalClientAsWritten !== undefined && internalClientAsWritten === requesterAddress) return undefined;
  return reason('requester-owns-target', 'target-not-owned', {
    conflictsWith: { kind: 'device', id: `address:${internalClientAsWritten ?? ''}` },
    detail: `InternalClient ${internalClientAsWritten ?? '(none)'} is not the address the request came from (${requesterAddress ?? 'unknown'}) as written; ${requesterId} may only open ports to that address`,
  });
}

/** An entry a client opened (a pinhole or port mapping), as far as ownership goes. */
export interface OpenedEntry {
  /** What it is, for the detail (e.g. `pinhole 3`, `port 3074/udp`). */
  readonly label: string;
  readonly needId: string;
  /** The address the opening request came from, and the InternalClient it opened. */
  readonly requesterAddress?: string;
  readonly internalClient?: string;
}

/**
 * Rule 2 for an entry that exists: only the client that opened it (from its
 * address, or the InternalClient it opened) may renew, query or delete it.
 *
 * @example
 * ```ts
 * const entry = { label: 'pinhole 1', needId: 'upnp6:udp:2001:db8:77::10:3074:*:0', requesterAddress: '2001:db8:77::10' };
 * checkRequesterOwnsEntry(entry, '2001:db8:77::11')?.code; // 'target-not-owned'
 * checkRequesterOwnsEntry(entry, '2001:db8:77::10');       // undefined
 * ```
 * @returns a denial reason naming the entry's need, or `undefined` for its owner.
 */
export function checkRequesterOwnsEntry(entry: OpenedEntry, requesterAddress: string): Reason | undefined {
  if (entry.requesterAddress === requesterAddress || entry.internalClient === requesterAddress) return undefined;
  return reason('requester-owns-target', 'target-not-owned', {
    conflictsWith: { kind: 'need', id: entry.needId },
    detail: `${entry.label} belongs to ${entry.requesterAddress ?? entry.internalClient ?? 'another client'}; only the client that opened it may change it`,
  });
}
