import { readHostAddresses } from '../../adapters/observe/host-addresses';
import type { DiscoveredGateway } from '../../adapters/upnp/gateway';
import { discoverGateway, DiscoverGatewayOptions } from '../../adapters/upnp/gateway-discovery';
import { SoapCaller, SoapClient } from '../../adapters/upnp/soap-client';
import { WanIpConnectionClient } from '../../adapters/upnp/wan-ip-connection';
import { pinholeControlOf, routerFaultOf } from './connect-gateway';
import { chooseInternalClient } from './internal-client';
import { HostAddressSource, PcpAccess, PortFamily } from './open-port';
import { OpenedPortRecord, OpenedPortsStore } from './opened-ports-store';
import { NatPmpClient } from '../../adapters/pcp/natpmp-client';
import { PcpClient } from '../../adapters/pcp/pcp-client';
import { openUdpPcpTransport } from '../../adapters/pcp/udp-pcp-transport';
import { splitZone } from '../../policies/model/address';
import { parseHttpUrl } from '../../adapters/upnp/http-url';
import { familyOf } from '../../policies/model/address';
import { HubOption, resolveHub, ResolvedHub } from './hub-access';
import type { HostAddress } from '../../adapters/observe/host-address';

export interface ClosePortOptions {
  readonly protocol: 'udp' | 'tcp';
  readonly port: number;
  readonly family?: PortFamily;
  readonly address?: string;
  /** IPv4 external port, when no record of it was kept (default: the record's, else `port`). */
  readonly externalPort?: number;
  readonly store?: OpenedPortsStore;
  readonly addresses?: HostAddressSource;
  readonly discover?: (options: DiscoverGatewayOptions) => Promise<DiscoveredGateway>;
  readonly soap?: SoapCaller;
  readonly interfaces?: readonly string[];
  /** How PCP / NAT-PMP records are closed (tests inject a transport). */
  readonly pcp?: Pick<PcpAccess, 'openTransport' | 'giveUpAfterMs'>;
  /**
   * The hub the port was opened through (`'auto'`, a URL, or a `HubAccess`):
   * the need is looked up by asking for it again (the same ask renews and
   * names it), then ended. A need the hub applied is not touched on the router
   * by the agent; one the agent applied is removed from the router first.
   */
  readonly hub?: HubOption;
}

export interface ClosedPort {
  readonly family: 'ipv4' | 'ipv6';
  readonly closed: boolean;
  readonly detail: string;
}

/**
 * Removes a port opened with `homenet open --once` (or by another run of this
 * host): the pinhole by the UniqueID that was recorded — or, with no record,
 * the one the router returns for the same 5-tuple (AddPinhole is idempotent
 * and returns the existing UniqueID) — and the IPv4 mapping by the external
 * port the router gave, after checking that it points at this host. A port
 * opened through PCP is deleted by its recorded nonce (a MAP with lifetime
 * 0 at the same router), one opened through NAT-PMP with a lifetime-0 map;
 * neither needs UPnP discovery.
 *
 * @example
 * ```ts
 * await closePort({ protocol: 'udp', port: 40000, family: 'both' });
 * ```
 */
