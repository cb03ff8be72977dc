import { DeviceAddress, Family } from '../model/address';
import { Device } from '../model/device';
import { Reason, reason } from '../model/reason';

/** The outcome of choosing the InternalClient of one leg of a need. */
export type ClientChoice =
  /** Use `address`; `followedFrom` is set when it replaces a gone address. */
  | { readonly address: string; readonly followedFrom?: string }
  /** The address in use is gone and the device has no stable replacement. */
  | { readonly lost: string }
  /** There is no address of this family to use. */
  | { readonly none: true };

/** Scopes a grant of the family may target: only GUAs are reachable through a pinhole. */
function usableScope(a: DeviceAddress): boolean {
  return a.family === 'ipv6' ? a.scope === 'gua' : a.scope === 'private' || a.scope === 'public';
}

/** The device's current stable address of the family (first listed), if any. */
export function currentStableAddress(device: Device, family: Family): string | undefined {
  for (const a of device.addresses) {
    if (a.family === family && a.stable && !a.deprecated && usableScope(a)) return a.address;
  }
  return undefined;
}

/**
 * Is `address` still good on `device`? Listed and not deprecated: yes. Listed
 * deprecated: no. Not listed while the device lists usable addresses of that
 * family: no (the prefix changed under it). Otherwise we have no evidence it
 * went away, so yes.
 */
export function stillValid(device: Device, address: string, family: Family): boolean {
  let listsFamily = false;
  for (const a of device.addresses) {
    if (a.address === address) return !a.deprecated;
    if (a.family === family && usableScope(a) && !a.deprecated) listsFamily = true;
  }
  return !listsFamily;
}

/**
 * Rule 7, address churn: a grant follows its device's current stable address
 * when the prefix changes or the address it used is deprecated.
 *
 * @param device   the device that owns the target, if known
 * @param inUse    the address the leg uses now (current grant or requested InternalClient)
 * @param fallback an address to use when nothing better is known (the request's source address)
 */
export function selectInternalClient(
  device: Device | undefined,
  family: Family,
  inUse: string | undefined,
  fallback: string | undefined,
): ClientChoice {
  if (!device) {
    const address = inUse ?? fallback;
    return address !== undefined ? { address } : { none: true };
  }
  if (inUse !== undefined) {
    if (stillValid(device, inUse, family)) return { address: inUse };
    const next = currentStableAddress(device, family);
    return next !== undefined ? { address: next, followedFrom: inUse } : { lost: inUse };
  }
  const stable = currentStableAddress(device, family);
  if (stable !== undefined) return { address: stable };
  if (fallback !== undefined && stillValid(device, fallback, family)) return { address: fallback };
  return { none: true };
}

export function followedReason(family: Family, from: string, to: string): Reason {
  return reason('address-churn', 'address-followed', { family, detail: `${from} is gone; following the stable address ${to}` });
}

export function noAddressReason(family: Family, deviceId: string): Reason {
  return reason('address-churn', 'no-stable-address', {
    family,
    conflictsWith: { kind: 'device', id: deviceId },
    detail: `${deviceId} has no usable stable ${family} address`,
  });
}
