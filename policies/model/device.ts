import { DeviceAddress } from './address';

/** What a device is, as far as the evidence goes. */
export type DeviceKind =
  | 'matter'
  | 'thread-border-router'
  | 'iot'
  | 'game-console'
  | 'hub'
  | 'router'
  | 'computer'
  | 'phone'
  | 'unknown';

/** Kinds whose devices never get inbound reachability without an owner's explicit allow. */
export const ISOLATED_KINDS: readonly DeviceKind[] = ['matter', 'thread-border-router', 'iot'];

/** A kind and the observation that supports it, e.g. `{ kind: 'matter', evidence: 'mdns:_matter._tcp' }`. */
export interface KindEvidence {
  readonly kind: DeviceKind;
  readonly evidence: string;
}

/** The identities a device is known by; any one of them is enough to recognise it again. */
export interface DeviceIdentities {
  readonly mac?: string;
  readonly duid?: string;
  readonly matterNodeId?: string;
  readonly mdnsHost?: string;
}

/** How a device was seen to be IPv6-only (RFC 8925 option 108 accepted, or a CLAT). */
export type Ipv6OnlyEvidence = 'dhcpv4-option-108' | 'clat';

/** A device of the home, immutable view. */
export interface Device {
  /** The stable key chosen by the observer (e.g. `mac:00:11:22:33:44:55`). */
  readonly id: string;
  readonly identities: DeviceIdentities;
  readonly kinds: readonly KindEvidence[];
  readonly addresses: readonly DeviceAddress[];
  /** Present when the device runs IPv6-only (it will not use an IPv4 mapping). */
  readonly ipv6Only?: Ipv6OnlyEvidence;
  /** The owner explicitly allowed inbound reachability to this (isolated-kind) device. */
  readonly ownerAllowed: boolean;
  readonly firstSeenAt: number;
}

/** True when any evidence puts the device in one of the {@link ISOLATED_KINDS}. */
export function isIsolatedKind(kinds: readonly KindEvidence[]): KindEvidence | undefined {
  for (const k of kinds) if (ISOLATED_KINDS.includes(k.kind)) return k;
  return undefined;
}

/** The identity strings used to index a device (`mac:…`, `duid:…`, `matter:…`, `mdns:…`). */
export function identityKeys(ids: DeviceIdentities): string[] {
  const keys: string[] = [];
  if (ids.mac) keys.push(`mac:${ids.mac.toLowerCase()}`);
  if (ids.duid) keys.push(`duid:${ids.duid.toLowerCase()}`);
  if (ids.matterNodeId) keys.push(`matter:${ids.matterNodeId.toLowerCase()}`);
  if (ids.mdnsHost) keys.push(`mdns:${ids.mdnsHost.toLowerCase()}`);
  return keys;
}
