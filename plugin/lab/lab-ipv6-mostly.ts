/**
 * The lab's IPv6-mostly profile (`homenet lab up --profile ipv6-mostly`):
 * - router advertisements with PIO, RDNSS and PREF64 (RFC 8781) on the LAN,
 *   built by `encodeRouterAdvertisement` and sent from a raw ICMPv6 socket by
 *   a small Python (standard library) sender, because Debian's radvd cannot
 *   send PREF64;
 * - DHCPv4 with option 108 (RFC 8925) from dnsmasq;
 * - DNS64 from unbound (`dns64 iterator`), answering `AAAA ipv4only.arpa`
 *   (RFC 7050) with addresses in the lab's NAT64 prefix; the A records come from
 *   dnsmasq's DNS on 127.0.0.1:5300;
 * - NAT64 with tayga ({@link LAB_NAT64_PREFIX} -> a 192.168.255.0/24 pool, then the
 *   router's masquerade);
 * - the console runs an RFC 8925 client (`dhcp-client-agent`) asking for
 *   option 108 every few seconds.
 *
 * @example
 * ```ts
 * await labUp({ prefix: 'm1', profile: 'ipv6-mostly' });
 * await labSetPref64({ prefix: 'm1' }, '2001:db8:6464::/96'); // a new PREF64 in the next RA, at once
 * ```
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { encodeRouterAdvertisement, PrefixInformation } from '../../adapters/observe/router-advertisement';
import { runCommand } from '../../adapters/system/run-command';
import { LabPlan, labPlan, LabPlanOptions } from './lab-plan';
import { isLabProcessAlive, isPidRunning, LabProcess, startInNamespace } from './lab-process';
import { labScript } from './lab-scripts';
import { ensureLabPrograms, IPV6_MOSTLY_REQUIREMENTS } from './lab-packages';
import { LabState, readLabState, writeLabState } from './lab-state';

/**
 * A network-specific NAT64 prefix (RFC 6052 §2.3): tayga 0.9.2 refuses to
 * translate documentation IPv4 addresses (the lab's WAN) with the well-known
 * 64:ff9b::/96, and has no switch to allow it.
 */
export const LAB_NAT64_PREFIX = '2001:db8:64::/96';
export const LAB_V6ONLY_WAIT = 1800;
const NAT64_POOL = '192.168.255.0/24';
const NAT64_TUN = 'nat64';
/** tayga's own IPv6 address (required with the well-known prefix and a private pool). */
const NAT64_SELF = 'fd00:77:64::1';

/** What the RA sender sends (written as JSON; the sender re-reads it on SIGHUP). */
export interface RaSenderConfig {
  readonly interfaceName: string;
  readonly intervalSeconds: number;
  /** The RA, hex. */
  readonly message: string;
}

export function labIpv6MostlyPaths(plan: LabPlan) {
  return {
    raConfig: `${plan.runDir}/ra-sender.json`,
    dnsmasqConfig: `${plan.runDir}/dnsmasq.conf`,
    dnsmasqLeases: `${plan.runDir}/dnsmasq.leases`,
    unboundConfig: `${plan.runDir}/unbound.conf`,
    taygaConfig: `${plan.runDir}/tayga.conf`,
    taygaDir: `${plan.runDir}/tayga`,
  };
}

/**
 * The RA sender: sends the configured bytes to ff02::1 with hop limit 255
 * every interval, at once after SIGHUP (new config) and in answer to a
 * router solicitation (type 133). The kernel fills in
 * the ICMPv6 checksum and the link-local source.
 */
export const RA_SENDER_SCRIPT = String.raw`
import json, signal, socket, sys, time
path = sys.argv[1]
class Reload(Exception):
    pass
def on_hup(signum, frame):
    raise Reload()
signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
def load():
    with open(path) as f:
        return json.load(f)
config = load()
ifindex = socket.if_nametoindex(config['interfaceName'])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, 25, config['interfaceName'].encode())
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
import select
while True:
    try:
        message = bytes.fromhex(config['message'])
        s.sendto(message, ('ff02::1', 0, 0, ifindex))
        print(json.dumps({'event': 'sent', 'at': int(time.time() * 1000), 'bytes': len(message)}), flush=True)
        deadline = time.time() + config['intervalSeconds']
        while time.time() < deadline:
            ready, _, _ = select.select([s], [], [], max(0, deadline - time.time()))
            if ready:
                data, addr = s.recvfrom(2048)
                if len(data) > 0 and data[0] == 133:
                    break
    except Reload:
        config = load()
`;

