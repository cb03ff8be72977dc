/**
 * The 48 captured miniupnpd 2.3.1 cases (test/fixtures/miniupnpd-2.3.1/soap/INDEX.txt),
 * replayed in order against `homenet serve --mode gateway` running in the lab's router
 * namespace — its real IGD front, needs path, journal (SQLite) and nftables table — sent
 * from the very addresses the capture came from (the lab's consoles are 2001:db8:77::10/.10
 * and ::11/.11), comparing HTTP status and UPnP errorCode with miniupnpd's, and checking the
 * kernel holds exactly what was granted.
 */
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { LabLanRole } from '../../../plugin/lab/lab-plan';
import { useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { defineIgdDevice } from '../../../adapters/upnp/server';
import { runCommand } from '../../../adapters/system/run-command';
import { readReference, soapCases } from '../../support/reference-fixtures';
import { parseRawResponse } from '../../unit/upnp-server/server-support';
import { kernelEntries } from './gateway-lab-support';

jest.setTimeout(180_000);

/** Cases not sent by the console's own address (as in the unit variant). */
const SENDER: Record<string, { role: LabLanRole; address: string }> = {
  '6fc-AddPinhole-ok-second-client': { role: 'console2', address: '2001:db8:77::11' },
  '6fc-AddPinhole-fault-via-ipv4-http': { role: 'console', address: '192.168.77.10' },
  'ipc-AddPortMapping-fault-taken-by-other': { role: 'console2', address: '192.168.77.11' },
  'ipc-AddAnyPortMapping-conflict-alt': { role: 'console2', address: '192.168.77.11' },
};

/**
 * Sends raw bytes from `localAddress` inside a LAN host's namespace and returns everything the server answered
 * (written, not half-closed: node's HTTP server drops a half-closed connection before a slow answer, as real clients never do).
 */
async function exchangeIn(lab: LabHandle, role: LabLanRole, localAddress: string, host: string, port: number, bytes: string): Promise<string> {
  const script = `const net=require('net');const c=[];let i='';process.stdin.on('data',d=>i+=d).on('end',()=>{const s=net.connect({host:${JSON.stringify(host)},port:${port},localAddress:${JSON.stringify(localAddress)}});` +
    `const t=setTimeout(()=>{process.stderr.write('no answer in 20 s');s.destroy();},20000);` +
    `s.on('connect',()=>s.write(i));s.on('data',d=>c.push(d));s.on('close',()=>{clearTimeout(t);process.stdout.write(Buffer.concat(c));});s.on('error',e=>{process.stderr.write(String(e));process.exit(1);});});`;
  const started = Date.now();
  const { stdout, stderr } = await runCommand('ip', ['netns', 'exec', lab.plan.hosts[role].namespace, process.execPath, '-e', script], { input: bytes, timeoutMs: 30_000 });
  if (stdout === '') throw new Error(`no answer from ${host}:${port} to ${localAddress} after ${Date.now() - started} ms: ${stderr}`);
  return stdout;
}

describeInLab('fault compatibility with the captured miniupnpd 2.3.1, against the gateway in the lab router (nftables)', () => {
  let lab: LabHandle | undefined;
  const igd = defineIgdDevice({ uuid: '00000000-0000-4000-a000-000000000000' });
  const ours: Record<string, string> = {
    '/ctl/IP6FCtl': controlPathOf(igd, 'wanIpv6FirewallControl'),
    '/ctl/IPConn': controlPathOf(igd, 'wanIpConnection'),
  };

  beforeAll(async () => {
    lab = await startTestLab('fc');
    await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await stopTestLab(lab);
  });

  const cases = soapCases();
  it('covers every captured case', () => {
    expect(cases.length).toBeGreaterThanOrEqual(48);
  });

  for (const c of cases) {
    it(`${c.name}: HTTP ${c.httpStatus}${c.faultCode ? ` UPnP ${c.faultCode}` : ''}`, async () => {
      const plan = lab!.plan;
      const sender = SENDER[c.name] ?? (c.name.startsWith('ipc-') ? { role: 'console' as const, address: '192.168.77.10' } : { role: 'console' as const, address: '2001:db8:77::10' });
      const server = sender.address.includes(':') ? plan.lan.routerIpv6 : plan.lan.routerIpv4;
      const captured = readReference('soap', `${c.name}.request.http`).toString('utf8');
      const [head, ...rest] = captured.split('\r\n\r\n');
      const adjusted = `${(head)
        .replace(/^POST (\S+) /, (_m, p: string) => `POST ${ours[p] ?? p} `)
        .replace(/\r\nHost: [^\r]*/i, `\r\nHost: ${server.includes(':') ? `[${server}]` : server}:${plan.upnpHttpPort}`)}\r\n\r\n${rest.join('\r\n\r\n')}`;
      const res = parseRawResponse(await exchangeIn(lab!, sender.role, sender.address, server, plan.upnpHttpPort, adjusted));
      const expected = parseRawResponse(readReference('soap', `${c.name}.response.http`).toString('utf8'));
      expect({ status: res.status, errorCode: res.errorCode }).toEqual({ status: expected.status, errorCode: expected.errorCode });
      if (c.name === '6fc-AddPinhole-ok' || c.name === '6fc-AddPinhole-same-again') expect(res.body).toContain('<UniqueID>1</UniqueID>');
      if (c.name === '6fc-AddPinhole-ok-second-client') expect(res.body).toContain('<UniqueID>3</UniqueID>');
      if (c.name === 'ipc-AddAnyPortMapping-conflict-alt') expect(res.body).toContain('<NewReservedPort>40002</NewReservedPort>');
    });
  }

  it('the kernel holds exactly the pinholes and mappings left granted, and none for refused requests', async () => {
    const entries = await kernelEntries(lab!);
    // Whatever is left is the consoles' own, never another client's address.
    for (const e of entries) expect(['2001:db8:77::10', '2001:db8:77::11', '192.168.77.10', '192.168.77.11']).toContain(e.internalClient);
    expect(entries.some((e) => e.internalPort === 443 || e.internalPort === 80)).toBe(false);
  });
});
