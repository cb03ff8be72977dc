import {
  SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SoapClient, UpnpAbortError, UpnpFault, UpnpInputError, UpnpNetworkError, UpnpProtocolError, UpnpTimeoutError,
  WanIpv6FirewallControlClient, fetchDeviceDescription, fetchServiceDescription, httpFetch, Ipv6SsdpTransport,
} from '../../../adapters/upnp';
import { LAB_TABLE } from './fake-interfaces';
import { readHttpCapture, readReference } from '../../support/reference-fixtures';
import { Loopback, startHttp, startRaw } from '../../support/loopback-server';

const FW = SERVICE_WAN_IPV6_FIREWALL_CONTROL_1;
const statusOk = readHttpCapture('6fc-GetFirewallStatus.response.http').body;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('hardened HTTP fetch (loopback)', () => {
  let server: Loopback;
  afterEach(async () => server?.close());

  it('fetches a description and parses it', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => res.end(readReference('rootDesc.xml')));
    const d = await fetchDeviceDescription({ url: server.url('/rootDesc.xml'), host: '127.0.0.1', port: server.port, family: 'ipv4', acceptedBecause: 'sender' }, { timeoutMs: 1000 });
    expect(d.services.wanIpv6FirewallControl?.controlUrl).toBe(server.url('/ctl/IP6FCtl'));
  });

  it('refuses a billion-laughs description (DOCTYPE/entities) before parsing', async () => {
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
      + Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')
      + ']><root><device><deviceType>&lol9;</deviceType></device></root>';
    server = await startHttp('127.0.0.1', (_req, res) => res.end(laughs));
    const err = await rejection(fetchDeviceDescription({ url: server.url('/d.xml'), host: '127.0.0.1', port: server.port, family: 'ipv4', acceptedBecause: 'sender' }, { timeoutMs: 1000 }));
    expect(err).toBeInstanceOf(UpnpProtocolError);
    expect((err as Error).message).toMatch(/DOCTYPE\/ENTITY declarations are refused/);
  });

  it('stops a 10 MB body at the cap without buffering it', async () => {
    let written = 0;
    let serverSawClose = false;
    server = await startHttp('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' }); // no Content-Length: the cap must act while reading
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (written < 10 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => { serverSawClose = true; });
      pump();
    });
    const started = Date.now();
    const err = await rejection(httpFetch(server.url('/big'), { maxBodyBytes: 256 * 1024, timeoutMs: 5000 }));
    expect(err).toBeInstanceOf(UpnpProtocolError);
    expect((err as Error).message).toMatch(/exceeds the 262144-byte cap; stopped reading/);
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(serverSawClose).toBe(true);
    expect(written).toBeLessThan(10 * 1024 * 1024);
  });

  it('refuses a declared Content-Length above the cap at once', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(50 * 1024 * 1024) });
      res.write('x');
    });
    const err = await rejection(httpFetch(server.url('/'), { maxBodyBytes: 1024, timeoutMs: 2000 }));
    expect((err as Error).message).toMatch(/52428800 bytes .* exceeds the 1024-byte cap/);
  });

  it('never follows a redirect', async () => {
    server = await startHttp('127.0.0.1', (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, { Location: '/rootDesc.xml' });
        res.end();
      } else res.end(readReference('rootDesc.xml'));
    });
    const err = await rejection(httpFetch(server.url('/moved'), { timeoutMs: 1000 }));
    expect(err).toBeInstanceOf(UpnpProtocolError);
    expect(err).toMatchObject({ httpStatus: 302 });
    expect((err as Error).message).toMatch(/redirect .* refused/);
    expect(server.requests.map((r) => r.url)).toEqual(['/moved']);
  });

  it('refuses a non-2xx status and non-http URLs', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => { res.statusCode = 404; res.end('no'); });
    expect(await rejection(httpFetch(server.url('/x'), { timeoutMs: 1000 }))).toMatchObject({ kind: 'protocol', httpStatus: 404 });
    expect(await rejection(httpFetch('https://127.0.0.1/x'))).toBeInstanceOf(UpnpProtocolError);
    expect(await rejection(httpFetch('file:///etc/passwd'))).toBeInstanceOf(UpnpProtocolError);
  });

  it('times out on a server that accepts and never answers, without hanging', async () => {
    const raw = await startRaw('127.0.0.1', () => undefined);
    try {
      const started = Date.now();
      const err = await rejection(httpFetch(`http://127.0.0.1:${raw.port}/`, { timeoutMs: 200 }));
      expect(err).toBeInstanceOf(UpnpTimeoutError);
      expect(err).toMatchObject({ phase: 'response', timeoutMs: 200 });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await raw.close();
    }
  });

  it('reports a refused connection as a network error', async () => {
    const raw = await startRaw('127.0.0.1', () => undefined);
    const port = raw.port;
    await raw.close();
    expect(await rejection(httpFetch(`http://127.0.0.1:${port}/`, { timeoutMs: 1000 }))).toMatchObject({ kind: 'network', systemCode: 'ECONNREFUSED' });
  });

  it('reports a truncated body and a garbage status line as protocol errors', async () => {
    const truncated = await startRaw('127.0.0.1', (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<s:Envelope'));
    const garbage = await startRaw('127.0.0.1', (s) => s.end('\u0000\u0001garbage\r\n\r\n'));
    try {
      expect(await rejection(httpFetch(`http://127.0.0.1:${truncated.port}/`, { timeoutMs: 1000 }))).toBeInstanceOf(UpnpProtocolError);
      const g = await rejection(httpFetch(`http://127.0.0.1:${garbage.port}/`, { timeoutMs: 1000 }));
      expect(g).toBeInstanceOf(UpnpProtocolError);
      expect((g as Error).message).toMatch(/Malformed HTTP answer/);
    } finally {
      await truncated.close();
      await garbage.close();
    }
  });

  it('honours an AbortSignal', async () => {
    const raw = await startRaw('127.0.0.1', () => undefined);
    try {
      const ac = new AbortController();
      const p = httpFetch(`http://127.0.0.1:${raw.port}/`, { timeoutMs: 5000, signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      expect(await rejection(p)).toBeInstanceOf(UpnpAbortError);
    } finally {
      await raw.close();
    }
  });
});

describe('SOAP client (loopback)', () => {
  let server: Loopback;
  afterEach(async () => server?.close());

  it('binds the connection to the given local address (127.0.0.2, not the default 127.0.0.1)', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => res.end(statusOk));
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      const out = await soap.call({ controlUrl: server.url('/ctl/IP6FCtl'), serviceType: FW, action: 'GetFirewallStatus', localAddress: '127.0.0.2' });
      expect(out.FirewallEnabled).toBe('1');
      await soap.call({ controlUrl: server.url('/ctl/IP6FCtl'), serviceType: FW, action: 'GetFirewallStatus', localAddress: '127.0.0.1' });
      expect(server.requests.map((r) => r.remoteAddress)).toEqual(['127.0.0.2', '127.0.0.1']);
      expect(soap.agentCount).toBe(2);
    } finally {
      soap.close();
    }
  });

  it('binds over IPv6 too (::1), writing the address in RFC 5952 form', async () => {
    server = await startHttp('::1', (_req, res) => res.end(statusOk));
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      await soap.call({ controlUrl: server.url('/ctl/IP6FCtl'), serviceType: FW, action: 'GetFirewallStatus', localAddress: '0:0:0:0:0:0:0:1' });
      expect(server.requests[0]?.remoteAddress).toBe('::1');
      expect(server.requests[0]?.headers.host).toBe(`[::1]:${server.port}`);
    } finally {
      soap.close();
    }
  });

  it('sends AddPinhole from InternalClient by default', async () => {
    server = await startHttp('::1', (_req, res) => res.end(readHttpCapture('6fc-AddPinhole-ok.response.http').body));
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      const fw = new WanIpv6FirewallControlClient({ controlUrl: server.url('/ctl/IP6FCtl'), serviceType: FW }, { caller: soap });
      await expect(fw.addPinhole({ internalClient: '0::1', internalPort: 40000, protocol: 'udp', leaseTimeSeconds: 3600 })).resolves.toBe(1);
      expect(server.requests[0]?.remoteAddress).toBe('::1');
      expect(server.requests[0]?.body).toContain('<InternalClient>::1</InternalClient>');
      expect(server.requests[0]?.headers.soapaction).toBe(`"${FW}#AddPinhole"`);
      expect(server.requests[0]?.headers['content-type']).toBe('text/xml; charset="utf-8"');
    } finally {
      soap.close();
    }
  });

  it('keeps the connection alive across calls (one TCP connection for three calls)', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => res.end(statusOk));
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      for (let i = 0; i < 3; i += 1) {
        await soap.call({ controlUrl: server.url('/ctl'), serviceType: FW, action: 'GetFirewallStatus', localAddress: '127.0.0.1' });
      }
      expect(server.requests).toHaveLength(3);
      expect(server.connections).toBe(1);
    } finally {
      soap.close();
    }
  });

  it('turns garbage, non-SOAP XML, empty and oversized answers into UpnpProtocolError', async () => {
    const bodies: Record<string, string> = {
      '/garbage': '\u0000\u0007 this is not xml <<<',
      '/html': '<html><body>Login</body></html>',
      '/empty': '',
      '/wrong': '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:OtherResponse/></s:Body></s:Envelope>',
      '/big': `<s:Envelope><s:Body><u:GetFirewallStatusResponse><FirewallEnabled>${'1'.repeat(200 * 1024)}</FirewallEnabled></u:GetFirewallStatusResponse></s:Body></s:Envelope>`,
      '/faultless500': '<s:Envelope><s:Body><s:Fault><faultcode>s:Server</faultcode></s:Fault></s:Body></s:Envelope>',
      '/doctype': '<!DOCTYPE x [<!ENTITY a "b">]><s:Envelope><s:Body/></s:Envelope>',
    };
    server = await startHttp('127.0.0.1', (req, res) => {
      if (req.url === '/faultless500') res.statusCode = 500;
      res.end(bodies[req.url ?? ''] ?? '');
    });
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      for (const path of Object.keys(bodies)) {
        const err = await rejection(soap.call({ controlUrl: server.url(path), serviceType: FW, action: 'GetFirewallStatus' }));
        expect([path, err instanceof UpnpProtocolError]).toEqual([path, true]);
      }
    } finally {
      soap.close();
    }
  });

  it('reads a fault through HTTP 500 and a typed output through 200', async () => {
    server = await startHttp('127.0.0.1', (req, res) => {
      if (req.url === '/fault') {
        res.statusCode = 500;
        res.end(readHttpCapture('6fc-AddPinhole-fault-other-client.response.http').body);
      } else res.end(statusOk);
    });
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      const err = await rejection(soap.call({ controlUrl: server.url('/fault'), serviceType: FW, action: 'AddPinhole' }));
      expect(err).toBeInstanceOf(UpnpFault);
      expect(err).toMatchObject({ code: 606, faultName: 'ActionNotAuthorized', action: 'AddPinhole', serviceType: FW });
      const fw = new WanIpv6FirewallControlClient({ controlUrl: server.url('/ok'), serviceType: FW }, { caller: soap });
      await expect(fw.getFirewallStatus()).resolves.toEqual({ firewallEnabled: true, inboundPinholeAllowed: true });
    } finally {
      soap.close();
    }
  });

  it('times out on a router that never answers, and refuses a non-IP local address', async () => {
    const raw = await startRaw('127.0.0.1', () => undefined);
    const soap = new SoapClient({ timeoutMs: 150 });
    try {
      const started = Date.now();
      expect(await rejection(soap.call({ controlUrl: `http://127.0.0.1:${raw.port}/ctl`, serviceType: FW, action: 'GetFirewallStatus' }))).toBeInstanceOf(UpnpTimeoutError);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(await rejection(soap.call({ controlUrl: `http://127.0.0.1:${raw.port}/ctl`, serviceType: FW, action: 'X', localAddress: 'eth0' }))).toBeInstanceOf(UpnpInputError);
    } finally {
      soap.close();
      await raw.close();
    }
  });

  it('reports a local address this host does not have as a network error', async () => {
    server = await startHttp('127.0.0.1', (_req, res) => res.end(statusOk));
    const soap = new SoapClient({ timeoutMs: 1000 });
    try {
      const err = await rejection(soap.call({ controlUrl: server.url('/ctl'), serviceType: FW, action: 'GetFirewallStatus', localAddress: '2001:db8:ffff::99' }));
      expect(err).toBeInstanceOf(UpnpNetworkError);
    } finally {
      soap.close();
    }
  });
});

describe('service description fetch and the IPv6 search gate', () => {
  it('fetches an SCPD over loopback and lists its actions', async () => {
    const server = await startHttp('127.0.0.1', (_req, res) => res.end(readReference('scpd', 'WANIP6FC.xml')));
    try {
      const scpd = await fetchServiceDescription({
        serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, serviceId: 'x', controlUrl: server.url('/ctl'), scpdUrl: server.url('/WANIP6FC.xml'), deviceType: 'x', devicePath: [],
      }, { timeoutMs: 1000 });
      expect(scpd.offers('CheckPinholeWorking')).toBe(true);
      expect(scpd.offers('AddPortMapping')).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('refuses to start an IPv6 search on a host with only ULA and link-local addresses', async () => {
    const t = new Ipv6SsdpTransport({ interfaceTable: () => ({ ula0: LAB_TABLE.ula0 }) });
    await expect(t.start()).rejects.toThrow(/No interface with a non-ULA global IPv6 address/);
  });
});
