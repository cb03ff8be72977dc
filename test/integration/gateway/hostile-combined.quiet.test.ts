/**
 * Issue 9's acceptance in the lab, every attack at once: ONE hostile LAN host
 * (console2, the compromised gadget) runs, for 30 s against the real daemon
 * (`homenet serve --mode gateway` in the router namespace, LAN observation on,
 * real matter.js devices):
 * - SOAP bodies crafted for worst-case parsing (16 KiB of distinct empty tags,
 *   an ~8 KiB SOAPAction) from 4 concurrent senders on the IGD;
 * - an mDNS flood of made-up Matter hosts (40 new hosts a packet, TTL 2^31-1);
 * - forged DHCPOFFERs with option 108 naming the console's MAC (raw frames
 *   with the router's address as source), and DISCOVERs from rotating MACs;
 * - 500 slow sockets on the IGD and 500 on the admin API (reconnecting what
 *   the daemon closes), a PCP MAP flood on UDP 5351;
 * - 40 unauthenticated WebSockets on the admin API.
 * Meanwhile the console's SOAP requests and the hub's `GET /api/grants` are
 * timed (p99 <= 50 ms), the console's real `upnpc` opens a pinhole that
 * carries a WAN packet and the hub's `get_grants` shows it, the Matter plug's
 * own pinhole is refused by the Matter rule and its mDNS records are still
 * known, the console's IPv4 mapping is decided as before the attack (a forged
 * option 108 changes nothing), no device the daemon knew changes kind or
 * IPv6-only mark, and the daemon's resident memory stays under a stated bound.
 * Measured numbers are printed in one line (`hostile-combined: {...}`).
 */
