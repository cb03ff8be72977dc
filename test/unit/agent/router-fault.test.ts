// A router's fault as the agent shows it: the router's own errorDescription when it says more
// than the standard text for the code, our guess at the code's meaning otherwise.
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_2 } from '../../../adapters/upnp/upnp-urns';
import { describeFault, saysMoreThanStandard, UpnpFault } from '../../../adapters/upnp/upnp-fault';
import { routerFaultOf } from '../../../plugin/agent/connect-gateway';

const FC = SERVICE_WAN_IPV6_FIREWALL_CONTROL_1;
const IPC = SERVICE_WAN_IP_CONNECTION_2;

describe('router faults on the agent side', () => {
  it.each([
    ['Action not authorized', FC, 606, false],
    ['ActionNotAuthorized', FC, 606, false],
    ['  action NOT authorized ', FC, 606, false],
    ['', FC, 606, false],
    ['Action Failed', FC, 501, false],
    ['Invalid Args', FC, 402, false],
    ['InternalPortWilcardingNotAllowed', FC, 706, false],
    ['NoPacketSent', FC, 709, false],
    ['ConflictInMappingEntry', IPC, 718, false],
    ['UPnP Error', IPC, 718, false],
    ['Action not authorized: matter-device-isolation — plug is matter (mdns:_matter._tcp)', FC, 606, true],
    ['ConflictInMappingEntry: external-port-unavailable — external port 3074 is not available', IPC, 718, true],
    ['Port 80 is reserved by the administrator', IPC, 606, true],
  ] as const)('%j for %s %i says more: %s', (description, service, code, more) => {
    expect(saysMoreThanStandard(description, service, code)).toBe(more);
  });

  it("shows the router's description when it says more, else the guessed meaning", () => {
    const said = 'Action not authorized: matter-device-isolation — matter-plug is matter (mdns:_matter._tcp)';
    const explained = new UpnpFault({ code: 606, description: said, action: 'AddPinhole', serviceType: FC });
    expect(explained.routerExplained).toBe(true);
    expect(explained.explanation).toBe(`The router says: ${said}`);
    expect(explained.message).toContain(said);
    expect(routerFaultOf(explained)).toEqual({ code: 606, name: 'ActionNotAuthorized', meaning: `The router says: ${said}` });

    const plain = new UpnpFault({ code: 606, description: 'Action not authorized', action: 'AddPinhole', serviceType: FC });
    expect(plain.routerExplained).toBe(false);
    expect(plain.explanation).toBe(describeFault(FC, 606).meaning);
    expect(routerFaultOf(plain)?.meaning).toMatch(/^The router refused: only the device that receives the traffic may ask/);
    expect(routerFaultOf(new Error('not a fault'))).toBeUndefined();
  });
});
