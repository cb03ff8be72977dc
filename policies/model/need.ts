import { Family } from './address';

export type Protocol = 'udp' | 'tcp';

/** Traffic classes, each with its lease cap and rank. */
export type NeedClass = 'game-session' | 'voice' | 'service' | 'admin';

export const NEED_CLASSES: readonly NeedClass[] = ['game-session', 'voice', 'service', 'admin'];

/**
 * A request for inbound reachability, as submitted (JSON). For a UPnP gateway
 * deployment this is one AddPinhole / AddPortMapping request.
 */
export interface NeedRequest {
  /** Unique per need (e.g. `console-a/3074/udp/session-17`). */
  id: string;
  /** Who asks: the device and the address the request came from. */
  requester: { deviceId: string; address?: string };
  /**
   * InternalClient: the address to reach. When absent, the requester's own
   * current stable address of each family is used.
   */
  internalClient?: string;
  /** A {@link Protocol}, or whatever else a client asked for: the port-hygiene rule refuses the rest. */
  protocol: string;
  internalPort: number;
  /** IPv4 external port wished for (0/absent: same as internalPort). */
  externalPort?: number;
  /** Remote filter; empty / 0 = any. */
  remoteHost?: string;
  remotePort?: number;
  family: Family | 'both';
  /** Lease wanted in seconds (0/absent: the class cap). */
  leaseSeconds?: number;
  class: NeedClass;
  /** Higher wins within a class (default 0). */
  priority?: number;
  sessionId?: string;
  /** Gateway to use; default: the configured or first known gateway. */
  gatewayId?: string;
  /**
   * IPv4: whether another external port than the one wished for will do
   * (default true). `false` (UPnP AddPortMapping) makes a taken port a denial
   * by the exact-external-port rule instead of a grant on another port.
   */
  acceptOtherExternalPort?: boolean;
  /**
   * UPnP (IGD:2): the InternalClient, as written, must be the requester's
   * address (requester-owns-target); default false (the device may target any
   * of its own addresses).
   */
  requesterMustBeTarget?: boolean;
}

/** A need the engine holds, immutable view. */
export interface Need {
  readonly id: string;
  readonly requester: { readonly deviceId: string; readonly address?: string };
  readonly internalClient?: string;
  readonly protocol: Protocol;
  readonly internalPort: number;
  readonly externalPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly family: Family | 'both';
  readonly leaseSeconds: number;
  readonly class: NeedClass;
  readonly priority: number;
  readonly sessionId?: string;
  readonly gatewayId?: string;
  /** Present (false) only when another external port will not do. */
  readonly acceptOtherExternalPort?: false;
  /** Virtual time it was submitted at. */
  readonly submittedAt: number;
  /** Submission order; older needs win ties. */
  readonly order: number;
}
