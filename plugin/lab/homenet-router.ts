/**
 * The lab router run by homenet instead of miniupnpd (`homenet lab up
 * --router homenet`): `homenet serve --mode gateway` in the router
 * namespace, with its own nftables table (`inet homenet`) enforcing, its
 * SQLite journal and its admin API on the LAN side of the router.
 *
 * Composition with the lab's RFC 6092 firewall (`router-firewall.ts`): the
 * lab's default-deny `inet filter` forward chain already jumps to chain
 * `miniupnpd` before its final drop; homenet's table marks what it permits,
 * so one rule there — the nftables adapter's `hostAcceptRule()`, `meta mark
 * & 0x100 == 0x100 accept` — lets permitted packets through. Nothing else of
 * the lab's ruleset changes, and the daemon never touches table `filter`.
 *
 * The daemon knows the lab's Matter devices (the plug, the lock) from its
 * configuration, by MAC, so it recognises them from any of their addresses.
 * It also observes the LAN (`devices.observe`: the passive Matter mDNS
 * watcher and the IPv6-mostly detector on the bridge), so a test can drop
 * `devices.known` and have the devices learned instead.
 *
 * @example
 * ```ts
 * const router = await startHomenetRouter(plan);
 * router.process.pid;            // the daemon, in `<prefix>-router`
 * router.admin.url;              // 'http://192.168.77.1:8780' (reachable from the LAN namespaces)
 * await restartHomenetRouter(plan, router.process, 'SIGKILL'); // a crash, then a fresh start
 * ```
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createNftablesAdapter } from '../../adapters/nftables';
import { runCommand } from '../../adapters/system/run-command';
import { LabDaemon, LabDaemonOptions, LabDaemonPaths, labAdminToken, mergeConfigSections, startLabDaemon } from './lab-daemon';
import { LabPlan, labPlan, LabPlanOptions, LabRole } from './lab-plan';
import { readLabState, writeLabState } from './lab-state';
import { isLabProcessAlive, LabProcess, stopLabProcess } from './lab-process';
import { labScript } from './lab-scripts';

/** The lab process name of the homenet router daemon. */
export const HOMENET_ROUTER_DAEMON = 'homenet-gateway';
/** Where the admin API listens: the router's LAN address, so the hub (or a test) can reach it. */
export const HOMENET_ADMIN_PORT = 8780;

export type HomenetRouterPaths = LabDaemonPaths;

export type HomenetRouter = LabDaemon;

export type HomenetRouterOptions = LabDaemonOptions;

export function homenetRouterPaths(plan: LabPlan): HomenetRouterPaths {
  const dir = `${plan.runDir}/homenet-gateway`;
  return { dir, config: `${dir}/gateway.json`, journal: `${dir}/journal.db`, token: `${dir}/admin-token`, log: `${dir}/gateway.log` };
}

/** The compiled CLI the router namespace runs (`dist/plugin/cli/main.js`: the journal's native module cannot be bundled). */
export function homenetCliScript(): string {
  return join(dirname(labScript('probe-agent')), '..', 'cli', 'main.js');
}

async function macOf(plan: LabPlan, role: LabRole): Promise<string | undefined> {
  const { stdout } = await runCommand('ip', ['-n', plan.hosts[role].namespace, '-j', 'link', 'show', 'eth0'], { allowFailure: true });
  try {
    return (JSON.parse(stdout) as { address?: string }[])[0]?.address;
  } catch {
    return undefined;
  }
}

/** The daemon's configuration for this lab. */
export async function homenetRouterConfig(plan: LabPlan, options: HomenetRouterOptions = {}): Promise<Record<string, unknown>> {
  const paths = homenetRouterPaths(plan);
  const known: Record<string, unknown>[] = [];
  for (const role of ['plug', 'lock'] as const) {
    const host = plan.hosts[role];
    const mac = await macOf(plan, role);
    const addresses = host.interfaces.flatMap((i) => [...i.ipv4.map((a) => a.address), ...i.ipv6.map((a) => a.address)]);
    known.push({ id: role, kind: 'matter', ...(mac ? { mac } : {}), addresses });
  }
  const base: Record<string, unknown> = {
    lan: { interfaces: [plan.lan.bridge] },
    wan: { interface: 'wan0', ipv4: { source: 'interface' } },
    firewall: { table: 'homenet' },
    journal: { path: paths.journal },
    admin: { listen: `${plan.lan.routerIpv4}:${HOMENET_ADMIN_PORT}`, tokenFile: paths.token },
    upnp: { httpPort: plan.upnpHttpPort },
    // PCP / NAT-PMP on 5351 of the LAN; the hub (a home hub) may map for other hosts (THIRD_PARTY).
    pcp: { controllers: plan.hosts.hub.interfaces.flatMap((i) => [...i.ipv4.map((a) => a.address), ...i.ipv6.map((a) => a.address)]) },
    // LAN observation on (lan-observation.ts): Matter devices and IPv6-only hosts are learned from the LAN too.
    devices: { known, watchNeighbours: true, observe: { matter: true, ipv6Mostly: true } },
    log: { level: options.logLevel ?? 'info' },
  };
  return mergeConfigSections(base, options.config);
}