import { readFile } from 'node:fs/promises';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle, labExec } from '../../../plugin/lab/lab';
import { HomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { SERVICE_WAN_IP_CONNECTION_2 } from '../../../adapters/upnp/upnp-urns';
import { percentile } from '../../support/slow-sockets';
import { adminCommand, adminGet, probe, temporaryAddress, upnpc } from './gateway-lab-support';
import { cpuMs as cpuMsOf, residentKb, startAttacker, startFloods, Timed, timeRequests } from './hostile-listeners-support';

jest.setTimeout(300_000);

/**
 * The daemon's resident memory may grow by at most this much while the attack runs.
 * How it was chosen (measured 2026-11-30 on the 2-core shared machine):
 * - what the daemon *keeps* is bounded by the caps (mDNS cache 8,192 records, fusion quotas,
 *   1,024 admitted made-up Matter hosts in the engine, per-source socket budgets): in-process,
 *   the watcher + observation + engine live heap stayed at 58-67 MB after a forced GC through
 *   4,000 flood packets (160,000 made-up hosts), flat;
 * - the RSS also carries V8 heap headroom that grows with the allocation *rate* (garbage from
 *   parsing ~1,500 hostile requests/packets a second) and socket buffers: each attack alone
 *   grew it by 26-52 MiB (sockets 32, SOAP 36, PCP 14, SOAP+PCP+DHCP 52), all together by
 *   ~118 MiB at peak (fluctuating with GC);
 * - before the caps the mDNS flood alone grew it by 216 MiB in the same 30 s, and still rising
 *   (22,084 made-up devices in the engine).
 * 160 MiB sits above the measured combined peak and below the uncapped flood's growth.
 */
const MEMORY_GROWTH_BOUND_KB = 160 * 1024;
/** Requests per victim and phase (the p99 of 200 is the 198th fastest, not the single worst). */
const SAMPLES = 200;
/** How long the hostile host attacks (the helpers cap it at 30 s); every victim step runs inside it. */
const ATTACK_MS = 30_000;
/**
 * Every attack runs by default. For diagnosis only (which attack costs what), HOSTILE_COMBINED_ATTACKS
 * may name a subset (comma-separated: sockets, soap, mdns, dhcp, pcp); the checks that an attack ran then fail for the others.
 */
const ATTACKS = new Set((process.env.HOSTILE_COMBINED_ATTACKS ?? 'sockets,soap,mdns,dhcp,pcp').split(','));
/** CPU ms of a process, or NaN once it has exited (a report number, never a failure). */
const cpuMs = (pid: number) => cpuMsOf(pid).catch(() => NaN);
const stats = (t: readonly { ms: number }[]) => ({ p50: round(percentile(t.map((x) => x.ms), 50)), p99: round(percentile(t.map((x) => x.ms), 99)) });
const round = (n: number) => Math.round(n * 10) / 10;

interface ApiDevice {
  id: string;
  identities: Record<string, string>;
  kinds: { kind: string; evidence: string }[];
  addresses: { address: string }[];
  ipv6Only?: string;
}
interface ApiNeed {
  id: string;
  deviceId: string;
  internalClient: string;
  internalPort: number;
  family: string;
}
interface ApiDecision {
  needId: string;
  verdict: string;
  reasons: { rule: string; code: string }[];
  grants: { family: string; internalClient: string }[];
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** What must not change about a device because of a forged fact: its kinds and its IPv6-only mark. */
const factsOf = (d: ApiDevice | undefined) => (d ? { kinds: d.kinds.map((k) => k.kind).sort(), ipv6Only: d.ipv6Only ?? null } : null);

describeInLab('one hostile LAN host runs every attack at once: the gateway still serves, protects and decides on true facts (issue 9)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;
  const devices = () => adminGet<ApiDevice[]>(lab!, router, '/api/devices');
  const needs = () => adminGet<ApiNeed[]>(lab!, router, '/api/needs');
  const decisionsOf = (needId: string) => adminGet<ApiDecision[]>(lab!, router, `/api/decisions?limit=100&need_id=${encodeURIComponent(needId)}`);
  /** The need (and its decisions) a request for `client`:`port` made. */
  const decided = async (client: string, port: number) => {
    const need = await until(`the need for ${client}:${port}`, async () => (await needs()).find((n) => n.internalClient === client && n.internalPort === port), 10_000);
    const list = await decisionsOf(need.id);
    return { need, last: list[list.length - 1] };
  };

  beforeAll(async () => {
    lab = await startTestLab('hc', { matter: true, router: 'homenet' });
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
  });
  afterAll(async () => {
    await stopTestLab(lab);
  });

  it('serves the console and the hub within p99 50 ms, keeps the plug protected and known, and changes no decision or device fact', async () => {
    const plan = lab!.plan;
    const pid = router.process.pid;
    const igdUrl = `http://${plan.lan.routerIpv4}:${plan.upnpHttpPort}/igd/ctl/IPConnection`;
    const grantsUrl = `${router.admin.url}/api/grants`;
    const consoleMac = (await labExec(plan, 'console', ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    const console4 = plan.hosts.console.interfaces[0].ipv4[0].address;

    // The plug's own mDNS records are known before the attack (the matter.js plug advertises them).
    const plugBefore = await until('the plug known with its mDNS host', async () => (await devices()).find((d) => d.id === 'plug' && d.identities.mdnsHost !== undefined && d.kinds.some((k) => k.evidence.startsWith('mdns:'))), 60_000);

    // Before: the console's IPv4 mapping (a real upnpc) and how it was decided.
    const mapBefore = await upnpc(lab!, 'console', ['-a', console4, '41600', '41600', 'UDP', '300']);
    expect(mapBefore.stdout).toMatch(/is redirected to internal/);
    const decidedBefore = await decided(console4, 41600);
    const devicesBefore = await devices();
    const [idleIgd, idleAdmin] = await Promise.all([
      timeRequests(plan.hosts.console.namespace, igdUrl, SAMPLES, { soapAction: `${SERVICE_WAN_IP_CONNECTION_2}#GetExternalIPAddress` }),
      timeRequests(plan.hosts.hub.namespace, grantsUrl, SAMPLES, { bearer: router.admin.token }),
    ]);
    const rssBefore = await residentKb(pid);
    let rssPeak = rssBefore;
    /** The peak of each 5 s of the attack (does memory level off, or grow with the flood?). */
    const rssSeries: number[] = [];
    const sampledFrom = Date.now();
    const sampler = setInterval(() => {
      residentKb(pid).then((kb) => {
        rssPeak = Math.max(rssPeak, kb);
        const slot = Math.floor((Date.now() - sampledFrom) / 5000);
        rssSeries[slot] = Math.max(rssSeries[slot] ?? 0, kb);
      }, () => undefined);
    }, 200);

    // The hostile host: console2. Every attack at once.
    const attacker = plan.hosts.console2;
    const [sockets, floods] = await Promise.all([
      startAttacker(attacker.namespace, {
        host: plan.lan.routerIpv4,
        igdPort: plan.upnpHttpPort,
        adminPort: Number(new URL(router.admin.url).port),
        slowPerPort: ATTACKS.has('sockets') ? 500 : 0,
        webSockets: ATTACKS.has('sockets') ? 40 : 0,
        holdMs: ATTACK_MS,
        reconnectMs: 1000,
      }),
      startFloods(attacker.namespace, {
        routerIpv4: plan.lan.routerIpv4,
        attackerIpv4: attacker.interfaces[0].ipv4[0].address,
        interfaceName: 'eth0',
        igdPort: plan.upnpHttpPort,
        pcpPort: 5351,
        victimMac: consoleMac,
        victimIpv4: console4,
        holdMs: ATTACK_MS,
        soapSenders: ATTACKS.has('soap') ? 4 : 0,
        mdnsPacketsPerSecond: ATTACKS.has('mdns') ? 20 : 0,
        mdnsHostsPerPacket: 40,
        dhcpOffersPerSecond: ATTACKS.has('dhcp') ? 20 : 0,
        dhcpDiscoversPerSecond: ATTACKS.has('dhcp') ? 100 : 0,
        pcpPerTick: ATTACKS.has('pcp') ? 10 : 0,
      }),
    ]);
    const started = Date.now();
    try {
      // Let the floods build up (60 mDNS packets of 40 new hosts: where the unbounded watcher stalled for seconds per packet).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const cpuAt = { daemon: await cpuMs(pid), attackers: (await cpuMs(sockets.child.pid!)) + (await cpuMs(floods.child.pid!)), wall: Date.now(), load: (await readFile('/proc/loadavg', 'utf8')).split(' ')[0] };
      // (A victim that does not finish within 60 s counts as one failed request, so the report is still printed.)
      const orFailed = (p: Promise<Timed[]>) => p.catch((): Timed[] => [{ status: -1, ms: 60_000 }]);
      const [igd, admin] = await Promise.all([
        orFailed(timeRequests(plan.hosts.console.namespace, igdUrl, SAMPLES, { soapAction: `${SERVICE_WAN_IP_CONNECTION_2}#GetExternalIPAddress` })),
        orFailed(timeRequests(plan.hosts.hub.namespace, grantsUrl, SAMPLES, { bearer: router.admin.token })),
      ]);
      // Where the CPU went while the victims were timed (2 shared cores: the attacker runs on the same machine as the daemon).
      const window = Date.now() - cpuAt.wall;
      const cpu = {
        daemonPercent: Math.round(((await cpuMs(pid)) - cpuAt.daemon) / window * 100),
        attackerPercent: Math.round(((await cpuMs(sockets.child.pid!)) + (await cpuMs(floods.child.pid!)) - cpuAt.attackers) / window * 100),
        loadAverage1m: { before: cpuAt.load, after: (await readFile('/proc/loadavg', 'utf8')).split(' ')[0] },
      };
      // The console's real upnpc: a pinhole that carries a WAN packet, and the hub's get_grants shows it.
      const temporary = await temporaryAddress(lab!, 'console');
      const pinholeStarted = Date.now();
      const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '41500', 'UDP', '300']);
      const upnpcPinholeMs = Date.now() - pinholeStarted;
      const delivered = (await probe(lab!, 'console', 'ipv6', 41500, temporary)).delivered;
      const grants = await adminCommand(lab!, router, 'get_grants').catch((error: Error) => ({ error: error.message }));
      // The console's IPv4 mapping, asked again under forged option-108 offers for its MAC: decided as before.
      const mapDuring = await upnpc(lab!, 'console', ['-a', console4, '41601', '41601', 'UDP', '300']);
      const decidedDuring = await decided(console4, 41601);
      // The plug's own pinhole: refused, by the Matter rule.
      const plugTemporary = await temporaryAddress(lab!, 'plug');
      const own = await upnpc(lab!, 'plug', ['-6', '-A', '', '0', plugTemporary, '5540', 'UDP', '300']);
      const plugDecisions = await adminGet<ApiDecision[]>(lab!, router, '/api/decisions?limit=100&device_id=plug');
      const plugDecision = { last: [...plugDecisions].reverse().find((d) => d.needId.includes(`${plugTemporary}:5540`) || d.grants.length === 0) };
      const devicesDuring = await devices();
      const victimsDoneMs = Date.now() - started;
      const rssDuring = await residentKb(pid);
      rssPeak = Math.max(rssPeak, rssDuring);

      const [counts, floodCounts] = await Promise.all([sockets.done(), floods.done()]);
      clearInterval(sampler);
      const log = await readFile(router.paths.log, 'utf8');
      const forgedOfferRefused = log.includes(`option 108 for ${consoleMac} ignored`);

      const byId = (list: ApiDevice[], id: string) => list.find((d) => d.id === id);
      const plugDuring = byId(devicesDuring, 'plug');
      // Every device known before the attack, as the engine knew it, against now.
      const changed = devicesBefore.filter((d) => JSON.stringify(factsOf(d)) !== JSON.stringify(factsOf(byId(devicesDuring, d.id)))).map((d) => ({ id: d.id, before: factsOf(d), during: factsOf(byId(devicesDuring, d.id)) }));
      const summary = (d: { last?: ApiDecision } | undefined) => (d?.last ? { verdict: d.last.verdict, reasons: d.last.reasons.map((r) => `${r.rule}/${r.code}`), grantFamilies: d.last.grants.map((g) => g.family) } : null);
      const report = {
        idle: { igdSoap: stats(idleIgd), adminGrants: stats(idleAdmin) },
        attack: {
          igdSoap: stats(igd),
          adminGrants: stats(admin),
          igdAnswered: `${igd.filter((t) => t.status === 200).length}/${igd.length}`,
          adminAnswered: `${admin.filter((t) => t.status === 200).length}/${admin.length}`,
          failedStatuses: [...new Set([...igd, ...admin].filter((t) => t.status !== 200).map((t) => t.status))],
        },
        upnpcPinhole: /Pinhole ID = \d+/.test(add.stdout),
        upnpcPinholeMs,
        wanPacketDelivered: delivered,
        hubGetGrantsSeesIt: JSON.stringify(grants).includes(temporary),
        consoleIpv4Mapping: { before: summary(decidedBefore), during: summary(decidedDuring), duringAnswer: /is redirected to internal/.test(mapDuring.stdout) },
        plug: {
          refused606: own.stdout.includes('failed with code 606'),
          decision: summary(plugDecision),
          mdnsHostBefore: plugBefore.identities.mdnsHost,
          mdnsHostDuring: plugDuring?.identities.mdnsHost ?? null,
          addressesKept: plugBefore.addresses.every((a) => plugDuring?.addresses.some((b) => b.address === a.address) ?? false),
        },
        devicesChanged: changed,
        engineDevices: { before: devicesBefore.length, during: devicesDuring.length },
        forgedOfferRefused,
        attackerSockets: counts,
        floods: floodCounts,
        rssKb: { before: rssBefore, peak: rssPeak, bound: rssBefore + MEMORY_GROWTH_BOUND_KB, peakPer5s: rssSeries },
        victimsDoneWithinMs: victimsDoneMs,
        cpu,
        attacks: [...ATTACKS],
      };
      process.stdout.write(`hostile-combined: ${JSON.stringify(report)}\n`);

      // Served, within the target, under everything at once.
      expect(igd.map((t) => t.status)).toEqual(Array(SAMPLES).fill(200));
      expect(admin.map((t) => t.status)).toEqual(Array(SAMPLES).fill(200));
      expect(report.attack.igdSoap.p99).toBeLessThanOrEqual(50);
      expect(report.attack.adminGrants.p99).toBeLessThanOrEqual(50);
      expect(add.stdout).toMatch(/Pinhole ID = \d+/);
      expect(delivered).toBe(true);
      expect(report.hubGetGrantsSeesIt).toBe(true);
      // The Matter plug: refused by the Matter rule, its records still known.
      expect(own.stdout).toContain('failed with code 606');
      expect(plugDecision.last?.reasons.map((r) => r.rule)).toContain('matter-isolation');
      expect(plugDuring?.kinds.map((k) => k.kind)).toContain('matter');
      expect(report.plug.mdnsHostDuring).toBe(plugBefore.identities.mdnsHost);
      expect(report.plug.addressesKept).toBe(true);
      // No decision changed because of a forged fact.
      expect(report.consoleIpv4Mapping.duringAnswer).toBe(true);
      expect(report.consoleIpv4Mapping.during).toEqual(report.consoleIpv4Mapping.before);
      expect(report.consoleIpv4Mapping.during?.grantFamilies).toEqual(['ipv4']);
      expect(changed).toEqual([]);
      // The attacks really ran and reached the daemon.
      expect(forgedOfferRefused).toBe(true);
      expect(floodCounts.mdnsPackets).toBeGreaterThan(400);
      expect(floodCounts.soapSent).toBeGreaterThan(100);
      expect(floodCounts.pcpSent).toBeGreaterThan(10_000);
      expect(counts.closedByServer).toBeGreaterThan(1000);
      expect(counts.wsUpgraded).toBeGreaterThanOrEqual(1);
      // Bounded memory, and every victim step ran while the attack did.
      expect(rssPeak - rssBefore).toBeLessThan(MEMORY_GROWTH_BOUND_KB);
      expect(victimsDoneMs).toBeLessThan(ATTACK_MS);
    } finally {
      clearInterval(sampler);
      sockets.child.kill('SIGKILL');
      floods.child.kill('SIGKILL');
    }
  });
});