/** The lab's RA: current and deprecated LAN prefixes, the router as RDNSS, the NAT64 prefix as PREF64. */
export function labRouterAdvertisement(plan: LabPlan, lanPrefixes: readonly string[], pref64: string | null, pref64Lifetime = 1800): string {
  const prefixes: PrefixInformation[] = lanPrefixes.map((prefix, i) => ({
    prefix,
    onLink: true,
    autonomous: true,
    validLifetime: 86400,
    preferredLifetime: i === 0 ? 14400 : 0,
  }));
  const bytes = encodeRouterAdvertisement({
    routerLifetime: 1800,
    prefixes,
    rdnss: [{ lifetime: 1800, servers: [plan.lan.routerIpv6] }],
    pref64: pref64 ? [{ prefix: pref64, prefixLength: Number(pref64.split('/')[1] ?? 96) as 96, lifetime: pref64Lifetime }] : [],
  });
  return Buffer.from(bytes).toString('hex');
}

function dnsmasqConfig(plan: LabPlan): string {
  const paths = labIpv6MostlyPaths(plan);
  return [
    `interface=${plan.lan.bridge}`,
    'bind-interfaces',
    'listen-address=127.0.0.1',
    'port=5300',
    'no-resolv',
    'no-hosts',
    'no-ping',
    'dhcp-authoritative',
    'dhcp-range=192.168.77.100,192.168.77.199,12h',
    `dhcp-option=option:router,${plan.lan.routerIpv4}`,
    `dhcp-option=option:ipv6-only,${LAB_V6ONLY_WAIT}`,
    `dhcp-leasefile=${paths.dnsmasqLeases}`,
    'host-record=ipv4only.arpa,192.0.0.170,192.0.0.171',
    'log-dhcp',
    '',
  ].join('\n');
}

function unboundConfig(plan: LabPlan): string {
  return `server:
  username: ""
  chroot: ""
  directory: "${plan.runDir}"
  pidfile: "${plan.runDir}/unbound.pid"
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  interface: ${plan.lan.routerIpv6}
  interface: ${plan.lan.routerIpv4}
  port: 53
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  module-config: "dns64 iterator"
  dns64-prefix: ${LAB_NAT64_PREFIX}
  do-not-query-localhost: no
  qname-minimisation: no
  num-threads: 1
forward-zone:
  name: "ipv4only.arpa."
  forward-addr: 127.0.0.1@5300
remote-control:
  control-enable: no
`;
}

function taygaConfig(plan: LabPlan): string {
  return [`tun-device ${NAT64_TUN}`, 'ipv4-addr 192.168.255.1', `ipv6-addr ${NAT64_SELF}`, `prefix ${LAB_NAT64_PREFIX}`, `dynamic-pool ${NAT64_POOL}`, `data-dir ${labIpv6MostlyPaths(plan).taygaDir}`, ''].join('\n');
}

async function waitListening(namespace: string, protocol: 'tcp' | 'udp', port: number, proc: LabProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isPidRunning(proc.pid)) {
      const { stdout } = await runCommand('tail', ['-n', '20', proc.log], { allowFailure: true });
      throw new Error(`${proc.name} exited during start:\n${stdout}`);
    }
    const { stdout } = await runCommand('ip', ['netns', 'exec', namespace, 'ss', protocol === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port}`], { allowFailure: true });
    if (stdout.trim()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${proc.name} did not listen on ${protocol}/${port} within ${timeoutMs} ms (log ${proc.log})`);
}

function python(): string {
  return '/usr/bin/python3';
}

