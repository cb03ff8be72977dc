import { AddressInput } from './address';
import { DeviceIdentities, Ipv6OnlyEvidence, KindEvidence } from './device';
import { Feedback } from './feedback';
import { GatewayGrade } from './gateway';
import { NeedRequest } from './need';
import { Ipv4OverIpv6, WanIpv4Kind } from './network';

/** A device was observed. Fields present replace what was known; kinds accumulate. */
export interface DeviceSeen {
  type: 'device-seen';
  deviceId: string;
  identities?: DeviceIdentities;
  kinds?: KindEvidence[];
  /** The device's full current address list (an `ip -j addr`-like snapshot). */
  addresses?: AddressInput[];
  /** Evidence the device is IPv6-only; `null` clears it. */
  ipv6Only?: Ipv6OnlyEvidence | null;
}

/** The device left the network (or was forgotten). */
export interface DeviceLeft {
  type: 'device-left';
  deviceId: string;
}

/** The owner explicitly allows (or revokes) inbound reachability to an isolated device. */
export interface OwnerAllow {
  type: 'owner-allow';
  deviceId: string;
  allowed: boolean;
}

/**
 * The owner switched port opening off (or on again) for one device (Home
 * Assistant's "Allow port opening" switch, the admin API's
 * `set_port_opening`): while off, every need the device asks for, or that
 * targets it, is denied (rule `owner-port-opening`). `by` names who set it.
 */
export interface OwnerPortOpening {
  type: 'owner-port-opening';
  deviceId: string;
  allowed: boolean;
  by?: string;
}

/** WAN / transition facts changed. */
export interface NetworkChanged {
  type: 'network-changed';
  wanIpv4?: WanIpv4Kind;
  ipv4OverIpv6?: Ipv4OverIpv6;
  pref64?: string | null;
}

/** A gateway was discovered or re-described. A changed `bootId` means it rebooted. */
export interface GatewaySeen {
  type: 'gateway-seen';
  gatewayId: string;
  grade?: GatewayGrade;
  pinholes?: boolean;
  portMappings?: boolean;
  firewallEnabled?: boolean;
  inboundPinholeAllowed?: boolean;
  pinholeCapacity?: number | null;
  portMappingCapacity?: number | null;
  bootId?: string;
}

/** A need was submitted (a game, a console, a UPnP request). */
export interface NeedSubmitted {
  type: 'need-submitted';
  need: NeedRequest;
}

/** A need ended (session over, or released by its requester). */
export interface NeedEnded {
  type: 'need-ended';
  needId: string;
  why?: 'session-ended' | 'released';
}

/** Marks the passing of time only (e.g. the end of a recording). */
export interface Tick {
  type: 'tick';
}

/** Every input of the engine. Plain JSON; `type` discriminates. */
export type PolicyEvent =
  | DeviceSeen
  | DeviceLeft
  | OwnerAllow
  | OwnerPortOpening
  | NetworkChanged
  | GatewaySeen
  | NeedSubmitted
  | NeedEnded
  | Tick
  | Feedback;

export type EventType = PolicyEvent['type'];

export const EVENT_TYPES: readonly EventType[] = [
  'device-seen',
  'device-left',
  'owner-allow',
  'network-changed',
  'gateway-seen',
  'need-submitted',
  'need-ended',
  'tick',
  'action-succeeded',
  'action-failed',
  'gateway-rebooted',
  'capacity-exhausted',
  'owner-port-opening',
];
