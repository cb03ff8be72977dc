import { classifyExternalIpv4 } from '../../policies/model/address';
import { FamilyOpener, OpenerResult } from './family-opener';
import { PortMappingArgs, PortMappingControl, RouterFault } from './gateway-control';
import { clampLease, PORT_MAPPING_LEASE_BOUNDS } from './lease-timing';
import { Reachability } from './reachability';

export interface PortMappingOpenerInit {
  readonly gateway: string;
  readonly control: (localAddress: string) => PortMappingControl;
  readonly faultOf: (error: unknown) => RouterFault | undefined;
  readonly protocol: 'udp' | 'tcp';
  /** The internal port (the game's socket). */
  readonly port: number;
  /** The external port wished for (default: the internal port). */
  readonly externalPort?: number;
  readonly leaseSeconds: number;
  readonly remoteHost?: string;
  readonly description?: string;
  /** How many other external ports to try on IGD:1 when the wish is taken (default 16). */
  readonly alternatives?: number;
}

/** What an IPv4 mapping holds: the external port the router gave, and the lease in force (0 = permanent). */
export interface HeldMapping {
  readonly externalPort: number;
  readonly leaseSeconds: number;
  readonly externalAddress: string;
}

/**
 * Opens an IPv4 port mapping (WANIPConnection:1/2) for this host. First the
 * external address: a private (double NAT), CGNAT or missing one makes a
 * mapping on this router `ineffective`. Then AddPortMapping for the wished
 * external port; a 718 conflict (another host holds it) falls back to
 * AddAnyPortMapping (IGD:2) or to nearby ports (IGD:1); 725 (only permanent
 * leases) retries with lease 0. Renewal re-adds the same mapping.
 */
export class PortMappingOpener implements FamilyOpener<HeldMapping> {
  readonly family = 'ipv4' as const;
  private readonly lease: number;

  constructor(private readonly init: PortMappingOpenerInit) {
    this.lease = clampLease(init.leaseSeconds, PORT_MAPPING_LEASE_BOUNDS);
  }

  async open(internalClient: string): Promise<OpenerResult<HeldMapping>> {
    const control = this.init.control(internalClient);
    let external: string;
    try {
      external = (await control.getExternalIPAddress()).trim();
    } catch (error) {
      return { reachability: this.fromFault(error) };
    }
    const kind = classifyExternalIpv4(external);
    if (kind !== 'public') {
      const why =
        kind === 'cgnat'
          ? `its external address ${external} is in 100.64.0.0/10: the ISP's carrier-grade NAT sits above this router`
          : kind === 'private'
            ? `its external address ${external} is private: another NAT (double NAT) sits above this router`
            : 'it has no external IPv4 address (IPv6-only access, or DS-Lite/MAP-E handled elsewhere)';
      return {
        reachability: {
          family: 'ipv4',
          verdict: 'ineffective',
          reason: `a port mapping on this router cannot make this host reachable over IPv4: ${why}; use IPv6, hole punching or a relay`,
          externalIpv4: external || undefined,
          externalIpv4Kind: kind,
          gateway: this.init.gateway,
        },
      };
    }
    return this.add(internalClient, control, external, this.init.externalPort ?? this.init.port);
  }

  async renew(internalClient: string, held: HeldMapping): Promise<OpenerResult<HeldMapping>> {
    const control = this.init.control(internalClient);
    return this.add(internalClient, control, held.externalAddress, held.externalPort, held.leaseSeconds);
  }

  async close(internalClient: string, held: HeldMapping): Promise<void> {
    try {
      await this.init.control(internalClient).deletePortMapping({
        remoteHost: this.init.remoteHost ?? '',
        externalPort: held.externalPort,
        protocol: this.init.protocol,
      });
    } catch (error) {
      const fault = this.init.faultOf(error);
      if (fault && fault.code === 714) return; // NoSuchEntryInArray: already gone
      throw error;
    }
  }

  private args(internalClient: string, externalPort: number, lease: number): PortMappingArgs {
    return {
      remoteHost: this.init.remoteHost ?? '',
      externalPort,
      protocol: this.init.protocol,
      internalPort: this.init.port,
      internalClient,
      enabled: true,
      description: this.init.description ?? 'homenet',
      leaseDuration: lease,
    };
  }

  private async add(
    internalClient: string,
    control: PortMappingControl,
    externalAddress: string,
    externalPort: number,
    lease = this.lease,
  ): Promise<OpenerResult<HeldMapping>> {
    try {
      await control.addPortMapping(this.args(internalClient, externalPort, lease));
      return this.opened(internalClient, externalAddress, externalPort, lease);
    } catch (error) {
      const fault = this.init.faultOf(error);
      if (fault?.code === 725 && lease !== 0) return this.add(internalClient, control, externalAddress, externalPort, 0);
      if (fault?.code !== 718) return { reachability: this.fromFault(error) };
      return this.alternative(internalClient, control, externalAddress, externalPort, lease, error);
    }
  }

  private async alternative(
    internalClient: string,
    control: PortMappingControl,
    externalAddress: string,
    taken: number,
    lease: number,
    conflict: unknown,
  ): Promise<OpenerResult<HeldMapping>> {
    if (control.addAnyPortMapping) {
      try {
        const port = await control.addAnyPortMapping(this.args(internalClient, taken, lease));
        return this.opened(internalClient, externalAddress, port, lease, taken);
      } catch (error) {
        const fault = this.init.faultOf(error);
        if (!fault || (fault.code !== 401 && fault.code !== 602)) return { reachability: this.fromFault(error) };
      }
    }
    const tries = this.init.alternatives ?? 16;
    for (let i = 1; i <= tries; i += 1) {
      const port = taken + i;
      if (port > 65535) break;
      try {
        await control.addPortMapping(this.args(internalClient, port, lease));
        return this.opened(internalClient, externalAddress, port, lease, taken);
      } catch (error) {
        if (this.init.faultOf(error)?.code !== 718) return { reachability: this.fromFault(error) };
      }
    }
    return { reachability: this.fromFault(conflict) };
  }

  private opened(
    internalClient: string,
    externalAddress: string,
    externalPort: number,
    lease: number,
    wished?: number,
  ): OpenerResult<HeldMapping> {
    const moved = wished !== undefined ? ` (external port ${wished} is held by another host)` : '';
    return {
      reachability: {
        family: 'ipv4',
        verdict: 'open',
        reason: `IPv4 port mapping ${externalAddress}:${externalPort} -> ${internalClient}:${this.init.port} ${this.init.protocol.toUpperCase()}${moved}`,
        protocol: this.init.protocol,
        externalAddress,
        externalPort,
        internalClient,
        internalPort: this.init.port,
        leaseSeconds: lease,
        gateway: this.init.gateway,
      },
      held: { externalPort, leaseSeconds: lease, externalAddress },
    };
  }

  private fromFault(error: unknown): Reachability {
    const fault = this.init.faultOf(error);
    if (!fault) throw error;
    return { family: 'ipv4', verdict: 'denied', code: fault.code, name: fault.name, reason: fault.meaning, gateway: this.init.gateway };
  }
}
