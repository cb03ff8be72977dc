/**
 * The Matter side end to end in the lab: real matter.js devices in their
 * namespaces, real mDNS on the LAN bridge, the project's observers running in
 * the hub's namespace (`homenet devices --watch --json`), and the policy
 * engine fed with what they see. Needs root and network namespaces (CI runs
 * as root: these tests must not skip there).
 */
import { asyncScheduler } from 'rxjs';
import { execFileSync } from 'node:child_process';
import { runCommand } from '../../../adapters/system/run-command';
import { labDown, labExec, labMatterDevice, labUp, LabHandle } from '../../../plugin/lab/lab';
import { labMatterDevices } from '../../../plugin/lab/matter-lab-devices';
import { LAB_NAT64_PREFIX, labSetPref64 } from '../../../plugin/lab/lab-ipv6-mostly';
import { labRenumber } from '../../../plugin/lab/lab-renumber';
import { createPolicyEngine } from '../../../policies';
import type { Decision } from '../../../policies/model/decision';
import type { DeviceSeen } from '../../../policies/model/event';
import { CLI, HubWatcher } from './hub-watcher';

const PREFIX = 'mx1';
jest.setTimeout(180_000);

let lab: LabHandle;
const numbers: Record<string, number> = {};

function macOf(namespace: string): string {
  return execFileSync('ip', ['netns', 'exec', namespace, 'cat', '/sys/class/net/eth0/address'], { encoding: 'utf8' }).trim();
}

/** Sends one UDP datagram from the hub to `address`, so the hub learns the target's MAC (a neighbour entry). */
async function touch(address: string): Promise<void> {
  const script = `const s=require('dgram').createSocket('${address.includes(':') ? 'udp6' : 'udp4'}');s.send('x',9,'${address}',()=>setTimeout(()=>process.exit(0),300));`;
  await labExec(lab.plan, 'hub', [process.execPath, '-e', script]);
}

beforeAll(async () => {
  expect(process.getuid?.()).toBe(0);
  await labDown({ prefix: PREFIX });
  lab = await labUp({ prefix: PREFIX, matter: true, profile: 'ipv6-mostly' });
});

afterAll(async () => {
  if (lab) await labDown({ prefix: PREFIX });
  // The numbers of this run, for the report.
  process.stdout.write(`matter-lab numbers: ${JSON.stringify(numbers)}\n`);
});