export async function closePort(options: ClosePortOptions): Promise<ClosedPort[]> {
  const family = options.family ?? 'both';
  const families = family === 'both' ? (['ipv6', 'ipv4'] as const) : [family];
  const addresses = options.addresses ?? { read: readHostAddresses };
  const discover = options.discover ?? discoverGateway;
  const soap = options.soap ?? new SoapClient();
  const hostAddresses = await addresses.read();
  const results: ClosedPort[] = [];
  const hub = options.hub !== undefined ? await resolveHub(options.hub, { hostAddresses: Promise.resolve(hostAddresses), ...(options.interfaces ? { interfaces: options.interfaces } : {}) }) : undefined;
  try {
    for (const f of families) {
      if (options.address && familyOf(options.address) !== f) continue;
      const need = hub ? await hubNeedOf(hub, f, hostAddresses, options) : undefined;
      if (need?.applier === 'hub') {
        results.push(await endHubNeed(hub!, f, need, { family: f, closed: true, detail: `the hub removes need ${need.needId} from the router` }));
        continue;
      }
      if (need) {
        const before = results.length;
        await closeFamily(f);
        const closed = results[before] ?? { family: f, closed: false, detail: 'nothing to close' };
        results.splice(before, 1, await endHubNeed(hub!, f, need, closed));
        continue;
      }
      await closeFamily(f);
    }
  } finally {
    if (!options.soap && soap instanceof SoapClient) soap.close();
  }
  return results;

  async function closeFamily(f: 'ipv4' | 'ipv6'): Promise<void> {
    const records = (await options.store?.list()) ?? [];
    const own = new Set(hostAddresses.map((a) => a.address));
    {
      const viaPcp = records.find(
        (r) =>
          r.family === f &&
          r.protocol === options.protocol &&
          r.internalPort === options.port &&
          (r.via === 'pcp' || r.via === 'natpmp') &&
          (options.address ? r.internalClient === options.address : own.has(r.internalClient)),
      );
      if (viaPcp) {
        try {
          results.push(await closeByPcp(viaPcp, options));
          await options.store?.remove(viaPcp);
        } catch (error) {
          results.push({ family: f, closed: false, detail: (error as Error).message });
        }
        return;
      }
      const gateway = await discover({ family: f, ...(options.interfaces ? { interfaces: options.interfaces } : {}) });
      const gatewayHost = parseHttpUrl(gateway.location).host;
      const client = chooseInternalClient(hostAddresses, { family: f, gateway: gatewayHost, ...(options.address ? { address: options.address } : {}) }).address;
      const key = { family: f, protocol: options.protocol, internalClient: client, internalPort: options.port };
      const record = records.find(
        (r) => r.family === f && r.protocol === options.protocol && r.internalClient === client && r.internalPort === options.port,
      );
      try {
        results.push(f === 'ipv6' ? await closePinhole(gateway, soap, client, options, record?.uniqueId) : await closeMapping(gateway, soap, client, options, record?.externalPort));
        await options.store?.remove(key);
      } catch (error) {
        const fault = routerFaultOf(error);
        results.push({ family: f, closed: false, detail: fault ? `${fault.code} ${fault.name}: ${fault.meaning}` : (error as Error).message });
      }
    }
  }
}

/** The hub's need for this port (by asking again), or undefined when the hub cannot be asked, refuses, or is down (then the router is closed as without a hub). */
async function hubNeedOf(
  hub: ResolvedHub,
  family: 'ipv4' | 'ipv6',
  hostAddresses: readonly HostAddress[],
  options: ClosePortOptions,
): Promise<{ needId: string; applier: 'hub' | 'agent'; client: string } | undefined> {
  const calls = hub.callsFor(family);
  if (!calls) return undefined;
  let client: string;
  try {
    const host = hub.hostOf(family);
    client = chooseInternalClient(hostAddresses, { family, ...(options.address ? { address: options.address } : {}), ...(family === 'ipv4' && host ? { gateway: host } : {}) }).address;
  } catch {
    return undefined;
  }
  try {
    const answer = await calls.ask(
      { protocol: options.protocol, internalPort: options.port, family, ...(family === 'ipv4' && options.externalPort ? { externalPort: options.externalPort } : {}) },
      client,
    );
    if (answer.kind !== 'grant') return undefined;
    return { needId: answer.grant.needId, applier: answer.grant.applier, client };
  } catch (error) {
    hub.log(`${(error as Error).message}; closing ${family} on the router without the hub`);
    return undefined;
  }
}

async function endHubNeed(hub: ResolvedHub, family: 'ipv4' | 'ipv6', need: { needId: string; client: string }, closed: ClosedPort): Promise<ClosedPort> {
  try {
    const ended = await hub.callsFor(family)!.end(need.needId, need.client);
    return { ...closed, detail: `${closed.detail}; hub need ${need.needId} ${ended ? 'ended' : 'was already gone'}` };
  } catch (error) {
    return { family, closed: false, detail: `${closed.detail}; the hub did not end need ${need.needId}: ${(error as Error).message}` };
  }
}

