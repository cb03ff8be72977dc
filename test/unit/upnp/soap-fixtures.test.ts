import {
  PinholeProtocol, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_2, SoapCallRequest, SoapCaller, SoapClient, SoapOutput,
  UpnpFault, UpnpInputError, WanIpConnectionClient, WanIpv6FirewallControlClient, buildSoapRequestBody, parseSoapRequest,
  parseSoapResponseBody,
} from '../../../adapters/upnp';
import { SoapCase, listReference, readHttpCapture, soapCases } from '../../support/reference-fixtures';
import { startFixtureRouter } from './soap-fixture-router';

const cases = soapCases();

/** Records calls and answers them from one captured response. */
class CapturedCaller implements SoapCaller {
  readonly calls: SoapCallRequest[] = [];
  constructor(private readonly caseName: string) {}
  async call(req: SoapCallRequest): Promise<SoapOutput> {
    this.calls.push(req);
    const res = readHttpCapture(`${this.caseName}.response.http`);
    const status = Number(res.startLine.split(' ')[1]);
    return parseSoapResponseBody(res.body, { serviceType: req.serviceType, action: req.action, httpStatus: status });
  }
}

const protocolOf = (n: number): PinholeProtocol => (n === 17 ? 'udp' : n === 6 ? 'tcp' : n);
const mappingProtocol = (p: string): 'udp' | 'tcp' => (p === 'UDP' ? 'udp' : 'tcp');

/** Calls the typed client method that produces `action` with `a`'s values. */
function invokeTyped(action: string, a: Record<string, string>, fw: WanIpv6FirewallControlClient, ipc: WanIpConnectionClient): Promise<unknown> {
  const pinhole = () => ({
    remoteHost: a.RemoteHost, remotePort: Number(a.RemotePort), internalClient: a.InternalClient,
    internalPort: Number(a.InternalPort), protocol: protocolOf(Number(a.Protocol)),
  });
  const mapping = () => ({
    remoteHost: a.NewRemoteHost, externalPort: Number(a.NewExternalPort), protocol: mappingProtocol(a.NewProtocol),
    internalPort: Number(a.NewInternalPort), internalClient: a.NewInternalClient, enabled: a.NewEnabled === '1',
    description: a.NewPortMappingDescription, leaseDurationSeconds: Number(a.NewLeaseDuration),
  });
  const key = () => ({ remoteHost: a.NewRemoteHost, externalPort: Number(a.NewExternalPort), protocol: mappingProtocol(a.NewProtocol) });
  const range = () => ({ startPort: Number(a.NewStartPort), endPort: Number(a.NewEndPort), protocol: mappingProtocol(a.NewProtocol), manage: a.NewManage === '1' });
  switch (action) {
    case 'GetFirewallStatus': return fw.getFirewallStatus();
    case 'GetOutboundPinholeTimeout': return fw.getOutboundPinholeTimeout(pinhole());
    case 'AddPinhole': return fw.addPinhole({ ...pinhole(), leaseTimeSeconds: Number(a.LeaseTime) });
    case 'UpdatePinhole': return fw.updatePinhole(Number(a.UniqueID), Number(a.NewLeaseTime));
    case 'DeletePinhole': return fw.deletePinhole(Number(a.UniqueID));
    case 'GetPinholePackets': return fw.getPinholePackets(Number(a.UniqueID));
    case 'CheckPinholeWorking': return fw.checkPinholeWorking(Number(a.UniqueID));
    case 'GetExternalIPAddress': return ipc.getExternalIpAddress();
    case 'GetStatusInfo': return ipc.getStatusInfo();
    case 'AddPortMapping': return ipc.addPortMapping(mapping());
    case 'AddAnyPortMapping': return ipc.addAnyPortMapping(mapping());
    case 'DeletePortMapping': return ipc.deletePortMapping(key());
    case 'DeletePortMappingRange': return ipc.deletePortMappingRange(range());
    case 'GetSpecificPortMappingEntry': return ipc.getSpecificPortMappingEntry(key());
    case 'GetGenericPortMappingEntry': return ipc.getGenericPortMappingEntry(Number(a.NewPortMappingIndex));
    case 'GetListOfPortMappings': return ipc.getListOfPortMappings({ ...range(), numberOfPorts: Number(a.NewNumberOfPorts) });
    default: throw new Error(`no typed method for ${action}`);
  }
}