describe('the lab with Matter devices', () => {
  it('commissioned the plug into the lab fabric and left the lock commissionable', () => {
    expect(lab.state.matter?.commissioned).toEqual([expect.objectContaining({ role: 'plug', nodeId: expect.stringMatching(/^[0-9A-F]{16}$/) })]);
    expect(lab.state.processes.map((p) => p.name)).toEqual(expect.arrayContaining(['matter-plug', 'matter-lock', 'ra-sender', 'dnsmasq', 'unbound', 'tayga']));
  });

  it('knows a Matter device within 100 ms of its first advertisement (passive watcher)', async () => {
    await labMatterDevice({ prefix: PREFIX, role: 'lock', action: 'stop' });
    const watcher = new HubWatcher(lab.plan, ['--no-ipv6-mostly']);
    try {
      await watcher.waitFor((l) => l.ready === true, 15_000);
      const from = watcher.lines.length;
      const { onlineAt } = await labMatterDevice({ prefix: PREFIX, role: 'lock', action: 'start' });
      const known = await watcher.waitFor((l) => l.event?.type === 'device-seen' && (l.event.kinds ?? []).some((k) => k.evidence.includes('VP=65521+32770')), 20_000, from);
      const event = known.event as DeviceSeen;
      expect(event.kinds).toEqual([{ kind: 'matter', evidence: expect.stringMatching(/^mdns:_matterc\._udp [0-9A-F]{16} VP=65521\+32770 DT=10 CM=1$/) }]);
      expect(known.firstPacketAt).toBeDefined();
      // Its addresses may come in more than one announcement: all of them, and no IPv4 (the lock is IPv6-only).
      const complete = await watcher.waitFor(
        (l) => l.event?.type === 'device-seen' && l.event.deviceId === event.deviceId && ['2001:db8:77::21', 'fd00:77::21'].every((x) => (l.event as DeviceSeen).addresses!.some((a) => a.address === x)),
        10_000,
        from,
      );
      expect((complete.event as DeviceSeen).addresses!.some((a) => a.address.includes('.'))).toBe(false);
      numbers.firstPacketToKnownMs = known.at - known.firstPacketAt!;
      numbers.deviceOnlineToKnownMs = known.at - onlineAt!;
      expect(numbers.firstPacketToKnownMs).toBeGreaterThanOrEqual(0);
      expect(numbers.firstPacketToKnownMs).toBeLessThan(100);
    } finally {
      await watcher.stop();
    }
  });

  it('revokes a grant within one event when an unknown host is revealed as Matter, and names the device', async () => {
    const plugMac = macOf(lab.plan.hosts.plug.namespace);
    const consoleMac = macOf(lab.plan.hosts.console.namespace);
    await labMatterDevice({ prefix: PREFIX, role: 'plug', action: 'stop' });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the goodbyes' grace second
    const watcher = new HubWatcher(lab.plan, ['--no-ipv6-mostly', '--matter-storage', `${lab.plan.runDir}/matter/hub`]);
    const engine = createPolicyEngine({ scheduler: asyncScheduler });
    const decisions: Decision[] = [];
    engine.decisions$.subscribe((d) => decisions.push(d));
    try {
      await watcher.waitFor((l) => l.ready === true, 20_000);
      engine.submit({ type: 'gateway-seen', gatewayId: 'lab-router', bootId: '1', pinholes: true, portMappings: true, firewallEnabled: true, inboundPinholeAllowed: true });
      let fed = 0;
      const feed = () => {
        for (const line of watcher.lines.slice(fed)) if (line.event) engine.submit(line.event);
        fed = watcher.lines.length;
      };
      await touch('2001:db8:77::20');
      await touch('2001:db8:77::10');
      await watcher.waitFor((l) => l.event?.type === 'device-seen' && l.event.deviceId === `mac:${plugMac}`, 15_000);
      await watcher.waitFor((l) => l.event?.type === 'device-seen' && l.event.deviceId === `mac:${consoleMac}`, 15_000);
      feed();
      const plugDevice = engine.snapshot().devices.find((d) => d.id === `mac:${plugMac}`)!;
      expect(plugDevice.kinds.some((k) => k.kind === 'matter')).toBe(false);
      const consoleGrant = engine.request({ id: 'console-game', requester: { deviceId: `mac:${consoleMac}` }, internalClient: '2001:db8:77::10', protocol: 'udp', internalPort: 40000, family: 'ipv6', class: 'game-session' });
      expect(consoleGrant.verdict).toBe('granted');
      const early = engine.request({ id: 'plug-early', requester: { deviceId: `mac:${plugMac}` }, internalClient: '2001:db8:77::20', protocol: 'udp', internalPort: 40001, family: 'ipv6', class: 'game-session' });
      expect(early.verdict).toBe('granted');

      const from = watcher.lines.length;
      const { onlineAt } = await labMatterDevice({ prefix: PREFIX, role: 'plug', action: 'start' });
      const revealed = await watcher.waitFor((l) => l.event?.type === 'device-seen' && l.event.deviceId === `mac:${plugMac}` && (l.event.kinds ?? []).some((k) => k.kind === 'matter'), 20_000, from);
      const before = decisions.length;
      // Feed up to and including the revealing event: that one event must revoke the grant.
      for (const line of watcher.lines.slice(fed, watcher.lines.indexOf(revealed) + 1)) if (line.event) engine.submit(line.event);
      fed = watcher.lines.indexOf(revealed) + 1;
      const revoked = decisions.slice(before).find((d) => d.needId === 'plug-early');
      expect(revoked).toBeDefined();
      expect(revoked!.verdict).toBe('denied');
      expect(revoked!.cause).toBe('device-seen');
      expect(revoked!.reasons[0]).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: `mac:${plugMac}` } });
      numbers.plugOnlineToRevokedMs = revealed.at - onlineAt!;

      // A new pinhole for the plug is denied; the controller's read names vendor and product in the device's evidence.
      const read = await watcher.waitFor((l) => l.event?.type === 'device-seen' && (l.event.kinds ?? []).some((k) => k.evidence.startsWith('matter-read:')), 30_000, from);
      expect((read.event as DeviceSeen).deviceId).toBe(`mac:${plugMac}`);
      expect((read.event as DeviceSeen).kinds!.map((k) => k.evidence)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^mdns:_matter\._tcp [0-9A-F]{16}-[0-9A-F]{16}$/), 'matter-read:BasicInformation vendor="homenet lab" product="homenet lab plug" types=On/Off Plug-in Unit']),
      );
      feed();
      const denied = engine.request({ id: 'plug-later', requester: { deviceId: `mac:${consoleMac}` }, internalClient: '2001:db8:77::20', protocol: 'udp', internalPort: 40002, family: 'ipv6', class: 'admin' });
      expect(denied.verdict).toBe('denied');
      const isolation = denied.reasons.find((r) => r.rule === 'matter-isolation');
      expect(isolation).toMatchObject({ code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: `mac:${plugMac}` } });
      // The reason quotes the strongest evidence: the controller's read, naming vendor and product.
      expect(isolation!.detail).toBe(`mac:${plugMac} is matter (matter-read:BasicInformation vendor="homenet lab" product="homenet lab plug" types=On/Off Plug-in Unit)`);
      const plug = engine.snapshot().devices.find((d) => d.id === `mac:${plugMac}`)!;
      expect(plug.identities.mac).toBe(plugMac);
      // The console keeps its grant.
      expect(engine.snapshot().needs.find((n) => n.need.id === 'console-game')!.verdict).toBe('granted');

      // Renumbering: every address of the plug, the new ones included, stays protected.
      const renumbered = await labRenumber({ prefix: PREFIX });
      expect(renumbered.current).toBe('2001:db8:78::/64');
      await touch('2001:db8:78::20');
      const newPlug = await watcher.waitFor(
        (l) => l.event?.type === 'device-seen' && l.event.deviceId === `mac:${plugMac}` && (l.event.addresses ?? []).some((a) => a.address === '2001:db8:78::20'),
        60_000,
        fed,
      );
      for (const line of watcher.lines.slice(fed, watcher.lines.indexOf(newPlug) + 1)) if (line.event) engine.submit(line.event);
      const protectedPlug = engine.snapshot().devices.find((d) => d.id === `mac:${plugMac}`)!;
      const globals = protectedPlug.addresses.filter((a) => a.scope === 'gua').map((a) => a.address);
      expect(globals).toEqual(expect.arrayContaining(['2001:db8:77::20', '2001:db8:78::20']));
      for (const address of globals) {
        const d = engine.request({ id: `renumbered-${address}`, requester: { deviceId: `mac:${consoleMac}` }, internalClient: address, protocol: 'udp', internalPort: 40003, family: 'ipv6', class: 'admin' });
        expect({ address, verdict: d.verdict, rule: d.reasons.find((r) => r.rule === 'matter-isolation')?.code }).toEqual({ address, verdict: 'denied', rule: 'matter-device-isolation' });
      }
    } finally {
      engine.dispose();
      await watcher.stop();
    }
  });

  it('detects the IPv6-mostly signals and a PREF64 change', async () => {
    const watcher = new HubWatcher(lab.plan, ['--matter-storage', `${lab.plan.runDir}/matter/hub`]);
    try {
      await watcher.waitFor((l) => l.event?.type === 'network-changed' && l.event.pref64 === LAB_NAT64_PREFIX, 20_000);
      const consoleMac = macOf(lab.plan.hosts.console.namespace);
      const v6only = await watcher.waitFor((l) => l.event?.type === 'device-seen' && l.event.ipv6Only === 'dhcpv4-option-108', 30_000).catch((error: Error) => {
        throw new Error(`${error.message}\nproblems: ${JSON.stringify(watcher.lines.filter((l) => l.problem))}`);
      });
      expect((v6only.event as DeviceSeen).identities?.mac).toBe(consoleMac);
      const from = watcher.lines.length;
      const requestedAt = await labSetPref64({ prefix: PREFIX }, '2001:db8:6464::/96');
      const changed = await watcher.waitFor((l) => l.event?.type === 'network-changed' && l.event.pref64 === '2001:db8:6464::/96', 10_000, from);
      numbers.pref64ChangeDetectedMs = changed.at - requestedAt;
      expect(numbers.pref64ChangeDetectedMs).toBeLessThan(2000);
      // Withdrawn from the RAs (lifetime 0): the NAT64 prefix DNS64 reveals for ipv4only.arpa (RFC 7050) takes over.
      const after = watcher.lines.length;
      const withdrawnAt = await labSetPref64({ prefix: PREFIX }, null);
      const withdrawn = await watcher.waitFor((l) => l.event?.type === 'network-changed' && l.event.pref64 === LAB_NAT64_PREFIX, 10_000, after);
      numbers.pref64WithdrawToDns64Ms = withdrawn.at - withdrawnAt;
    } finally {
      await watcher.stop();
    }
  });

  it('homenet devices --json lists identity, kinds with evidence, addresses, IPv6-only and protections', async () => {
    await labSetPref64({ prefix: PREFIX }, LAB_NAT64_PREFIX);
    await touch('192.168.77.10');
    // Asynchronously, with a hard kill: a hung CLI fails this test with its output, not the whole worker.
    const run = await runCommand('ip', ['netns', 'exec', lab.plan.hosts.hub.namespace, process.execPath, CLI, 'devices', '--json', '--for-ms', '10000', '--matter-storage', `${lab.plan.runDir}/matter/hub`], {
      cwd: lab.plan.runDir,
      timeoutMs: 60_000,
    });
    const out = run.stdout;
    const listing = JSON.parse(out) as { network: Record<string, unknown>; devices: { id: string; name?: string; identities: Record<string, string>; kinds: { kind: string; evidence: string }[]; addresses: { address: string }[]; ipv6Only?: string; protection: { inbound: string; reason?: { rule: string; code: string } }; matter?: { deviceTypes: string[] } }[] };
    expect(listing.network).toMatchObject({ pref64: LAB_NAT64_PREFIX, option108Offered: true, v6OnlyWait: 1800 });
    const plug = listing.devices.find((d) => d.name === 'homenet lab homenet lab plug');
    expect(plug).toBeDefined();
    expect(plug!.identities.mac).toBe(macOf(lab.plan.hosts.plug.namespace));
    expect(plug!.identities.matterNodeId).toMatch(/^[0-9A-F]{16}-[0-9A-F]{16}$/);
    expect(plug!.addresses.map((a) => a.address)).toEqual(expect.arrayContaining(['2001:db8:77::20', '2001:db8:78::20', '192.168.77.20', 'fd00:77::20']));
    expect(plug!.protection).toMatchObject({ inbound: 'denied', reason: { rule: 'matter-isolation', code: 'matter-device-isolation' } });
    expect(plug!.matter!.deviceTypes).toEqual(['Root Node', 'On/Off Plug-in Unit']);
    const lock = listing.devices.find((d) => d.kinds.some((k) => k.evidence.includes('VP=65521+32770')));
    expect(lock).toBeDefined();
    expect(lock!.protection.inbound).toBe('denied');
    numbers.devicesCommandRssMb = (listing as unknown as { process: { rssMb: number } }).process.rssMb;
    const consoleDevice = listing.devices.find((d) => d.identities.mac === macOf(lab.plan.hosts.console.namespace));
    expect(consoleDevice).toMatchObject({ ipv6Only: 'dhcpv4-option-108', protection: { inbound: 'not-isolated' } });
    const plan = labMatterDevices(lab.plan);
    expect(plan.map((d) => d.role)).toEqual(['plug', 'lock']);
  });
});
