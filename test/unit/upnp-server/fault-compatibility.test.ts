// Every case of the captured miniupnpd 2.3.1 session (soap/INDEX.txt), replayed in order
// against what the gateway daemon runs: startGatewayDaemon's IGD front (igd-front.ts, the real
// HTTP server) and its needs path (journal -> engine -> firewall applier -> the UPnP answer
// table), with an in-memory journal and firewall; comparing HTTP status and UPnP errorCode
// with the captured response.
//
// Adjustments (bytes are sent exactly as captured otherwise):
// - The request's control path is rewritten from miniupnpd's (/ctl/IP6FCtl, /ctl/IPConn) to
//   ours, and the Host header names our loopback server: our server ignores Host, the path
//   is ours by design (we generate our own description).
// - The requester (the TCP source the router saw) cannot be 2001:db8:77::10 on loopback: the
//   test connects from 127.0.x.y and the server's `peerAddress` maps that source back to the
//   captured client (see LOOPBACK_PEERS). Who sent each case is inferred from the capture:
//   the console (…::10 / .10) unless listed in SENDER below.
// The daemon starts in the captured router's state: the two lab clients known as consoles;
// state then builds up request by request as it did on the router.
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import { readReference, soapCases } from '../../support/reference-fixtures';
import { DaemonFront, startDaemonFront } from './daemon-front';
import { CONSOLE_A, CONSOLE_B, exchange, parseRawResponse, sourceFor } from './server-support';

/** Cases not sent by the console's own address. */
const SENDER: Record<string, string> = {
  '6fc-AddPinhole-ok-second-client': CONSOLE_B.v6,
  '6fc-AddPinhole-fault-via-ipv4-http': CONSOLE_A.v4,
  'ipc-AddPortMapping-fault-taken-by-other': CONSOLE_B.v4,
  'ipc-AddAnyPortMapping-conflict-alt': CONSOLE_B.v4,
};

describe('fault compatibility with the captured miniupnpd 2.3.1 (against the gateway daemon)', () => {
  let front: DaemonFront;
  let ours: Record<string, string> = {};

  beforeAll(async () => {
    front = await startDaemonFront();
    ours = {
      '/ctl/IP6FCtl': controlPathOf(front.igd, 'wanIpv6FirewallControl'),
      '/ctl/IPConn': controlPathOf(front.igd, 'wanIpConnection'),
    };
  });
  afterAll(async () => {
    await front.stop();
  });

  const cases = soapCases();
  it('covers every captured case', () => {
    expect(cases.length).toBeGreaterThanOrEqual(48);
  });

  for (const c of cases) {
    it(`${c.name}: HTTP ${c.httpStatus}${c.faultCode ? ` UPnP ${c.faultCode}` : ''}`, async () => {
      const captured = readReference('soap', `${c.name}.request.http`).toString('utf8');
      const [head, ...rest] = captured.split('\r\n\r\n');
      const adjusted = `${head
        .replace(/^POST (\S+) /, (_m, p: string) => `POST ${ours[p] ?? p} `)
        .replace(/\r\nHost: [^\r]*/i, `\r\nHost: 127.0.0.1:${front.port}`)}\r\n\r\n${rest.join('\r\n\r\n')}`;
      const client = SENDER[c.name] ?? (c.name.startsWith('ipc-') ? CONSOLE_A.v4 : CONSOLE_A.v6);
      const raw = await exchange(front.port, adjusted, { localAddress: sourceFor(client) });
      const res = parseRawResponse(raw);
      const expected = parseRawResponse(readReference('soap', `${c.name}.response.http`).toString('utf8'));
      expect({ status: res.status, errorCode: res.errorCode }).toEqual({ status: expected.status, errorCode: expected.errorCode });
      expect(res.status).toBe(c.httpStatus);
      // The errorDescription starts with miniupnpd's text for the code; ours may go on with the engine's reason.
      // (Compared without spaces or case: miniupnpd spells 501 both 'Action Failed' and 'ActionFailed'.)
      const description = (body: string) => (/<errorDescription>([^<]*)<\/errorDescription>/.exec(body)?.[1] ?? '').replace(/\s+/g, '').toLowerCase();
      if (expected.errorCode !== undefined) expect(description(res.body).startsWith(description(expected.body))).toBe(true);
      if (c.name === '6fc-AddPinhole-ok' || c.name === '6fc-AddPinhole-same-again') expect(res.body).toContain('<UniqueID>1</UniqueID>');
      if (c.name === '6fc-AddPinhole-ok-second-client') expect(res.body).toContain('<UniqueID>3</UniqueID>');
      if (c.name === 'ipc-AddAnyPortMapping-conflict-alt') expect(res.body).toContain('<NewReservedPort>40002</NewReservedPort>');
      if (c.name === 'ipc-GetExternalIPAddress') expect(res.body).toContain('<NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>');
    });
  }
});