async function closePinhole(gateway: DiscoveredGateway, soap: SoapCaller, client: string, options: ClosePortOptions, recorded?: number): Promise<ClosedPort> {
  const control = pinholeControlOf(gateway, soap);
  if (!control) return { family: 'ipv6', closed: false, detail: 'the gateway has no WANIPv6FirewallControl service' };
  const fw = control(client);
  const uniqueId =
    recorded ??
    (await fw.addPinhole({ remoteHost: '', remotePort: 0, internalClient: client, internalPort: options.port, protocol: options.protocol, leaseTime: 1 }));
  try {
    await fw.deletePinhole(uniqueId);
  } catch (error) {
    const fault = routerFaultOf(error);
    if (fault && (fault.code === 704 || fault.code === 402)) {
      return { family: 'ipv6', closed: true, detail: `pinhole ${uniqueId} was already gone (${fault.code})` };
    }
    throw error;
  }
  return { family: 'ipv6', closed: true, detail: `pinhole ${uniqueId} for [${client}]:${options.port} deleted` };
}

async function closeMapping(gateway: DiscoveredGateway, soap: SoapCaller, client: string, options: ClosePortOptions, recorded?: number): Promise<ClosedPort> {
  const service = gateway.services.wanIpConnection;
  if (!service) return { family: 'ipv4', closed: false, detail: 'the gateway has no WANIPConnection service' };
  const ipc = new WanIpConnectionClient(service, { caller: soap, localAddress: client, ...(gateway.zone ? { zone: gateway.zone } : {}) });
  const externalPort = options.externalPort ?? recorded ?? options.port;
  const key = { remoteHost: '', externalPort, protocol: options.protocol };
  try {
    const entry = await ipc.getSpecificPortMappingEntry(key);
    if (entry.internalClient !== client || entry.internalPort !== options.port) {
      return {
        family: 'ipv4',
        closed: false,
        detail: `external port ${externalPort} maps to ${entry.internalClient}:${entry.internalPort}, not to this host's ${client}:${options.port}; left alone`,
      };
    }
  } catch (error) {
    const fault = routerFaultOf(error);
    if (fault?.code === 714) return { family: 'ipv4', closed: true, detail: `no mapping on external port ${externalPort} (already gone)` };
    throw error;
  }
  await ipc.deletePortMapping(key);
  return { family: 'ipv4', closed: true, detail: `mapping ${externalPort} -> ${client}:${options.port} deleted` };
}

/** Deletes a PCP mapping by its recorded nonce, or a NAT-PMP one with a lifetime-0 map, at the router it was asked of. */
async function closeByPcp(record: OpenedPortRecord, options: ClosePortOptions): Promise<ClosedPort> {
  if (!record.server) throw new Error(`the record of ${record.family} ${record.protocol}/${record.internalPort} names no PCP server; remove it from the state file`);
  const open = options.pcp?.openTransport ?? openUdpPcpTransport;
  const transport = await open({ localAddress: record.internalClient, serverAddress: record.server, announcements: false });
  const giveUp = options.pcp?.giveUpAfterMs !== undefined ? { giveUpAfterMs: options.pcp.giveUpAfterMs } : {};
  const router = splitZone(record.server).address;
  try {
    if (record.via === 'natpmp') {
      await new NatPmpClient({ transport, ...giveUp }).unmap(record.protocol, record.internalPort);
      return { family: record.family, closed: true, detail: `NAT-PMP mapping ${record.externalPort} -> ${record.internalClient}:${record.internalPort} deleted at ${router}` };
    }
    if (!record.nonce || !/^[0-9a-f]{24}$/i.test(record.nonce)) throw new Error(`the record of ${record.family} ${record.protocol}/${record.internalPort} has no valid PCP nonce`);
    const client = new PcpClient({ transport, ...giveUp });
    try {
      await client.release(
        { protocol: record.protocol, internalPort: record.internalPort, ...(record.family === 'ipv4' ? { suggestedExternalPort: record.externalPort } : {}) },
        Buffer.from(record.nonce, 'hex'),
      );
    } finally {
      client.close();
    }
    return { family: record.family, closed: true, detail: `PCP mapping for ${record.family === 'ipv6' ? `[${record.internalClient}]` : record.internalClient}:${record.internalPort} deleted at ${router} (lifetime 0)` };
  } finally {
    await transport.close();
  }
}
