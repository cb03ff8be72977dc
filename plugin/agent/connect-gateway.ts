// Imported from their own files, not the adapter's index: the agent must not
// load the gateway-side server and the policy engine (a game waits for its port).
import type { DiscoveredGateway } from '../../adapters/upnp/gateway';
import type { SoapCaller } from '../../adapters/upnp/soap-client';
import { UpnpFault } from '../../adapters/upnp/upnp-fault';
import { WanIpConnectionClient } from '../../adapters/upnp/wan-ip-connection';
import { WanIpv6FirewallControlClient } from '../../adapters/upnp/wan-ipv6-firewall-control';
import { PinholeControl, PortMappingControl, RouterFault } from './gateway-control';

/**
 * Reads a router fault (code, standard name, meaning) out of an adapter error. The meaning is the
 * router's own errorDescription when it says more than the standard text (a gateway naming its
 * policy reason), and our guess from the code only when it does not.
 */
export function routerFaultOf(error: unknown): RouterFault | undefined {
  if (error instanceof UpnpFault) return { code: error.code, name: error.faultName, meaning: error.explanation };
  return undefined;
}

/**
 * The gateway's WANIPv6FirewallControl:1, every call sent from `localAddress`
 * (the InternalClient), or undefined when the gateway has none.
 */
export function pinholeControlOf(gateway: DiscoveredGateway, caller: SoapCaller): ((localAddress: string) => PinholeControl) | undefined {
  const service = gateway.services.wanIpv6FirewallControl;
  if (!service) return undefined;
  return (localAddress) => {
    const client = new WanIpv6FirewallControlClient(service, { caller, localAddress, zone: gateway.zone });
    return {
      getFirewallStatus: () => client.getFirewallStatus(),
      addPinhole: (a) =>
        client.addPinhole({
          remoteHost: a.remoteHost,
          remotePort: a.remotePort,
          internalClient: a.internalClient,
          internalPort: a.internalPort,
          protocol: a.protocol,
          leaseTimeSeconds: a.leaseTime,
        }),
      updatePinhole: (id, lease) => client.updatePinhole(id, lease),
      deletePinhole: (id) => client.deletePinhole(id),
    };
  };
}

/**
 * The gateway's WANIPConnection (1 or 2), every call sent from `localAddress`;
 * AddAnyPortMapping only where the service is version 2.
 */
export function portMappingControlOf(gateway: DiscoveredGateway, caller: SoapCaller): ((localAddress: string) => PortMappingControl) | undefined {
  const service = gateway.services.wanIpConnection;
  if (!service) return undefined;
  const version2 = /:2$/.test(service.serviceType);
  return (localAddress) => {
    const client = new WanIpConnectionClient(service, { caller, localAddress, zone: gateway.zone });
    const spec = (a: Parameters<PortMappingControl['addPortMapping']>[0]) => ({
      remoteHost: a.remoteHost,
      externalPort: a.externalPort,
      protocol: a.protocol,
      internalPort: a.internalPort,
      internalClient: a.internalClient,
      enabled: a.enabled,
      description: a.description,
      leaseDurationSeconds: a.leaseDuration,
    });
    return {
      getExternalIPAddress: () => client.getExternalIpAddress(),
      addPortMapping: (a) => client.addPortMapping(spec(a)),
      ...(version2 ? { addAnyPortMapping: (a: Parameters<PortMappingControl['addPortMapping']>[0]) => client.addAnyPortMapping(spec(a)) } : {}),
      deletePortMapping: (k) => client.deletePortMapping(k),
    };
  };
}