/** Starts every part of the profile; each started process is recorded in the returned state. */
export async function startIpv6Mostly(plan: LabPlan, state: LabState, log: (line: string) => void = () => undefined): Promise<LabState> {
  await ensureLabPrograms(log, IPV6_MOSTLY_REQUIREMENTS);
  const paths = labIpv6MostlyPaths(plan);
  const router = plan.hosts.router.namespace;
  let current: LabState = { ...state };
  const record = async (proc: LabProcess) => {
    current = { ...current, processes: [...current.processes, proc] };
    await writeLabState(current);
  };
  const lanPrefixes = state.lanPrefixes ?? [plan.wan.lanIpv6Prefix];
  // RAs with PIO, RDNSS and PREF64.
  const raConfig: RaSenderConfig = { interfaceName: plan.lan.bridge, intervalSeconds: 10, message: labRouterAdvertisement(plan, lanPrefixes, LAB_NAT64_PREFIX) };
  await writeFile(paths.raConfig, JSON.stringify(raConfig));
  await record(startInNamespace('ra-sender', router, [python(), '-c', RA_SENDER_SCRIPT, paths.raConfig], `${plan.runDir}/ra-sender.log`));
  // DHCPv4 with option 108, and the A records of ipv4only.arpa for DNS64.
  await writeFile(paths.dnsmasqConfig, dnsmasqConfig(plan));
  const dnsmasq = startInNamespace('dnsmasq', router, ['dnsmasq', '--keep-in-foreground', '--log-facility=-', `--conf-file=${paths.dnsmasqConfig}`, `--pid-file=${plan.runDir}/dnsmasq.pid`], `${plan.runDir}/dnsmasq.log`);
  await record(dnsmasq);
  await waitListening(router, 'udp', 67, dnsmasq);
  // DNS64.
  await writeFile(paths.unboundConfig, unboundConfig(plan));
  const unbound = startInNamespace('unbound', router, ['unbound', '-d', '-c', paths.unboundConfig], `${plan.runDir}/unbound.log`);
  await record(unbound);
  await waitListening(router, 'udp', 53, unbound);
  // NAT64.
  await mkdir(paths.taygaDir, { recursive: true });
  await writeFile(paths.taygaConfig, taygaConfig(plan));
  const exec = (args: string[]) => runCommand('ip', ['netns', 'exec', router, ...args]);
  await exec(['tayga', '--mktun', '-c', paths.taygaConfig]);
  await exec(['ip', 'link', 'set', NAT64_TUN, 'up']);
  await exec(['ip', 'route', 'add', NAT64_POOL, 'dev', NAT64_TUN]);
  await exec(['ip', 'route', 'add', LAB_NAT64_PREFIX, 'dev', NAT64_TUN]);
  await exec(['ip', 'route', 'add', `${NAT64_SELF}/128`, 'dev', NAT64_TUN]);
  await exec(['nft', 'insert', 'rule', 'inet', 'filter', 'forward', 'iifname', NAT64_TUN, 'oifname', 'wan0', 'accept']);
  await exec(['nft', 'insert', 'rule', 'inet', 'filter', 'forward', 'iifname', plan.lan.bridge, 'oifname', NAT64_TUN, 'accept']);
  await record(startInNamespace('tayga', router, ['tayga', '--nodetach', '-c', paths.taygaConfig], `${plan.runDir}/tayga.log`));
  // The console is an RFC 8925 client.
  await record(startInNamespace('v6only-client', plan.hosts.console.namespace, [process.execPath, labScript('dhcp-client-agent'), 'eth0', '3000'], `${plan.runDir}/v6only-client.log`));
  current = { ...current, profile: 'ipv6-mostly' };
  await writeLabState(current);
  return current;
}

/** Rewrites the RA and makes the sender send it at once (SIGHUP). */
export async function updateLabRouterAdvertisement(plan: LabPlan, state: LabState, pref64: string | null, pref64Lifetime = 1800): Promise<void> {
  const sender = state.processes.find((p) => p.name === 'ra-sender' && isLabProcessAlive(p));
  if (!sender) throw new Error(`lab '${plan.prefix}' does not run the ipv6-mostly profile (no RA sender)`);
  const paths = labIpv6MostlyPaths(plan);
  const lanPrefixes = state.lanPrefixes ?? [plan.wan.lanIpv6Prefix];
  const config: RaSenderConfig = { interfaceName: plan.lan.bridge, intervalSeconds: 10, message: labRouterAdvertisement(plan, lanPrefixes, pref64, pref64Lifetime) };
  await writeFile(`${paths.raConfig}.tmp`, JSON.stringify(config));
  await runCommand('mv', [`${paths.raConfig}.tmp`, paths.raConfig]);
  process.kill(sender.pid, 'SIGHUP');
}

/**
 * Announces a different PREF64 in an RA sent at once; `null` withdraws the
 * current one (PREF64 with lifetime 0, RFC 8781 §5: absence alone withdraws
 * nothing). Returns the time the RA was requested (ms since epoch), for
 * measurements.
 */
export async function labSetPref64(options: LabPlanOptions, pref64: string | null): Promise<number> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  const at = Date.now();
  await updateLabRouterAdvertisement(plan, state, pref64 ?? state.pref64 ?? LAB_NAT64_PREFIX, pref64 === null ? 0 : 1800);
  await writeLabState({ ...state, pref64: pref64 ?? undefined });
  return at;
}