const entry40006 = {
  remoteHost: '', externalPort: 40006, protocol: 'udp', internalPort: 40006, internalClient: '192.168.77.10', enabled: true, description: 'lab', leaseDurationSeconds: 3600,
};
/** Typed results of the successful cases (and CheckPinholeWorking's 709, which reads as false). */
const RESULTS: Record<string, unknown> = {
  '6fc-GetFirewallStatus': { firewallEnabled: true, inboundPinholeAllowed: true },
  '6fc-AddPinhole-ok': 1,
  '6fc-AddPinhole-same-again': 1,
  '6fc-AddPinhole-remotehost-tcp': 2,
  '6fc-AddPinhole-ok-second-client': 3,
  '6fc-UpdatePinhole-ok': undefined,
  '6fc-CheckPinholeWorking': false,
  '6fc-GetPinholePackets': 0,
  '6fc-DeletePinhole-ok': undefined,
  'ipc-GetExternalIPAddress': '198.51.100.1',
  'ipc-GetStatusInfo': { connectionStatus: 'Connected', lastConnectionError: 'ERROR_NONE', uptimeSeconds: 4 },
  'ipc-AddPortMapping-ok': undefined,
  'ipc-AddPortMapping-lease0': undefined,
  'ipc-AddPortMapping-lease604801': undefined,
  'ipc-AddPortMapping-remotehost': undefined,
  'ipc-AddAnyPortMapping-conflict-alt': 40002,
  'ipc-GetSpecificPortMappingEntry': {
    remoteHost: '', externalPort: 40001, protocol: 'udp', internalPort: 40001, internalClient: '192.168.77.10', enabled: true, description: 'lab', leaseDurationSeconds: 3598,
  },
  'ipc-GetGenericPortMappingEntry-0': entry40006,
  'ipc-GetListOfPortMappings': [
    { ...entry40006 },
    { remoteHost: '', externalPort: 40002, protocol: 'udp', internalPort: 40001, internalClient: '192.168.77.11', enabled: true, description: 'lab2', leaseDurationSeconds: 3599 },
    { remoteHost: '', externalPort: 40001, protocol: 'udp', internalPort: 40001, internalClient: '192.168.77.10', enabled: true, description: 'lab', leaseDurationSeconds: 3598 },
  ],
  'ipc-DeletePortMapping-ok': undefined,
  'ipc-DeletePortMapping-no-such-returns-200': undefined,
  'ipc-DeletePortMappingRange': undefined,
};

/** Standard fault names per service. */
const FAULT_NAMES: Record<string, Record<number, string>> = {
  '6fc': {
    401: 'InvalidAction', 402: 'InvalidArgs', 501: 'ActionFailed', 606: 'ActionNotAuthorized', 705: 'ProtocolNotSupported',
    706: 'InternalPortWildcardingNotAllowed', 707: 'ProtocolWildcardingNotAllowed', 708: 'WildCardNotPermittedInSrcIP', 709: 'NoTrafficReceived',
  },
  ipc: { 606: 'ActionNotAuthorized', 713: 'SpecifiedArrayIndexInvalid', 714: 'NoSuchEntryInArray', 718: 'ConflictInMappingEntry' },
};

/** Requests the typed clients refuse before sending, because the spec forbids them. */
const LOCALLY_REFUSED: Record<string, string> = {
  '6fc-AddPinhole-fault-lease0': 'LeaseTime',
  '6fc-AddPinhole-fault-lease86401': 'LeaseTime',
  '6fc-UpdatePinhole-fault-lease0': 'NewLeaseTime',
};

/** Requests the typed client normalizes (RFC 5952): what it sends instead. */
const NORMALIZED: Record<string, Record<string, string>> = {
  '6fc-AddPinhole-fault-uppercase-client': { InternalClient: '2001:db8:77::10' },
  '6fc-AddPinhole-fault-uncompressed-client': { InternalClient: '2001:db8:77::10' },
};

const serviceOf = (c: SoapCase): string => (c.name.startsWith('6fc-') ? SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 : SERVICE_WAN_IP_CONNECTION_2);

