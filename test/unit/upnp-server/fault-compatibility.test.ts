// Every case of the captured miniupnpd 2.3.1 session (soap/INDEX.txt), replayed in order
// against our IGD front with the engine-backed decider, comparing HTTP status and UPnP
// errorCode with the captured response.
//
// Adjustments (bytes are sent exactly as captured otherwise):
// - The request's control path is rewritten from miniupnpd's (/ctl/IP6FCtl, /ctl/IPConn) to
//   ours, and the Host header names our loopback server: our server ignores Host, the path
//   is ours by design (we generate our own description).
// - The requester (the TCP source the router saw) cannot be 2001:db8:77::10 on loopback: the
//   test connects from 127.0.x.y and the server's `peerAddress` maps that source back to the
//   captured client (see LOOPBACK_PEERS). Who sent each case is inferred from the capture:
//   the console (…::10 / .10) unless listed in SENDER below.
// The engine starts in the captured router's state: one gateway, the two lab clients as
// consoles; state then builds up request by request as it did on the router.
import { createEngineDecider, createIgdHttpServer, defineIgdDevice, IgdHttpServer } from '../../../adapters/upnp';
import { readReference, soapCases } from '../../support/reference-fixtures';
import { CONSOLE_A, CONSOLE_B, exchange, labEngine, mapLoopbackPeer, parseRawResponse, sourceFor } from './server-support';

/** Cases not sent by the console's own address. */
const SENDER: Record<string, string> = {
  '6fc-AddPinhole-ok-second-client': CONSOLE_B.v6,
  '6fc-AddPinhole-fault-via-ipv4-http': CONSOLE_A.v4,
  'ipc-AddPortMapping-fault-taken-by-other': CONSOLE_B.v4,
  'ipc-AddAnyPortMapping-conflict-alt': CONSOLE_B.v4,
};

/** Cases whose answer cannot match, and why (none so far). */
const CANNOT_MATCH: Record<string, string> = {};

describe('fault compatibility with the captured miniupnpd 2.3.1', () => {
  const lab = labEngine(false);
  const decider = createEngineDecider({
    engine: lab.engine, scheduler: lab.scheduler, deviceIdOf: lab.deviceIdOf, externalIpv4: () => '198.51.100.1',
  });
  const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
  let server: IgdHttpServer;
  const ours: Record<string, string> = {
    '/ctl/IP6FCtl': igd.services.find((s) => s.definition.kind === 'wanIpv6FirewallControl')!.controlPath,
    '/ctl/IPConn': igd.services.find((s) => s.definition.kind === 'wanIpConnection')!.controlPath,
  };

  beforeAll(async () => {
    server = createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], peerAddress: mapLoopbackPeer });
    await server.start();
  });
  afterAll(async () => {
    await server.close();
    decider.dispose();
    lab.engine.dispose();
  });

  const cases = soapCases();
  it('covers every captured case', () => {
    expect(cases.length).toBeGreaterThanOrEqual(48);
  });

  for (const c of cases) {
    const test = CANNOT_MATCH[c.name] ? it.skip : it;
    test(`${c.name}: HTTP ${c.httpStatus}${c.faultCode ? ` UPnP ${c.faultCode}` : ''}`, async () => {
      const captured = readReference('soap', `${c.name}.request.http`).toString('utf8');
      const [head, ...rest] = captured.split('\r\n\r\n');
      const adjusted = `${head
        .replace(/^POST (\S+) /, (_m, p: string) => `POST ${ours[p] ?? p} `)
        .replace(/\r\nHost: [^\r]*/i, `\r\nHost: 127.0.0.1:${server.addresses()[0].port}`)}\r\n\r\n${rest.join('\r\n\r\n')}`;
      const client = SENDER[c.name] ?? (c.name.startsWith('ipc-') ? CONSOLE_A.v4 : CONSOLE_A.v6);
      const raw = await exchange(server.addresses()[0].port, adjusted, { localAddress: sourceFor(client) });
      const res = parseRawResponse(raw);
      const expected = parseRawResponse(readReference('soap', `${c.name}.response.http`).toString('utf8'));
      expect({ status: res.status, errorCode: res.errorCode }).toEqual({ status: expected.status, errorCode: expected.errorCode });
      expect(res.status).toBe(c.httpStatus);
      if (c.name === '6fc-AddPinhole-ok' || c.name === '6fc-AddPinhole-same-again') expect(res.body).toContain('<UniqueID>1</UniqueID>');
      if (c.name === '6fc-AddPinhole-ok-second-client') expect(res.body).toContain('<UniqueID>3</UniqueID>');
      if (c.name === 'ipc-AddAnyPortMapping-conflict-alt') expect(res.body).toContain('<NewReservedPort>40002</NewReservedPort>');
      if (c.name === 'ipc-GetExternalIPAddress') expect(res.body).toContain('<NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>');
    });
  }
});
