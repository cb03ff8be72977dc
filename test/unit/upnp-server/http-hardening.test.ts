// Hostile input against the IGD front's HTTP server: every case gets a clear status or SOAP
// fault, nothing crashes, and a well-formed request still works afterwards.
import { igdConnectionBudget } from '../../../adapters/upnp/server/igd-http-server';
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import net from 'node:net';
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 } from '../../../adapters/upnp';
import { accept, createIgdHttpServer, defineIgdDevice, IgdHttpServer, refuseEverything } from '../../../adapters/upnp/server';
import { openSlowSockets, percentile } from '../../support/slow-sockets';
import { exchange, parseRawResponse, soapRequest } from './server-support';

const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
const FW = controlPathOf(igd, 'wanIpv6FirewallControl');
const decider = { ...refuseEverything(501), firewallStatus: () => accept({ firewallEnabled: true, inboundPinholeAllowed: false }) };
const status = soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'GetFirewallStatus', []);

function post(body: string, headers: Record<string, string> = {}): string {
  const h = { Host: 'x', 'Content-Type': 'text/xml', SOAPAction: `"${SERVICE_WAN_IPV6_FIREWALL_CONTROL_1}#AddPinhole"`,
    'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...headers };
  return `POST ${FW} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

describe('IGD HTTP server hardening', () => {
  let server: IgdHttpServer;
  let port: number;
  const errors: Error[] = [];
  const send = async (bytes: string | Buffer, timeoutMs?: number) => parseRawResponse(await exchange(port, bytes, timeoutMs ? { timeoutMs } : {}));

  beforeAll(async () => {
    server = createIgdHttpServer({
      igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], onError: (e) => errors.push(e),
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 100, keepAliveTimeoutMs: 300, maxConnections: 8 },
    });
    await server.start();
    port = server.addresses()[0].port;
  });
  afterAll(async () => server.close());
  afterEach(async () => {
    // The server must still answer a well-formed request after each hostile one.
    const ok = await send(status);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<InboundPinholeAllowed>0</InboundPinholeAllowed>');
  });

  it('serves the description and SCPDs on GET and HEAD only', async () => {
    const get = await send(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('text/xml; charset="utf-8"');
    const head = await send(`HEAD ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await send(`POST ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)).status).toBe(405);
  });

  it('answers 405 to GET on a control URL and 404 elsewhere', async () => {
    const r = await send(`GET ${FW} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect((await send('GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(404);
    expect((await send('SUBSCRIBE /evt/IPConn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(404);
  });

  it('refuses a body over the cap with 413, declared or chunked', async () => {
    expect((await send(post('x'.repeat(17 * 1024)))).status).toBe(413);
    const chunk = 'y'.repeat(4096);
    const chunked = `POST ${FW} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: "a#b"\r\nTransfer-Encoding: chunked\r\n\r\n${
      `${(4096).toString(16)}\r\n${chunk}\r\n`.repeat(5)}0\r\n\r\n`;
    expect((await send(chunked)).status).toBe(413);
  });

  it('refuses oversized headers with 431 and survives a hundred header lines', async () => {
    expect((await send(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`)).status).toBe(431);
    const many = Array.from({ length: 100 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    expect((await send(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\n${many}\r\nConnection: close\r\n\r\n`)).status).toBe(200);
  });

  it('answers random bytes with 400 or a closed connection', async () => {
    let seed = 7;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
    for (let i = 0; i < 5; i++) {
      const bytes = Buffer.from(Array.from({ length: 2000 }, rnd));
      const r = await send(bytes, 2000);
      expect([0, 400]).toContain(r.status);
    }
  });

  it('answers truncated XML and DOCTYPE/entity bodies with a 402 fault, and a missing SOAPAction with 400', async () => {
    const truncated = await send(post('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinhole'));
    expect([truncated.status, truncated.errorCode]).toEqual([500, 402]);
    const laughs = await send(post('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinhole xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"><RemoteHost>&b;</RemoteHost></u:AddPinhole></s:Body></s:Envelope>'));
    expect([laughs.status, laughs.errorCode]).toEqual([500, 402]);
    expect((await send(post('<a/>', { SOAPAction: '' }))).status).toBe(400);
  });

  it('refuses a wrong content type with 415 and an action of another service with 401', async () => {
    expect((await send(post('{}', { 'Content-Type': 'application/json' }))).status).toBe(415);
    const wrong = soapRequest(FW, 'urn:schemas-upnp-org:service:WANIPConnection:2', 'AddPortMapping', []);
    expect(parseRawResponse(await exchange(port, wrong)).errorCode).toBe(401);
  });

  it('answers a pinhole request while inbound pinholes are disallowed with 703', async () => {
    const add = soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'AddPinhole', [
      ['RemoteHost', ''], ['RemotePort', 0], ['InternalClient', '2001:db8::1'], ['InternalPort', 40000], ['Protocol', 17], ['LeaseTime', 60]]);
    expect(parseRawResponse(await exchange(port, add)).errorCode).toBe(703);
  });

  it('cuts off a slowloris client that never finishes its headers', async () => {
    const started = Date.now();
    const closed = await new Promise<{ data: string }>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let data = '';
      const drip = setInterval(() => { if (!s.destroyed) s.write('X-Slow: 1\r\n'); }, 50);
      s.on('connect', () => s.write(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\n`));
      s.on('data', (c: Buffer) => { data += c.toString(); });
      s.on('close', () => { clearInterval(drip); resolve({ data }); });
      s.on('error', () => undefined);
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(closed.data === '' || closed.data.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const started = Date.now();
    const answers = await new Promise<number>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let n = 0;
      s.on('connect', () => s.write(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\n\r\n`));
      s.on('data', (c: Buffer) => { n += (c.toString().match(/HTTP\/1\.1 200/g) ?? []).length; });
      s.on('close', () => resolve(n));
      s.on('error', () => undefined);
    });
    expect(answers).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('closes a socket that sends nothing within the head deadline', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses connections beyond the cap with 503', async () => {
    const idle: net.Socket[] = [];
    for (let i = 0; i < 8; i++) {
      idle.push(await new Promise<net.Socket>((resolve) => { const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s)); s.on('error', () => undefined); }));
    }
    const extra = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let data = '';
      s.on('connect', () => s.write(`GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      s.on('data', (c: Buffer) => { data += c.toString(); });
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
    });
    expect(extra).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    idle.forEach((s) => s.destroy());
    await new Promise((r) => setTimeout(r, 100));
  });
});

describe('IGD HTTP server: per-source connection budget (LAN hosts played by 127.0.0.x)', () => {
  const servers: IgdHttpServer[] = [];
  const start = async (limits: Record<string, number>): Promise<number> => {
    const server = createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], trustedSources: () => false, limits });
    await server.start();
    servers.push(server);
    return server.addresses()[0].port;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('500 slow sockets from one host: it keeps 16, the rest are refused, and another host is answered fast', async () => {
    const port = await start({ headersTimeoutMs: 8000, requestTimeoutMs: 10000 });
    const attack = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.2', count: 500, head: `GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\n`, dripMs: 500 });
    try {
      const deadline = Date.now() + 5000;
      while (attack.closedByServer() < 484 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(attack.closedByServer()).toBe(484);
      // The first refusal of each second is explained (503), the rest of the flood reset.
      const explained = attack.received().filter((t) => t.startsWith('HTTP/1.1 503')).length;
      expect(explained).toBeGreaterThanOrEqual(1);
      expect(explained).toBeLessThanOrEqual(5);
      const latencies: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t0 = performance.now();
        const r = parseRawResponse(await exchange(port, status, { localAddress: '127.0.0.3' }));
        latencies.push(performance.now() - t0);
        expect(r.status).toBe(200);
      }
      expect(percentile(latencies, 99)).toBeLessThanOrEqual(50);
      // The attacker's 16 are still held (slow, not yet past the 8 s head deadline).
      expect(attack.open()).toBe(16);
    } finally {
      attack.stop();
    }
  });

  it('two servers sharing one budget (a front listening on two addresses) hold the per-source cap across both', async () => {
    const budget = igdConnectionBudget({ maxConnections: 8, maxConnectionsPerSource: 3 }, () => false);
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const server = createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], budget, limits: { headersTimeoutMs: 8000, requestTimeoutMs: 10000 } });
      await server.start();
      servers.push(server);
      ports.push(server.addresses()[0].port);
    }
    const first = await openSlowSockets({ host: '127.0.0.1', port: ports[0], localAddress: '127.0.0.2', count: 2, head: 'GET / HTTP/1.1\r\n' });
    const second = await openSlowSockets({ host: '127.0.0.1', port: ports[1], localAddress: '127.0.0.2', count: 2, head: 'GET / HTTP/1.1\r\n' });
    try {
      const deadline = Date.now() + 2000;
      while (first.closedByServer() + second.closedByServer() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // 4 asked, 3 allowed to one source across both servers: exactly one refused, on the second server.
      expect([first.closedByServer(), second.closedByServer()]).toEqual([0, 1]);
      expect(first.open() + second.open()).toBe(3);
    } finally {
      first.stop();
      second.stop();
    }
  });

  it('when full, the newest socket of the heaviest host makes room for a host holding none', async () => {
    const port = await start({ maxConnections: 4, maxConnectionsPerSource: 3, headersTimeoutMs: 8000, requestTimeoutMs: 10000 });
    const heavy = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.2', count: 3, head: 'GET / HTTP/1.1\r\n' });
    const light = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.4', count: 1, head: 'GET / HTTP/1.1\r\n' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect([heavy.closedByServer(), light.closedByServer()]).toEqual([0, 0]);
      const r = parseRawResponse(await exchange(port, status, { localAddress: '127.0.0.3' }));
      expect(r.status).toBe(200);
      expect([heavy.closedByServer(), light.closedByServer()]).toEqual([1, 0]);
      // A host already holding as many as everyone else is refused rather than evicting a peer.
      const again = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.4', count: 1 });
      await new Promise((r2) => setTimeout(r2, 50));
      expect(again.closedByServer()).toBe(0);
      again.stop();
    } finally {
      heavy.stop();
      light.stop();
    }
  });

  it('rejects a per-source cap above the total', () => {
    expect(() => createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], limits: { maxConnections: 8, maxConnectionsPerSource: 9 } })).toThrow(/maxConnectionsPerSource/);
  });
});