describe('every captured SOAP case of soap/INDEX.txt', () => {
  it('has all 48 cases, and every captured request is listed', () => {
    expect(cases).toHaveLength(48);
    const files = listReference('soap').filter((f) => f.endsWith('.request.http')).map((f) => f.replace('.request.http', ''));
    expect(files.sort()).toEqual(cases.map((c) => c.name).sort());
  });

  describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const cap = readHttpCapture(`${c.name}.request.http`);
    const parsed = parseSoapRequest(cap.headers.get('soapaction') ?? '', cap.body);

    it('parses the captured request', () => {
      expect(parsed.action).toBe(c.action);
      expect(parsed.serviceType).toBe(serviceOf(c));
      expect(cap.headers.get('content-type')).toBe('text/xml; charset="utf-8"');
    });

    it('our envelope encoder reproduces the captured body byte for byte', () => {
      const ours = buildSoapRequestBody(parsed.serviceType, parsed.action, parsed.args);
      expect(ours).toBe(cap.body);
      expect(Buffer.byteLength(ours)).toBe(Number(cap.headers.get('content-length')));
    });

    it('the typed client sends the same action and arguments (or refuses what the spec forbids)', async () => {
      if (c.action === 'FooBar') return; // no typed method for an unknown action; covered by the raw path
      const caller = new CapturedCaller(c.name);
      const fw = new WanIpv6FirewallControlClient({ controlUrl: 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl', serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 }, { caller });
      const ipc = new WanIpConnectionClient({ controlUrl: 'http://192.168.77.1:5000/ctl/IPConn', serviceType: SERVICE_WAN_IP_CONNECTION_2 }, { caller });
      const args = Object.fromEntries(parsed.args);
      const result = invokeTyped(c.action, args, fw, ipc);
      const refusedArg = LOCALLY_REFUSED[c.name];
      if (refusedArg) {
        await expect(result).rejects.toBeInstanceOf(UpnpInputError);
        await expect(result).rejects.toMatchObject({ argument: refusedArg });
        expect(caller.calls).toHaveLength(0);
        return;
      }
      await result.catch(() => undefined);
      expect(caller.calls).toHaveLength(1);
      const sent = caller.calls[0];
      expect(sent.action).toBe(c.action);
      expect(sent.serviceType).toBe(serviceOf(c));
      const expectedArgs = parsed.args.map(([k, v]) => [k, NORMALIZED[c.name]?.[k] ?? v]);
      expect((sent.args ?? []).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)])).toEqual(expectedArgs);
      if (c.action === 'AddPinhole') expect(sent.localAddress).toBe(NORMALIZED[c.name]?.InternalClient ?? (args.InternalClient || undefined));
    });

    it('reads the captured response into the right result or typed fault', async () => {
      const res = readHttpCapture(`${c.name}.response.http`);
      expect(Number(res.startLine.split(' ')[1])).toBe(c.httpStatus);
      const ctx = { serviceType: serviceOf(c), action: c.action, httpStatus: c.httpStatus };
      if (c.faultCode === undefined) {
        expect(() => parseSoapResponseBody(res.body, ctx)).not.toThrow();
      } else {
        let fault: unknown;
        try {
          parseSoapResponseBody(res.body, ctx);
        } catch (e) {
          fault = e;
        }
        expect(fault).toBeInstanceOf(UpnpFault);
        const f = fault as UpnpFault;
        expect(f.code).toBe(c.faultCode);
        expect(f.description).toBe(c.faultDescription);
        expect(f.faultName).toBe(FAULT_NAMES[c.name.slice(0, c.name.indexOf('-'))]?.[c.faultCode]);
        expect(f.action).toBe(c.action);
        expect(f.serviceType).toBe(serviceOf(c));
        expect(f.httpStatus).toBe(500);
        expect(f.meaning.length).toBeGreaterThan(20);
      }
      if (c.action === 'FooBar' || LOCALLY_REFUSED[c.name]) return;
      const caller = new CapturedCaller(c.name);
      const fw = new WanIpv6FirewallControlClient({ controlUrl: 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl', serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 }, { caller });
      const ipc = new WanIpConnectionClient({ controlUrl: 'http://192.168.77.1:5000/ctl/IPConn', serviceType: SERVICE_WAN_IP_CONNECTION_2 }, { caller });
      const typed = invokeTyped(c.action, Object.fromEntries(parsed.args), fw, ipc);
      if (c.name in RESULTS) {
        await expect(typed).resolves.toEqual(RESULTS[c.name]);
      } else {
        await expect(typed).rejects.toMatchObject({ code: c.faultCode, kind: 'fault' });
      }
    });
  });

  it('covers every success case with an expected typed result', () => {
    const successes = cases.filter((c) => c.faultCode === undefined).map((c) => c.name);
    expect(successes.filter((n) => !(n in RESULTS))).toEqual([]);
  });
});

