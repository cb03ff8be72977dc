/**
 * Issue 5 acceptance in the lab, with real packets: the lab's router runs
 * `homenet serve --mode gateway` (its nftables table enforcing), and the
 * unmodified `upnpc` (miniupnpc 2.2.4) is the client.
 */
import { describeInLab, homenetIn, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { stopLabProcess } from '../../../plugin/lab/lab-process';
import { runCommand } from '../../../adapters/system/run-command';
import { adminCommand, adminGet, kernelEntries, probe, temporaryAddress, upnpc } from './gateway-lab-support';

jest.setTimeout(120_000);

describeInLab('homenet gateway in the lab router (issue 5)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;

  beforeAll(async () => {
    lab = await startTestLab('gw');
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await stopTestLab(lab);
  });

  it('upnpc discovers the gateway over IPv4 and IPv6 (SSDP), and lists its mappings', async () => {
    const v4 = await upnpc(lab!, 'console', ['-l']);
    expect(v4.stdout).toContain(`desc: http://${lab!.plan.lan.routerIpv4}:${lab!.plan.upnpHttpPort}/igd/desc.xml`);
    expect(v4.stdout).toContain(`ExternalIPAddress = ${lab!.plan.wan.routerIpv4}`);
    expect(v4.stdout).toContain('GetGenericPortMappingEntry() returned 713');
    const v6 = await upnpc(lab!, 'console', ['-6', '-l']);
    expect(v6.stdout).toContain(`desc: http://[${lab!.plan.lan.routerIpv6}]:${lab!.plan.upnpHttpPort}/igd/desc.xml`);
  });

  it('an IPv4 mapping added with upnpc carries a WAN packet; deleted, the packet is dropped', async () => {
    const console4 = lab!.plan.hosts.console.interfaces[0].ipv4[0].address;
    expect((await probe(lab!, 'console', 'ipv4', 40100)).delivered).toBe(false);
    const add = await upnpc(lab!, 'console', ['-a', console4, '40100', '40100', 'UDP', '300']);
    expect(add.stdout).toContain(`external ${lab!.plan.wan.routerIpv4}:40100 UDP is redirected to internal ${console4}:40100`);
    const list = await upnpc(lab!, 'console', ['-l']);
    expect(list.stdout).toMatch(new RegExp(`UDP 40100->${console4.replace(/\./g, '\\.')}:40100`));
    expect((await probe(lab!, 'console', 'ipv4', 40100)).delivered).toBe(true);
    const del = await upnpc(lab!, 'console', ['-d', '40100', 'UDP']);
    expect(del.stdout).toContain('UPNP_DeletePortMapping() returned : 0');
    expect((await probe(lab!, 'console', 'ipv4', 40100)).delivered).toBe(false);
    expect((await kernelEntries(lab!)).filter((e) => e.externalPort === 40100)).toEqual([]);
  });

  it('an IPv6 pinhole added with upnpc carries a WAN packet; deleted, the packet is dropped', async () => {
    const temporary = await temporaryAddress(lab!, 'console');
    expect((await probe(lab!, 'console', 'ipv6', 41100, temporary)).delivered).toBe(false);
    const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '41100', 'UDP', '300']);
    const id = /Pinhole ID = (\d+)/.exec(add.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await probe(lab!, 'console', 'ipv6', 41100, temporary)).delivered).toBe(true);
    // Only the pinhole's own port and address: the stable address and another port stay closed.
    expect((await probe(lab!, 'console', 'ipv6', 41101, temporary)).delivered).toBe(false);
    const del = await upnpc(lab!, 'console', ['-6', '-D', id!]);
    expect(del.stdout).toContain('UPNP_DeletePinhole() returned : 0');
    expect((await probe(lab!, 'console', 'ipv6', 41100, temporary)).delivered).toBe(false);
  });

  it('a pinhole stops carrying packets when its lease runs out, even with the daemon killed', async () => {
    const temporary = await temporaryAddress(lab!, 'console');
    const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '41200', 'UDP', '4']);
    expect(add.stdout).toMatch(/Pinhole ID = \d+/);
    const addedAt = Date.now();
    expect((await probe(lab!, 'console', 'ipv6', 41200, temporary)).delivered).toBe(true);
    await stopLabProcess(router.process, 1000, 'SIGKILL');
    const wait = 4500 - (Date.now() - addedAt);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    expect((await probe(lab!, 'console', 'ipv6', 41200, temporary)).delivered).toBe(false);
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 41200)).toEqual([]);
    router = await restartHomenetRouter(lab!.plan, router.process);
    expect(((await adminGet<unknown[]>(lab!, router, '/api/needs')) as { internalPort: number }[]).filter((n) => n.internalPort === 41200)).toEqual([]);
  });

  it("a Matter device's own pinhole (upnpc in the plug) and an admin call for its address are refused, naming the device", async () => {
    const plugTemporary = await temporaryAddress(lab!, 'plug');
    const own = await upnpc(lab!, 'plug', ['-6', '-A', '', '0', plugTemporary, '5540', 'UDP', '300']);
    expect(own.stdout).toContain('failed with code 606');
    const plugStable = lab!.plan.hosts.plug.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
    const byAdmin = await adminCommand(lab!, router, 'open_port', { internal_client: plugStable, internal_port: 5540, protocol: 'udp' });
    expect(byAdmin).toMatchObject({ error_code: 'policy_denied' });
    expect(byAdmin.details).toContain('matter-isolation/matter-device-isolation (device plug)');
    const decisions = await adminGet<{ needId: string; verdict: string; reasons: { rule: string; conflictsWith?: { id: string } }[] }[]>(lab!, router, '/api/decisions?limit=200');
    const upnpDenial = decisions.find((d) => d.needId.includes(plugTemporary));
    expect(upnpDenial).toMatchObject({ verdict: 'denied', reasons: [expect.objectContaining({ rule: 'matter-isolation', conflictsWith: { kind: 'device', id: 'plug' } })] });
    expect((await probe(lab!, 'plug', 'ipv6', 5540, plugStable)).delivered).toBe(false);
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 5540)).toEqual([]);
  });

  it("the plug's own `homenet open` for a high port, from its own address, is denied with the gateway's reason: Matter isolation, naming the device", async () => {
    const opened = await homenetIn(lab!, 'plug', ['open', '--protocol', 'udp', '--port', '40420', '--family', 'ipv6', '--once']);
    expect(opened.code).toBe(3);
    // The router's own errorDescription, not the guess about ports below 1024 or someone else's address.
    expect(opened.stdout).toMatch(/ipv6: denied \(606 ActionNotAuthorized\) — The router says: Action not authorized: matter-device-isolation — plug is matter \([^)]*\); this gateway keeps Matter and IoT devices unreachable from the Internet/);
    expect(opened.stdout).not.toContain('port of 1024 or more');
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 40420)).toEqual([]);
  });

  it('two consoles asking for the same IPv4 external port get the engine outcome, visible in the API', async () => {
    const c1 = lab!.plan.hosts.console.interfaces[0].ipv4[0].address;
    const c2 = lab!.plan.hosts.console2.interfaces[0].ipv4[0].address;
    const first = await upnpc(lab!, 'console', ['-a', c1, '3074', '3074', 'UDP', '300']);
    expect(first.stdout).toContain(`is redirected to internal ${c1}:3074`);
    const second = await upnpc(lab!, 'console2', ['-a', c2, '3074', '3074', 'UDP', '300']);
    expect(second.stdout).toContain('failed with code 718');
    const grants = await adminGet<{ internalClient: string; externalPort?: number }[]>(lab!, router, '/api/grants');
    expect(grants.filter((g) => g.externalPort === 3074).map((g) => g.internalClient)).toEqual([c1]);
    const decisions = await adminGet<{ needId: string; verdict: string; reasons: { code: string; conflictsWith?: { id: string } }[] }[]>(lab!, router, '/api/decisions?limit=200');
    const second2 = decisions.filter((d) => d.needId === `upnp4:udp:3074:*:${c2}`);
    // One decision: the engine's exact-external-port rule (AddPortMapping takes no other port), naming the holder.
    expect(second2.map((d) => d.verdict)).toEqual(['denied']);
    expect(second2[0].reasons.map((r) => r.code)).toEqual(['external-port-unavailable', 'external-port-in-use']);
    expect(second2[0].reasons[1]).toMatchObject({ code: 'external-port-in-use', conflictsWith: { kind: 'need', id: `upnp4:udp:3074:*:${c1}` } });
    // The packet reaches the console that holds the port, never the other.
    expect((await probe(lab!, 'console', 'ipv4', 3074)).delivered).toBe(true);
    expect((await probe(lab!, 'console2', 'ipv4', 3074)).delivered).toBe(false);
    await upnpc(lab!, 'console', ['-d', '3074', 'UDP']);
  });

  it('SIGTERM stops the daemon cleanly: SSDP byebye sent, "stopped" logged, entries left to their own timeouts', async () => {
    const temporary = await temporaryAddress(lab!, 'console');
    await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '41300', 'UDP', '300']);
    await stopLabProcess(router.process, 5000, 'SIGTERM');
    const { stdout } = await runCommand('tail', ['-n', '8', router.paths.log]);
    expect(stdout).toContain('"msg":"stopped"');
    expect(Number(/"msg":"igd front stopped","byebye":(\d+)/.exec(stdout)?.[1])).toBeGreaterThan(0);
    expect((await kernelEntries(lab!)).some((e) => e.internalPort === 41300)).toBe(true);
    expect((await probe(lab!, 'console', 'ipv6', 41300, temporary)).delivered).toBe(true);
    router = await restartHomenetRouter(lab!.plan, router.process);
    const needs = await adminGet<{ internalPort: number; verdict: string }[]>(lab!, router, '/api/needs');
    expect(needs.filter((n) => n.internalPort === 41300).map((n) => n.verdict)).toEqual(['granted']);
  });
});