/** Lets the packets homenet's table marks through the lab's default-deny forward chain (once). */
export async function allowHomenetMarks(plan: LabPlan): Promise<void> {
  const ns = plan.hosts.router.namespace;
  const rule = createNftablesAdapter({ table: 'homenet', wanInterfaces: ['wan0'] }).hostAcceptRule();
  const { stdout } = await runCommand('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'filter', 'miniupnpd'], { allowFailure: true });
  if (stdout.includes('homenet permissions')) return;
  await runCommand('ip', ['netns', 'exec', ns, 'nft', `add rule inet filter miniupnpd ${rule}`]);
}

/**
 * Writes the configuration (and a fresh admin token, once), allows homenet's
 * marks in the lab firewall, and starts the daemon; resolves when its IGD and
 * admin API listen.
 */
export async function startHomenetRouter(plan: LabPlan, options: HomenetRouterOptions = {}): Promise<HomenetRouter> {
  const paths = homenetRouterPaths(plan);
  await mkdir(paths.dir, { recursive: true });
  const token = await labAdminToken(paths.token);
  await writeFile(paths.config, `${JSON.stringify(await homenetRouterConfig(plan, options), null, 2)}\n`);
  await allowHomenetMarks(plan);
  const proc = await startLabDaemon({
    name: HOMENET_ROUTER_DAEMON,
    namespace: plan.hosts.router.namespace,
    command: [process.execPath, homenetCliScript(), 'serve', '--mode', 'gateway', '--config', paths.config],
    log: paths.log,
    ports: [plan.upnpHttpPort, HOMENET_ADMIN_PORT],
    what: 'homenet serve',
    timeoutMs: 15_000,
  });
  return { process: proc, paths, admin: { url: `http://${plan.lan.routerIpv4}:${HOMENET_ADMIN_PORT}`, token } };
}

/** Stops the daemon with `signal` (SIGKILL: a crash) and starts it again on the same journal and table. */
export async function restartHomenetRouter(plan: LabPlan, running: LabProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', options: HomenetRouterOptions = {}): Promise<HomenetRouter> {
  if (running && isLabProcessAlive(running)) await stopLabProcess(running, 5000, signal);
  const router = await startHomenetRouter(plan, options);
  await recordHomenetRouter(plan, router.process);
  return router;
}

/**
 * Makes a running lab's router homenet: miniupnpd (if it runs) is stopped,
 * the homenet daemon started, and the lab state records it so `lab down`
 * stops it. Idempotent: a lab already on homenet keeps its daemon.
 */
export async function useHomenetRouter(options: LabPlanOptions & HomenetRouterOptions & { log?: (line: string) => void }): Promise<HomenetRouter> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  const paths = homenetRouterPaths(plan);
  const running = state.processes.find((p) => p.name === HOMENET_ROUTER_DAEMON && isLabProcessAlive(p));
  if (running) return { process: running, paths, admin: { url: `http://${plan.lan.routerIpv4}:${HOMENET_ADMIN_PORT}`, token: (await readFile(paths.token, 'utf8')).trim() } };
  for (const p of state.processes.filter((q) => q.name === 'miniupnpd')) await stopLabProcess(p);
  const router = await startHomenetRouter(plan, options);
  await writeLabState({ ...state, processes: [...state.processes.filter((p) => p.name !== 'miniupnpd' && p.name !== HOMENET_ROUTER_DAEMON), router.process] });
  options.log?.(`lab '${plan.prefix}' router: homenet serve --mode gateway (pid ${router.process.pid}), admin API ${router.admin.url}`);
  return router;
}

/** Records a (re)started daemon in the lab state, replacing the previous one. */
export async function recordHomenetRouter(plan: LabPlan, proc: LabProcess): Promise<void> {
  const state = await readLabState(plan.runDir);
  if (!state) return;
  await writeLabState({ ...state, processes: [...state.processes.filter((p) => p.name !== HOMENET_ROUTER_DAEMON), proc] });
}
