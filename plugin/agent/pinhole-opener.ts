import { FamilyOpener, OpenerResult } from './family-opener';
import { PinholeControl, RouterFault } from './gateway-control';
import { clampLease, PINHOLE_LEASE_BOUNDS } from './lease-timing';
import { Reachability } from './reachability';

export interface PinholeOpenerInit {
  /** The gateway's description URL, reported in verdicts. */
  readonly gateway: string;
  /** A control bound to the given local address. */
  readonly control: (localAddress: string) => PinholeControl;
  /** Reads a router fault out of an error (undefined: not a fault). */
  readonly faultOf: (error: unknown) => RouterFault | undefined;
  readonly protocol: 'udp' | 'tcp';
  readonly port: number;
  /** Wished lease in seconds, clamped to 1..86400. */
  readonly leaseSeconds: number;
  /** Only this remote host may send (empty: any). */
  readonly remoteHost?: string;
  readonly remotePort?: number;
}

/**
 * Opens an IPv6 pinhole (WANIPv6FirewallControl:1) for this host:
 * GetFirewallStatus first (firewall off: not needed; inbound pinholes not
 * allowed: denied, grade B), then AddPinhole sent from the InternalClient
 * address. Renewal is UpdatePinhole; a 704 or 402 answer means the router
 * forgot the pinhole (it rebooted), so it is added again.
 */
export class PinholeOpener implements FamilyOpener<number> {
  readonly family = 'ipv6' as const;
  private readonly lease: number;

  constructor(private readonly init: PinholeOpenerInit) {
    this.lease = clampLease(init.leaseSeconds, PINHOLE_LEASE_BOUNDS);
  }

  async open(internalClient: string): Promise<OpenerResult<number>> {
    const control = this.init.control(internalClient);
    let status: { firewallEnabled: boolean; inboundPinholeAllowed: boolean };
    try {
      status = await control.getFirewallStatus();
    } catch (error) {
      return { reachability: this.fromFault(error) };
    }
    if (!status.firewallEnabled) {
      return {
        reachability: {
          family: 'ipv6',
          verdict: 'not-needed',
          reason: 'the router reports its IPv6 firewall disabled: inbound traffic already reaches this host',
          gateway: this.init.gateway,
        },
      };
    }
    if (!status.inboundPinholeAllowed) {
      return {
        reachability: {
          family: 'ipv6',
          verdict: 'denied',
          code: 703,
          name: 'InboundPinholeNotAllowed',
          reason: "the router does not allow inbound pinholes (grade B): enable 'allow IPv6 pinholes' (UPnP IPv6 firewall control) in its settings",
          gateway: this.init.gateway,
        },
      };
    }
    return this.add(internalClient, control);
  }

  async renew(internalClient: string, uniqueId: number): Promise<OpenerResult<number>> {
    const control = this.init.control(internalClient);
    try {
      await control.updatePinhole(uniqueId, this.lease);
      return { reachability: this.openVerdict(internalClient, uniqueId), held: uniqueId };
    } catch (error) {
      const fault = this.init.faultOf(error);
      if (fault && (fault.code === 704 || fault.code === 402)) return this.add(internalClient, control);
      if (fault) return { reachability: this.fromFault(error) };
      throw error;
    }
  }

  async close(internalClient: string, uniqueId: number): Promise<void> {
    try {
      await this.init.control(internalClient).deletePinhole(uniqueId);
    } catch (error) {
      const fault = this.init.faultOf(error);
      // Already gone (expired, router rebooted): closed is what we wanted.
      if (fault && (fault.code === 704 || fault.code === 402)) return;
      throw error;
    }
  }

  private async add(internalClient: string, control: PinholeControl): Promise<OpenerResult<number>> {
    try {
      const uniqueId = await control.addPinhole({
        remoteHost: this.init.remoteHost ?? '',
        remotePort: this.init.remotePort ?? 0,
        internalClient,
        internalPort: this.init.port,
        protocol: this.init.protocol,
        leaseTime: this.lease,
      });
      return { reachability: this.openVerdict(internalClient, uniqueId), held: uniqueId };
    } catch (error) {
      return { reachability: this.fromFault(error) };
    }
  }

  private openVerdict(internalClient: string, uniqueId: number): Reachability {
    return {
      family: 'ipv6',
      verdict: 'open',
      reason: `IPv6 pinhole ${uniqueId} open for ${this.init.protocol.toUpperCase()} [${internalClient}]:${this.init.port}`,
      protocol: this.init.protocol,
      externalAddress: internalClient,
      externalPort: this.init.port,
      internalClient,
      internalPort: this.init.port,
      leaseSeconds: this.lease,
      uniqueId,
      gateway: this.init.gateway,
    };
  }

  private fromFault(error: unknown): Reachability {
    const fault = this.init.faultOf(error);
    if (!fault) throw error;
    if (fault.code === 702) {
      return { family: 'ipv6', verdict: 'not-needed', reason: 'the router reports its IPv6 firewall disabled (702)', gateway: this.init.gateway };
    }
    if (fault.code === 401 || fault.code === 602) {
      return {
        family: 'ipv6',
        verdict: 'unsupported',
        grade: 'C',
        reason: `the router's IPv6 firewall control does not implement this action (${fault.code} ${fault.name})`,
        gateway: this.init.gateway,
      };
    }
    return { family: 'ipv6', verdict: 'denied', code: fault.code, name: fault.name, reason: fault.meaning, gateway: this.init.gateway };
  }
}
