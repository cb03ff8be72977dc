/**
 * Issue 4's "through the engine, end to end in the lab", in gateway mode:
 * the lab router runs `homenet serve --mode gateway` with LAN observation on
 * (`devices.observe`: passive Matter mDNS watcher, neighbour table,
 * IPv6-mostly detector, see `plugin/gateway/lan-observation.ts`) and **no
 * configured devices**: the Matter plug and lock and the IPv6-only console
 * are learned from the LAN. Real matter.js devices, unmodified `upnpc`, the
 * admin API, real WAN packets.
 *
 * One lab (`--matter --profile ipv6-mostly --router homenet`) for every test,
 * in order; the measured numbers are printed at the end.
 */
import { readFileSync } from 'node:fs';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle, labExec, labMatterDevice } from '../../../plugin/lab/lab';
import { LabLanRole } from '../../../plugin/lab/lab-plan';
import { labRenumber } from '../../../plugin/lab/lab-renumber';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { adminCommand, adminGet, kernelEntries, probe, temporaryAddress, upnpc } from './gateway-lab-support';

jest.setTimeout(240_000);

interface ApiDevice {
  id: string;
  identities: Record<string, string>;
  kinds: { kind: string; evidence: string }[];
  addresses: { address: string; deprecated: boolean; scope: string }[];
  ipv6Only?: string;
}
interface ApiDecision {
  needId: string;
  cause: string;
  verdict: string;
  reasons: { rule: string; code: string; detail?: string; conflictsWith?: { kind: string; id: string } }[];
  grants: { family: string; internalClient: string }[];
  changes: { field: string; wanted: string; got: string }[];
}

const numbers: Record<string, number> = {};

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One UDP datagram from a LAN host, sent from `from`, to the router: the router learns the host's MAC for that address. */
async function touch(lab: LabHandle, role: LabLanRole, from: string, to: string): Promise<void> {
  const family = to.includes(':') ? 'udp6' : 'udp4';
  const script = `const s=require('dgram').createSocket('${family}');s.bind({address:'${from}'},()=>s.send('x',9,'${to}',()=>setTimeout(()=>process.exit(0),100)));`;
  await labExec(lab.plan, role, [process.execPath, '-e', script], { allowFailure: true });
}

