/** JAIPA router grade: A works out of the box, B after a setting, C answers but no pinholes, D no discovery. */
export type GatewayGrade = 'A' | 'B' | 'C' | 'D';

/** The two tables a gateway keeps for us. */
export type Table = 'pinhole' | 'port-mapping';

/** One gateway (UPnP IGD / PCP server) and what is known about it. */
export interface Gateway {
  readonly id: string;
  readonly grade: GatewayGrade;
  /** WANIPv6FirewallControl present (IGD:2). */
  readonly pinholes: boolean;
  /** WANIPConnection present. */
  readonly portMappings: boolean;
  /** GetFirewallStatus.FirewallEnabled; false means no pinhole is needed. */
  readonly firewallEnabled: boolean;
  /** GetFirewallStatus.InboundPinholeAllowed; false means 703 for every AddPinhole. */
  readonly inboundPinholeAllowed: boolean;
  /** Table sizes: configured, and learned from 701/728. `undefined` = unknown (unbounded). */
  readonly pinholeCapacity?: number;
  readonly portMappingCapacity?: number;
  readonly learnedPinholeCapacity?: number;
  readonly learnedPortMappingCapacity?: number;
  /** Router answered 725: only permanent (lease 0) port mappings. */
  readonly permanentLeasesOnly: boolean;
  /** BOOTID.UPNP.ORG or equivalent; a change means the router rebooted. */
  readonly bootId?: string;
}

/** The capacity that applies to a table: the smaller of configured and learned. */
export function capacityOf(gateway: Gateway, table: Table): number {
  const configured = table === 'pinhole' ? gateway.pinholeCapacity : gateway.portMappingCapacity;
  const learned = table === 'pinhole' ? gateway.learnedPinholeCapacity : gateway.learnedPortMappingCapacity;
  return Math.min(configured ?? Infinity, learned ?? Infinity);
}

export function defaultGateway(id: string): Gateway {
  return {
    id,
    grade: 'A',
    pinholes: true,
    portMappings: true,
    firewallEnabled: true,
    inboundPinholeAllowed: true,
    permanentLeasesOnly: false,
  };
}
