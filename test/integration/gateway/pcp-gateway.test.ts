/**
 * Issue 10, the gateway side of PCP / NAT-PMP in the lab with real packets: the lab's router
 * runs `homenet serve --mode gateway` (nftables enforcing), serving PCP and NAT-PMP on UDP
 * 5351 of its LAN addresses through the same needs path as UPnP. Clients: Debian's `natpmpc`
 * and our own PCP client (`plugin/lab/pcp-agent.ts`) in the LAN hosts' namespaces.
 */
import { readFile } from 'node:fs/promises';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { LabPcpClient, startLabPcpClient } from '../../../plugin/lab/pcp-lab-client';
import { stopLabProcess } from '../../../plugin/lab/lab-process';
import { runCommand } from '../../../adapters/system/run-command';
import { adminGet, kernelEntries, probe } from './gateway-lab-support';

jest.setTimeout(120_000);

describeInLab('homenet gateway serves PCP and NAT-PMP (issue 10)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;
  const clients: LabPcpClient[] = [];
  const client = async (role: 'console' | 'plug' | 'hub', family: 'ipv4' | 'ipv6') => {
    const c = await startLabPcpClient(lab!.plan, role, family);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    lab = await startTestLab('gp');
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await stopTestLab(lab);
  });

  it('natpmpc from the console maps a UDP port that carries a WAN packet; lifetime 0 drops it', async () => {
    const ns = lab!.plan.hosts.console.namespace;
    const gw = lab!.plan.lan.routerIpv4;
    expect((await probe(lab!, 'console', 'ipv4', 40300)).delivered).toBe(false);
    const add = await runCommand('ip', ['netns', 'exec', ns, 'natpmpc', '-g', gw, '-a', '40300', '40300', 'udp', '120'], { allowFailure: true, timeoutMs: 20_000 });
    expect(add.stdout).toContain(`Public IP address : ${lab!.plan.wan.routerIpv4}`);
    expect(add.stdout).toMatch(/Mapped public port 40300 protocol UDP to local port 40300 (liftime|lifetime) 120/);
    expect((await probe(lab!, 'console', 'ipv4', 40300)).delivered).toBe(true);
    await runCommand('ip', ['netns', 'exec', ns, 'natpmpc', '-g', gw, '-a', '40300', '40300', 'udp', '0'], { allowFailure: true, timeoutMs: 20_000 });
    expect((await probe(lab!, 'console', 'ipv4', 40300)).delivered).toBe(false);
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 40300)).toEqual([]);
  });

  it('our PCP client maps an IPv6 pinhole and an IPv4 mapping: delivered; deleted, dropped', async () => {
    const v6 = await client('console', 'ipv6');
    const v4 = await client('console', 'ipv4');
    expect((await probe(lab!, 'console', 'ipv6', 40310)).delivered).toBe(false);
    expect(await v6.command({ op: 'map', protocol: 'udp', internalPort: 40310, lifetime: 120 })).toMatchObject({ ok: true, state: { externalPort: 40310, lifetime: 120 } });
    expect((await probe(lab!, 'console', 'ipv6', 40310)).delivered).toBe(true);
    expect(await v4.command({ op: 'map', protocol: 'udp', internalPort: 40311, lifetime: 120 })).toMatchObject({ ok: true, state: { externalAddress: lab!.plan.wan.routerIpv4, externalPort: 40311 } });
    expect((await probe(lab!, 'console', 'ipv4', 40311)).delivered).toBe(true);
    expect(await v6.command({ op: 'delete', protocol: 'udp', internalPort: 40310 })).toMatchObject({ ok: true });
    expect(await v4.command({ op: 'delete', protocol: 'udp', internalPort: 40311 })).toMatchObject({ ok: true });
    expect((await probe(lab!, 'console', 'ipv6', 40310)).delivered).toBe(false);
    expect((await probe(lab!, 'console', 'ipv4', 40311)).delivered).toBe(false);
  });

  it("the Matter plug's PCP MAP is NOT_AUTHORIZED, with the reason in the daemon log and the admin API's decisions", async () => {
    const plug = await client('plug', 'ipv6');
    const refused = await plug.command({ op: 'map', protocol: 'udp', internalPort: 5540, lifetime: 120 });
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatchObject({ resultCode: 2, resultName: 'NOT_AUTHORIZED' });
    const decisions = await adminGet<{ deviceId: string; verdict: string; needId: string; reasons: { code: string; detail?: string }[] }[]>(lab!, router, '/api/decisions?limit=50');
    const mine = decisions.filter((d) => d.needId.includes(':5540:') && d.verdict === 'denied');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[mine.length - 1].reasons[0]).toMatchObject({ code: 'matter-device-isolation' });
    const log = await readFile(router.paths.log, 'utf8');
    const line = log.split('\n').find((l) => l.includes('pcp map refused') && l.includes('5540'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ result: 2, code: 'matter-device-isolation', rule: 'matter-isolation' });
  });

  it('THIRD_PARTY from the hub (a configured controller) maps for the console: delivered; for the plug: NOT_AUTHORIZED; from the console: NOT_AUTHORIZED', async () => {
    const hub = await client('hub', 'ipv6');
    const console6 = lab!.plan.hosts.console.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
    const plug6 = lab!.plan.hosts.plug.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
    expect(await hub.command({ op: 'map', protocol: 'udp', internalPort: 40320, lifetime: 120, internalAddress: console6 })).toMatchObject({ ok: true });
    expect((await probe(lab!, 'console', 'ipv6', 40320)).delivered).toBe(true);
    expect(await hub.command({ op: 'delete', protocol: 'udp', internalPort: 40320 })).toMatchObject({ ok: true });
    expect((await probe(lab!, 'console', 'ipv6', 40320)).delivered).toBe(false);
    const forPlug = await hub.command({ op: 'map', protocol: 'udp', internalPort: 5541, lifetime: 120, internalAddress: plug6 });
    expect(forPlug.error).toMatchObject({ resultCode: 2 });
    const consoleClient = await client('console', 'ipv6');
    const notController = await consoleClient.command({ op: 'map', protocol: 'udp', internalPort: 40321, lifetime: 120, internalAddress: plug6 });
    expect(notController.error).toMatchObject({ resultCode: 2 });
  });

  it('a daemon restart keeps the epoch going (no false state loss); the journal deleted resets it; ANNOUNCE sent on start', async () => {
    const v6 = await client('console', 'ipv6');
    const v4 = await client('console', 'ipv4');
    const before = (await v6.command({ op: 'announce' })) as unknown as { ok: boolean; epoch: number };
    expect(before.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const restartedAt = Date.now();
    router = await restartHomenetRouter(lab!.plan, router.process);
    // The ANNOUNCE of the new start reaches the console's PCP client (224.0.0.1:5350).
    const announced = await v4.waitForEvent((e) => e.event === 'announcement' && e.wallMs >= restartedAt, 5000);
    expect(announced.epoch).toBeGreaterThanOrEqual(before.epoch + 1);
    const after = (await v6.command({ op: 'announce' })) as unknown as { epoch: number };
    expect(after.epoch).toBeGreaterThanOrEqual(before.epoch + 1);
    const log = await readFile(router.paths.log, 'utf8');
    expect(log).toMatch(/pcp announce sent/);
    // State truly lost: the journal gone.
    await new Promise((r) => setTimeout(r, 2000));
    await stopLabProcess(router.process, 5000, 'SIGKILL');
    await runCommand('rm', ['-f', router.paths.journal, `${router.paths.journal}-wal`, `${router.paths.journal}-shm`]);
    router = await restartHomenetRouter(lab!.plan, undefined);
    const reset = (await v6.command({ op: 'announce' })) as unknown as { epoch: number };
    expect(reset.epoch).toBeLessThan(after.epoch);
  });
});