describe('a 708 means different things in different services', () => {
  it('decodes per service', () => {
    const body = readHttpCapture('6fc-AddPinhole-fault-no-client.response.http').body;
    const as6fc = (() => { try { parseSoapResponseBody(body, { serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, action: 'AddPinhole', httpStatus: 500 }); } catch (e) { return e as UpnpFault; } return undefined; })();
    const asIpc = (() => { try { parseSoapResponseBody(body, { serviceType: SERVICE_WAN_IP_CONNECTION_2, action: 'AddPortMapping', httpStatus: 500 }); } catch (e) { return e as UpnpFault; } return undefined; })();
    expect(as6fc?.faultName).toBe('WildCardNotPermittedInSrcIP');
    expect(asIpc?.faultName).toBe('InvalidLayer2Address');
    expect(new UpnpFault({ code: 725, description: '', action: 'AddPortMapping', serviceType: SERVICE_WAN_IP_CONNECTION_2 }).faultName).toBe('OnlyPermanentLeasesSupported');
    expect(new UpnpFault({ code: 701, description: '', action: 'AddPinhole', serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 }).faultName).toBe('PinholeSpaceExhausted');
    expect(new UpnpFault({ code: 728, description: '', action: 'AddPortMapping', serviceType: SERVICE_WAN_IP_CONNECTION_2 }).faultName).toBe('NoPortMapsAvailable');
    expect(new UpnpFault({ code: 729, description: '', action: 'AddPortMapping', serviceType: SERVICE_WAN_IP_CONNECTION_2 }).faultName).toBe('ConflictWithOtherMechanisms');
    expect(new UpnpFault({ code: 799, description: 'x', action: 'AddPortMapping', serviceType: SERVICE_WAN_IP_CONNECTION_2 }).faultName).toBe('Unknown');
  });
});

describe('the whole stack against the captured bytes over loopback TCP', () => {
  it('replays every INDEX case through SoapClient and the typed clients', async () => {
    const router = await startFixtureRouter('127.0.0.1');
    const soap = new SoapClient({ timeoutMs: 2000 });
    try {
      let replayed = 0;
      for (const c of cases) {
        if (LOCALLY_REFUSED[c.name] || NORMALIZED[c.name]) continue;
        replayed += 1;
        const cap = readHttpCapture(`${c.name}.request.http`);
        const parsed = parseSoapRequest(cap.headers.get('soapaction') ?? '', cap.body);
        const controlUrl = `http://127.0.0.1:${router.port}${cap.startLine.split(' ')[1]}`;
        router.next = c.name;
        const fw = new WanIpv6FirewallControlClient({ controlUrl, serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 }, { caller: soap, localAddress: '127.0.0.1' });
        const ipc = new WanIpConnectionClient({ controlUrl, serviceType: SERVICE_WAN_IP_CONNECTION_2 }, { caller: soap, localAddress: '127.0.0.1' });
        const outcome = c.action === 'FooBar'
          ? soap.call({ controlUrl, serviceType: parsed.serviceType, action: 'FooBar', localAddress: '127.0.0.1' })
          : invokeTyped(c.action, Object.fromEntries(parsed.args), fw, ipc);
        if (c.faultCode === undefined || c.name === '6fc-CheckPinholeWorking') {
          await expect(outcome).resolves.toEqual(RESULTS[c.name]);
        } else {
          await expect(outcome).rejects.toMatchObject({ kind: 'fault', code: c.faultCode, action: c.action });
        }
        const got = router.received[router.received.length - 1];
        expect(got?.caseName).toBe(c.name);
        expect(got?.headers.get('soapaction')).toBe(cap.headers.get('soapaction'));
        expect(got?.headers.get('content-type')).toBe('text/xml; charset="utf-8"');
        expect(got?.headers.get('content-length')).toBe(cap.headers.get('content-length'));
        expect(got?.remoteAddress).toBe('127.0.0.1');
      }
      expect(replayed).toBe(43);
    } finally {
      soap.close();
      await router.close();
    }
  });
});