describeInLab('gateway mode: Matter and IPv6-mostly awareness through the engine (issue 4)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;
  const devices = () => adminGet<ApiDevice[]>(lab!, router, '/api/devices');
  const decisions = () => adminGet<ApiDecision[]>(lab!, router, '/api/decisions?limit=1000');
  const deviceWith = async (address: string) => (await devices()).find((d) => d.addresses.some((a) => a.address === address));
  const stable = (role: LabLanRole) => lab!.plan.hosts[role].interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;

  beforeAll(async () => {
    lab = await startTestLab('mi', { matter: true, profile: 'ipv6-mostly', router: 'homenet' });
    // The lock stays off until the reveal test: this daemon must first know it as an unknown host.
    await labMatterDevice({ prefix: lab.plan.prefix, role: 'lock', action: 'stop' });
    const running = await useHomenetRouter({ prefix: lab.plan.prefix });
    // No configured devices: everything below is learned by the observers.
    const restartAt = Date.now();
    router = await restartHomenetRouter(lab.plan, running.process, 'SIGTERM', { config: { devices: { known: [] } } });
    numbers.daemonRestartMs = Date.now() - restartAt;
  });
  afterAll(async () => {
    await stopTestLab(lab);
    process.stdout.write(`gateway matter/ipv6-mostly numbers: ${JSON.stringify(numbers)}\n`);
  });

  it('runs with LAN observation on and no configured devices', () => {
    const config = JSON.parse(readFileSync(router.paths.config, 'utf8')) as { devices: { known: unknown[]; observe: unknown } };
    expect(config.devices.known).toEqual([]);
    expect(config.devices.observe).toEqual({ matter: true, ipv6Mostly: true });
    const log = readFileSync(router.paths.log, 'utf8');
    expect(log).toContain('"msg":"matter mdns watcher started","interface":"lan0"');
    expect(log).toContain('"msg":"ipv6-mostly detector started","interface":"lan0"');
  });

  it("grants the console's pinhole and refuses the Matter plug's (606), naming the device the observer learned and its mDNS evidence", async () => {
    const startedAt = Date.now();
    const plug = await until('the plug learned as Matter', async () => {
      const d = await deviceWith(stable('plug'));
      return d?.kinds.some((k) => k.kind === 'matter') ? d : undefined;
    }, 30_000);
    numbers.plugLearnedAfterDaemonUpMs = Date.now() - startedAt;
    expect(plug.kinds).toEqual([expect.objectContaining({ kind: 'matter', evidence: expect.stringMatching(/^mdns:_matter\._tcp [0-9A-F]{16}-[0-9A-F]{16}$/) })]);
    expect(plug.kinds.some((k) => k.evidence.startsWith('config:'))).toBe(false);

    const consoleTemp = await temporaryAddress(lab!, 'console');
    const granted = await upnpc(lab!, 'console', ['-6', '-A', '', '0', consoleTemp, '42100', 'UDP', '300']);
    expect(granted.stdout).toMatch(/Pinhole ID = \d+/);
    expect((await probe(lab!, 'console', 'ipv6', 42100, consoleTemp)).delivered).toBe(true);

    const plugTemp = await temporaryAddress(lab!, 'plug');
    // Not 5540: matter.js holds UDP 5540 on the plug, so a probe listener there could not bind and
    // "dropped" would prove nothing. Matter isolation refuses any port of the device.
    const refused = await upnpc(lab!, 'plug', ['-6', '-A', '', '0', plugTemp, '40420', 'UDP', '300']);
    expect(refused.stdout).toContain('failed with code 606');
    const denial = (await decisions()).find((d) => d.needId.includes(plugTemp) && d.verdict === 'denied');
    expect(denial).toBeDefined();
    const reason = denial!.reasons[0];
    expect(reason).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device' } });
    // The device named is the one the observer learned (it holds the plug's stable address), with the mDNS record as evidence.
    const named = (await devices()).find((d) => d.id === reason.conflictsWith!.id)!;
    expect(named.addresses.map((a) => a.address)).toEqual(expect.arrayContaining([stable('plug'), plugTemp]));
    expect(reason.detail).toMatch(new RegExp(`^${named.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is matter \\(mdns:_matter\\._tcp [0-9A-F]{16}-[0-9A-F]{16}\\)$`));
    expect((await probe(lab!, 'plug', 'ipv6', 40420, plugTemp)).delivered).toBe(false);
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 40420)).toEqual([]);
    await upnpc(lab!, 'console', ['-6', '-D', /Pinhole ID = (\d+)/.exec(granted.stdout)![1]]);
  });

  it('revokes the grant of an unknown host within one event when it is revealed as Matter: kernel element gone, WAN packet dropped', async () => {
    const lockTemp = await temporaryAddress(lab!, 'lock');
    const before = await deviceWith(lockTemp);
    expect(before?.kinds.some((k) => k.kind === 'matter') ?? false).toBe(false);
    const add = await upnpc(lab!, 'lock', ['-6', '-A', '', '0', lockTemp, '42200', 'UDP', '300']);
    expect(add.stdout).toMatch(/Pinhole ID = \d+/);
    expect((await kernelEntries(lab!)).some((e) => e.internalPort === 42200 && e.internalClient === lockTemp)).toBe(true);
    expect((await probe(lab!, 'lock', 'ipv6', 42200, lockTemp)).delivered).toBe(true);
    const needId = `upnp6:udp:${lockTemp}:42200:*:0`;
    const seen = (await decisions()).filter((d) => d.needId === needId).length;

    const { onlineAt } = await labMatterDevice({ prefix: lab!.plan.prefix, role: 'lock', action: 'start' });
    await until('the kernel element removed', async () => ((await kernelEntries(lab!)).some((e) => e.internalPort === 42200) ? undefined : true), 30_000, 20);
    numbers.lockOnlineToKernelElementGoneMs = Date.now() - onlineAt!;
    expect((await probe(lab!, 'lock', 'ipv6', 42200, lockTemp)).delivered).toBe(false);
    // The very next decision on the need is the revocation, caused by a device-seen naming the lock as Matter.
    const after = (await decisions()).filter((d) => d.needId === needId).slice(seen);
    expect(after[0]).toMatchObject({ verdict: 'denied', cause: 'device-seen', reasons: [expect.objectContaining({ rule: 'matter-isolation', code: 'matter-device-isolation' })] });
    expect(after[0].reasons[0].detail).toMatch(/is matter \(mdns:_matterc\._udp [0-9A-F]{16} VP=65521\+32770 DT=10 CM=1\)$/);
  });

  it('IPv6-mostly: the console seen IPv6-only (option 108), an admin IPv4 open_port is decided granted-with-changes as an IPv6 pinhole with the reason', async () => {
    const startedAt = Date.now();
    const consoleMac = (await labExec(lab!.plan, 'console', ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    await until('the console seen IPv6-only', async () => ((await devices()).some((d) => d.identities.mac === consoleMac && d.ipv6Only === 'dhcpv4-option-108') ? true : undefined), 30_000);
    numbers.consoleIpv6OnlySeenMs = Date.now() - startedAt;
    const console4 = lab!.plan.hosts.console.interfaces[0].ipv4[0].address;
    // The console talks (as hosts do): the router learns its addresses with its MAC.
    await touch(lab!, 'console', console4, lab!.plan.lan.routerIpv4);
    await touch(lab!, 'console', stable('console'), lab!.plan.lan.routerIpv6);
    await until('the console device with both addresses', async () => {
      const d = await deviceWith(console4);
      return d?.ipv6Only && d.addresses.some((a) => a.address === stable('console')) ? d : undefined;
    }, 15_000);

    const answer = await adminCommand(lab!, router, 'open_port', { internal_client: console4, internal_port: 42300, protocol: 'udp', family: 'ipv4' });
    const needId = `admin:ipv4:udp:${console4}:42300:42300:*:0`;
    const first = (await decisions()).find((d) => d.needId === needId)!;
    expect(first).toMatchObject({
      verdict: 'granted-with-changes',
      grants: [expect.objectContaining({ family: 'ipv6', internalClient: stable('console') })],
      changes: [{ field: 'family', wanted: 'ipv4', got: 'ipv6' }],
    });
    expect(first.reasons[0]).toMatchObject({ rule: 'ipv6-mostly', code: 'ipv6-only-host' });
    // The admin asked for reachability: the changed grant (an IPv6 pinhole) is the answer, and it works.
    expect(answer).toMatchObject({ result: { verdict: 'granted-with-changes' } });
    expect((await probe(lab!, 'console', 'ipv6', 42300, stable('console'))).delivered).toBe(true);
  });

  it("a forged DHCPOFFER with option 108 and console2's MAC, sent from the plug host, changes nothing: console2's IPv4 need stays IPv4 (issue 9)", async () => {
    const c2mac = (await labExec(lab!.plan, 'console2', ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    const c2v4 = lab!.plan.hosts.console2.interfaces[0].ipv4[0].address;
    await touch(lab!, 'console2', c2v4, lab!.plan.lan.routerIpv4);
    // A raw Ethernet frame from the plug: the router's IPv4 address as source, option 54 naming the router, option 108, console2's chaddr.
    const forge = [
      'import socket,struct,sys',
      "mac=bytes.fromhex(sys.argv[1].replace(':',''));router=socket.inet_aton(sys.argv[2])",
      "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(('eth0',0));src=s.getsockname()[4][:6]",
      "bootp=struct.pack('!BBBBIHH4s4s4s4s16s64s128s',2,1,6,0,0x9109,0,0x8000,bytes(4),socket.inet_aton(sys.argv[3]),router,bytes(4),mac,b'',b'')",
      "payload=bootp+struct.pack('!I',0x63825363)+bytes([53,1,2,54,4])+router+bytes([108,4])+struct.pack('!I',1800)+bytes([255])",
      "udp=struct.pack('!HHHH',67,68,8+len(payload),0)+payload",
      "ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),0,0,64,17,0,router,bytes([255]*4))",
      "c=sum(struct.unpack('!10H',ip));c=(c>>16)+(c&0xffff);c+=c>>16;ip=ip[:10]+struct.pack('!H',~c&0xffff)+ip[12:]",
      "[s.send(bytes([255]*6)+src+bytes([8,0])+ip+udp) for _ in range(3)]",
    ].join('\n');
    await labExec(lab!.plan, 'plug', ['python3', '-c', forge, c2mac, lab!.plan.lan.routerIpv4, c2v4]);
    // The router's sniffer saw it and refused it (so the checks below are about a packet that arrived).
    const refusal = await until('the forged offer refused in the router log', async () =>
      readFileSync(router.paths.log, 'utf8').split('\n').find((l) => l.includes(`option 108 for ${c2mac} ignored`)), 15_000);
    expect(refusal).toContain("only this router's own DHCP server counts");
    const c2 = await until('console2 known by its IPv4 address', () => deviceWith(c2v4), 15_000);
    expect(c2.ipv6Only).toBeUndefined();
    const answer = await adminCommand(lab!, router, 'open_port', { internal_client: c2v4, internal_port: 42350, protocol: 'udp', family: 'ipv4' });
    expect(answer).toMatchObject({ result: { verdict: 'granted' } });
    const needId = `admin:ipv4:udp:${c2v4}:42350:42350:*:0`;
    const decided = (await decisions()).filter((d) => d.needId === needId);
    expect(decided.length).toBeGreaterThan(0);
    for (const d of decided) {
      expect(d.grants.map((g) => g.family)).toEqual(['ipv4']);
      expect(d.reasons.map((r) => r.code)).not.toContain('ipv6-only-host');
    }
    // The console (a real RFC 8925 client, answered by the router's own dnsmasq) is still IPv6-only: the trusted path works.
    expect((await devices()).some((d) => d.ipv6Only === 'dhcpv4-option-108')).toBe(true);
    await adminCommand(lab!, router, 'close_port', { need_id: needId });
  });

  it("renumbering moves the console's admin-opened grant to its new stable address and keeps every address of the Matter devices protected", async () => {
    await labMatterDevice({ prefix: lab!.plan.prefix, role: 'lock', action: 'start' }); // running already unless run alone
    const oldConsole = stable('console');
    const open = await adminCommand(lab!, router, 'open_port', { internal_client: oldConsole, internal_port: 42400, protocol: 'udp', family: 'ipv6' });
    expect(open).toMatchObject({ result: { verdict: 'granted' } });
    expect((await probe(lab!, 'console', 'ipv6', 42400, oldConsole)).delivered).toBe(true);

    const renumberedAt = Date.now();
    const renumbered = await labRenumber({ prefix: lab!.plan.prefix });
    const newConsole = renumbered.addresses.console;
    const newRouter = `${renumbered.current.replace(/::\/64$/, '::')}1`;
    // Hosts talk from their new addresses (the router learns them by MAC).
    for (const role of ['console', 'plug', 'lock'] as const) await touch(lab!, role, renumbered.addresses[role], newRouter);
    const moved = await until('the grant on the new address', async () => {
      const entries = await kernelEntries(lab!);
      return entries.some((e) => e.internalPort === 42400 && e.internalClient === newConsole) && !entries.some((e) => e.internalPort === 42400 && e.internalClient === oldConsole) ? true : undefined;
    }, 30_000, 50).catch(async (error: Error) => {
      const dump = { console: await deviceWith(oldConsole), entries: (await kernelEntries(lab!)).filter((e) => e.internalPort === 42400), decisions: (await decisions()).filter((d) => d.needId === String((open.result as { need_id: string }).need_id)) };
      throw new Error(`${error.message}\n${JSON.stringify(dump, null, 1)}\n${readFileSync(router.paths.log, 'utf8').split('\n').filter((l) => l.includes('"observe"')).slice(-10).join('\n')}`);
    });
    expect(moved).toBe(true);
    numbers.renumberToGrantMovedMs = Date.now() - renumberedAt;
    const needId = String((open.result as { need_id: string }).need_id);
    const followed = (await decisions()).filter((d) => d.needId === needId).at(-1)!;
    expect(followed.grants).toEqual([expect.objectContaining({ family: 'ipv6', internalClient: newConsole })]);
    expect(followed.reasons.map((r) => `${r.rule}/${r.code}`)).toContain('address-churn/address-followed');
    expect((await probe(lab!, 'console', 'ipv6', 42400, newConsole)).delivered).toBe(true);
    expect((await probe(lab!, 'console', 'ipv6', 42400, oldConsole)).delivered).toBe(false);

    // Every global address of each Matter device, old and new, temporaries included, is refused.
    for (const role of ['plug', 'lock'] as const) {
      const device = await until(`${role} with its new address`, async () => {
        const d = await deviceWith(renumbered.addresses[role]);
        return d?.kinds.some((k) => k.kind === 'matter') ? d : undefined;
      }, 30_000);
      const globals = device.addresses.filter((a) => a.scope === 'gua').map((a) => a.address);
      expect(globals).toEqual(expect.arrayContaining([stable(role), renumbered.addresses[role]]));
      for (const address of globals) {
        const r = await adminCommand(lab!, router, 'open_port', { internal_client: address, internal_port: 42500, protocol: 'udp', family: 'ipv6' });
        expect({ address, error: r.error_code, details: String(r.details).split(':')[0] }).toEqual({ address, error: 'policy_denied', details: 'denied' });
        expect(String(r.details)).toContain(`matter-isolation/matter-device-isolation (device ${device.id})`);
      }
    }
    expect((await kernelEntries(lab!)).filter((e) => e.internalPort === 42500)).toEqual([]);
    await adminCommand(lab!, router, 'close_port', { need_id: needId });
  });
});
