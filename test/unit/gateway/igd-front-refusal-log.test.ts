// Through the real IGD front (HTTP on loopback): a host refused 200 times writes one full line per
// listener and, at the end of the window (here: on stop), one line with the count (issue 9, item 5).
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 } from '../../../adapters/upnp';
import { DaemonFront, startDaemonFront } from '../upnp-server/daemon-front';
import { CONSOLE_A, PLUG, exchange, parseRawResponse, soapRequest, sourceFor } from '../upnp-server/server-support';

describe('refused SOAP calls in the log', () => {
  let front: DaemonFront | undefined;
  afterEach(async () => {
    await front?.stop();
    front = undefined;
  });

  it('one line per client and reason, then the count; another client is still logged in full', async () => {
    front = await startDaemonFront({ withPlug: true });
    const f = front;
    const FW = controlPathOf(f.igd, 'wanIpv6FirewallControl');
    const pinhole = (client: string, port: number) => soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'AddPinhole', [
      ['RemoteHost', ''], ['RemotePort', 0], ['InternalClient', client], ['InternalPort', port], ['Protocol', 17], ['LeaseTime', 600],
    ]);
    const send = async (bytes: string, from: string) => parseRawResponse(await exchange(f.port, bytes, { localAddress: sourceFor(from) }));
    for (let i = 0; i < 200; i++) expect((await send(pinhole(PLUG.v6, 40000 + i), PLUG.v6)).errorCode).toBe(606);
    expect((await send(pinhole(CONSOLE_A.v6, 3074), CONSOLE_A.v6)).status).toBe(200); // the other host is served
    expect((await send(pinhole(PLUG.v6, 41000), CONSOLE_A.v6)).errorCode).toBe(606); // and its own refusal is logged in full

    const refusedLines = () => f.world.lines.filter((l) => String(l.msg).startsWith('control refused'));
    expect(refusedLines().map((l) => [l.msg, l.requester])).toEqual([
      ['control refused', PLUG.v6],
      ['control refused', CONSOLE_A.v6],
    ]);
    await f.stop(); // the window ends with the front
    expect(refusedLines().slice(2)).toEqual([expect.objectContaining({ msg: 'control refused (repeated)', client: PLUG.v6, count: 199 })]);
    expect(f.world.lines.length).toBeLessThan(60); // 202 refusals, a few dozen lines in all (start, stop, decisions)
  });
});
