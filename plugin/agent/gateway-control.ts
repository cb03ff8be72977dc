/**
 * What the agent needs from a gateway's services, bound to one local address
 * (the InternalClient: real routers only open ports for the host that asks).
 * `connect-gateway.ts` builds these from the UPnP adapter's service clients.
 */
export interface PinholeControl {
  getFirewallStatus(): Promise<{ firewallEnabled: boolean; inboundPinholeAllowed: boolean }>;
  addPinhole(args: {
    remoteHost: string;
    remotePort: number;
    internalClient: string;
    internalPort: number;
    protocol: 'udp' | 'tcp';
    leaseTime: number;
  }): Promise<number>;
  updatePinhole(uniqueId: number, leaseTime: number): Promise<void>;
  deletePinhole(uniqueId: number): Promise<void>;
}

export interface PortMappingArgs {
  remoteHost: string;
  externalPort: number;
  protocol: 'udp' | 'tcp';
  internalPort: number;
  internalClient: string;
  enabled: boolean;
  description: string;
  leaseDuration: number;
}

export interface PortMappingControl {
  getExternalIPAddress(): Promise<string>;
  addPortMapping(args: PortMappingArgs): Promise<void>;
  /** IGD:2 only: the router picks a free external port near the wish and returns it. */
  addAnyPortMapping?(args: PortMappingArgs): Promise<number>;
  deletePortMapping(args: { remoteHost: string; externalPort: number; protocol: 'udp' | 'tcp' }): Promise<void>;
}

/** A router's refusal as the agent sees it. */
export interface RouterFault {
  readonly code: number;
  readonly name: string;
  /** The router's own description when it says more than the standard text for the code, else what the code usually means. */
  readonly meaning: string;
}
