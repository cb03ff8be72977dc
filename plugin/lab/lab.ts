/**
 * The built-in lab home: a real router (Debian's miniupnpd, IGD:2 with IPv6
 * pinholes, NAT-PMP/PCP) behind an RFC 6092 default-deny nftables firewall, two
 * LAN consoles with stable, temporary, ULA and link-local IPv6 addresses, and a
 * WAN peer playing the remote player and a STUN server, each in its own Linux
 * network namespace. Needs root. `wan: 'cgnat' | 'double-nat'` puts a carrier
 * or upstream home router namespace with a NAT44 between the router and the
 * WAN peer (see `lab-plan.ts` and `upstream-nat.ts`).
 *
 * @example
 * ```ts
 * import { labUp, labDown, labExec } from 'homenet-controller/dist/plugin/lab/lab';
 * const lab = await labUp({ prefix: 'demo' });
 * const { stdout } = await labExec(lab.plan, 'console', ['ip', '-6', 'addr']);
 * await labDown({ prefix: 'demo' });
 * const behindCgnat = await labUp({ prefix: 'cg', wan: 'cgnat', udpTimeoutSeconds: 30 });
 * await labDown({ prefix: 'cg' });
 * ```
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { LabPlan, LabRole, labPlan, LabPlanOptions } from './lab-plan';
import { buildLabNetwork, existingNamespaces, removeLabNetwork } from './lab-network';
import { ensureLabPrograms } from './lab-packages';
import { isLabProcessAlive, isPidRunning, LabProcess, startInNamespace, stopLabProcess } from './lab-process';
import { readLabState, removeLabRunDir, writeLabState, LabState } from './lab-state';
import { miniupnpdAllowsThirdParty, miniupnpdConfig, miniupnpdPaths, MiniupnpdConfigOptions } from './miniupnpd-config';
import { routerFirewallRuleset } from './router-firewall';
import { CommandResult, runCommand, RunOptions } from '../../adapters/system/run-command';
import { commissionLabMatterDevice, labMatterDevices, LabMatterDevice, startLabMatterDevice, stopLabMatterDevice } from './matter-lab-devices';
import { startIpv6Mostly } from './lab-ipv6-mostly';
import { loadUpstreamNat } from './upstream-nat';
// Gateway mode (issue 5): the router can run homenet instead of miniupnpd.
import { HOMENET_ROUTER_DAEMON, homenetRouterPaths, restartHomenetRouter, startHomenetRouter, useHomenetRouter } from './homenet-router';
import { isListeningOn, tailOfFile } from './lab-daemon';

export interface LabUpOptions extends LabPlanOptions {
  readonly log?: (line: string) => void;
  /**
   * Also start the lab's real matter.js devices (the plug, commissioned into
   * the lab's fabric by the hub's controller, and the uncommissioned lock).
   * Off by default so a plain `up` stays fast.
   */
  readonly matter?: boolean;
  /** `ipv6-mostly`: RAs with PIO/RDNSS/PREF64, DHCPv4 option 108, DNS64, NAT64 (see `lab-ipv6-mostly.ts`). */
  readonly profile?: LabProfile;
  /** The router's UPnP daemon: Debian's miniupnpd (default) or `homenet serve --mode gateway` (see `homenet-router.ts`). */
  readonly router?: 'miniupnpd' | 'homenet';
  /** miniupnpd accepts PCP's THIRD_PARTY option (`pcp_allow_thirdparty=yes`; see `miniupnpd-config.ts`). */
  readonly pcpThirdParty?: boolean;
}

export type LabProfile = 'default' | 'ipv6-mostly';

export interface LabHandle {
  readonly plan: LabPlan;
  readonly state: LabState;
  /** False when `up` found this lab already running and healthy. */
  readonly created: boolean;
}

export interface LabStatus {
  readonly prefix: string;
  readonly running: boolean;
  readonly namespaces: { name: string; role: LabRole | 'carrier' | 'upstream'; present: boolean }[];
  readonly processes: (LabProcess & { alive: boolean })[];
  readonly plan: LabPlan;
  readonly profile?: LabProfile;
  readonly matter?: LabState['matter'];
  readonly lanPrefixes?: LabState['lanPrefixes'];
}

const ROUTER_DAEMON = 'miniupnpd';
const STUN_DAEMON = 'stund';

/**
 * The plan of the lab as it was built: the WAN kind and UDP timeout come from
 * its state file (so callers that know only the prefix get the carrier or
 * upstream too), falling back to `options` when the lab is not up.
 */
export async function runningLabPlan(options: LabPlanOptions): Promise<LabPlan> {
  const plan = labPlan({ prefix: options.prefix, ...(options.runDir ? { runDir: options.runDir } : {}) });
  const state = await readLabState(plan.runDir);
  if (!state?.wan) return labPlan(options);
  return labPlan({ ...options, wan: state.wan, udpTimeoutSeconds: state.udpTimeoutSeconds, natMapping: state.natMapping });
}

export async function labStatus(options: LabPlanOptions): Promise<LabStatus> {
  const plan = await runningLabPlan(options);
  const present = await existingNamespaces();
  const state = await readLabState(plan.runDir);
  const namespaces: LabStatus['namespaces'] = Object.values(plan.hosts).map((h) => ({ name: h.namespace, role: h.role, present: present.has(h.namespace) }));
  if (plan.upstream) namespaces.push({ name: plan.upstream.namespace, role: plan.upstream.role, present: present.has(plan.upstream.namespace) });
  const processes = (state?.processes ?? []).map((p) => ({ ...p, alive: isLabProcessAlive(p) }));
  const running =
    state !== undefined &&
    namespaces.every((n) => n.present) &&
    [STUN_DAEMON].every((name) => processes.some((p) => p.name === name && p.alive)) &&
    processes.some((p) => (p.name === ROUTER_DAEMON || p.name === HOMENET_ROUTER_DAEMON) && p.alive);
  return {
    prefix: plan.prefix,
    running,
    namespaces,
    processes,
    plan,
    ...(state?.profile ? { profile: state.profile } : {}),
    ...(state?.matter ? { matter: state.matter } : {}),
    ...(state?.lanPrefixes ? { lanPrefixes: state.lanPrefixes } : {}),
  };
}

/** The last 20 lines of a lab process's log. */
const tailOf = (file: string): Promise<string> => tailOfFile(file, 20);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const tail = logFile ? `\n--- ${logFile}:\n${await tailOf(logFile)}` : '';
  throw new Error(`${what} did not come up within ${timeoutMs} ms${tail}`);
}

const isListening = (namespace: string, protocol: 'tcp' | 'udp', port: number): Promise<boolean> => isListeningOn(namespace, port, protocol);

async function startStun(plan: LabPlan): Promise<LabProcess> {
  const wan = plan.hosts.wan.namespace;
  const proc = startInNamespace(STUN_DAEMON, wan, ['stund', '-h', plan.wan.peerIpv4, '-a', plan.wan.peerIpv4Alternate], `${plan.runDir}/stund.log`);
  await waitFor('the STUN server', () => isListening(wan, 'udp', plan.stunPort), 5000, proc.log);
  return proc;
}

/**
 * Starts miniupnpd in the router namespace. In foreground mode without
 * /dev/log it copies every log line to /dev/console (a slow tty here), so it
 * runs in a private mount namespace where /dev/console is /dev/null.
 */
export async function startRouterDaemon(plan: LabPlan, options: MiniupnpdConfigOptions = {}): Promise<LabProcess> {
  const paths = miniupnpdPaths(plan);
  await writeFile(paths.config, miniupnpdConfig(plan, options));
  const router = plan.hosts.router.namespace;
  const script = `mount --bind /dev/null /dev/console && exec miniupnpd -d -f '${paths.config}' -P '${paths.pidFile}'`;
  const proc = startInNamespace(ROUTER_DAEMON, router, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], paths.log);
  await waitFor(
    'miniupnpd',
    async () => {
      if (!isPidRunning(proc.pid)) throw new Error(`miniupnpd exited during start:\n${await tailOf(paths.log)}`);
      return isListening(router, 'tcp', plan.upnpHttpPort);
    },
    10_000,
    paths.log,
  );
  return proc;
}

export async function loadRouterFirewall(plan: LabPlan): Promise<void> {
  await runCommand('ip', ['netns', 'exec', plan.hosts.router.namespace, 'nft', '-f', '-'], { input: routerFirewallRuleset(plan) });
}

/**
 * Builds the lab home, or returns the running one when it is already up and
 * healthy (idempotent). A half-built lab is torn down and built again.
 */
export async function labUp(options: LabUpOptions): Promise<LabHandle> {
  const log = options.log ?? (() => undefined);
  const plan = labPlan(options);
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, nftables)');
  await ensureLabPrograms(log);
  const status = await labStatus(options);
  const state = await readLabState(plan.runDir);
  if (status.running && state && options.wan !== undefined && (state.wan ?? 'public') !== options.wan) {
    throw new Error(`lab '${plan.prefix}' is up with --wan ${state.wan ?? 'public'}; run 'homenet lab down --prefix ${plan.prefix}' first to change it to ${options.wan}`);
  }
  if (status.running && state) {
    const changed = [
      options.udpTimeoutSeconds !== undefined && options.udpTimeoutSeconds !== state.udpTimeoutSeconds ? `--udp-timeout ${options.udpTimeoutSeconds}` : undefined,
      options.natMapping !== undefined && options.natMapping !== (state.natMapping ?? 'eim') ? `--nat-mapping ${options.natMapping}` : undefined,
    ].filter((c) => c !== undefined);
    if (changed.length > 0) throw new Error(`lab '${plan.prefix}' is up with other NAT settings; run 'homenet lab down --prefix ${plan.prefix}' first to use ${changed.join(' ')}`);
    const running = await runningLabPlan(options);
    const extended = await extendLab(running, state, options, log);
    return { plan: running, state: extended, created: false };
  }
  if (state || status.namespaces.some((n) => n.present)) {
    log(`lab '${plan.prefix}' is partly up; tearing it down first`);
    await labDown(options);
  }
  await mkdir(plan.runDir, { recursive: true });
  const processes: LabProcess[] = [];
  const startedAt = new Date().toISOString();
  // Recorded only for the NAT kinds, so a public lab's state is unchanged.
  const access: Pick<LabState, 'wan' | 'udpTimeoutSeconds' | 'natMapping'> = plan.upstream
    ? {
        wan: plan.wan.kind,
        natMapping: plan.upstream.natMapping,
        ...(plan.upstream.udpTimeoutSeconds !== undefined ? { udpTimeoutSeconds: plan.upstream.udpTimeoutSeconds } : {}),
      }
    : {};
  try {
    await buildLabNetwork(plan);
    await loadUpstreamNat(plan);
    await loadRouterFirewall(plan);
    processes.push(await startStun(plan));
    // Record what runs so far: a failure below must still be able to kill it.
    await writeLabState({ prefix: plan.prefix, runDir: plan.runDir, startedAt, processes, ...access });
    processes.push(options.router === 'homenet' ? (await startHomenetRouter(plan)).process : await startRouterDaemon(plan, { pcpAllowThirdParty: options.pcpThirdParty === true }));
    const baseState: LabState = { prefix: plan.prefix, runDir: plan.runDir, startedAt, processes, ...access };
    await writeLabState(baseState);
    const finalState = await extendLab(plan, baseState, options, log);
    log(`lab '${plan.prefix}' is up`);
    return { plan, state: finalState, created: true };
  } catch (error) {
    // Record every process started so far (the extensions wrote theirs to the state file) so `down` kills them all.
    const written = await readLabState(plan.runDir).catch(() => undefined);
    const all = [...processes, ...(written?.processes ?? []).filter((p) => !processes.some((q) => q.pid === p.pid))];
    await writeLabState({ prefix: plan.prefix, runDir: plan.runDir, startedAt, processes: all, ...access }).catch(() => undefined);
    await labDown(options).catch(() => undefined);
    throw error;
  }
}

/**
 * Adds what `options` asks for and a running lab lacks: the Matter devices
 * and the IPv6-mostly profile. The state is written after each step, so a
 * failure leaves every started process recorded for `down`.
 */
async function extendLab(plan: LabPlan, state: LabState, options: LabUpOptions, log: (line: string) => void): Promise<LabState> {
  let current = state;
  if (options.router === 'homenet' && !current.processes.some((p) => p.name === HOMENET_ROUTER_DAEMON)) {
    await useHomenetRouter({ prefix: plan.prefix, runDir: plan.runDir, log });
    current = (await readLabState(plan.runDir)) ?? current;
  }
  if (options.pcpThirdParty && options.router !== 'homenet' && current.processes.some((p) => p.name === ROUTER_DAEMON) && !(await miniupnpdAllowsThirdParty(plan))) {
    log('restarting miniupnpd with pcp_allow_thirdparty=yes');
    await labRebootRouter({ prefix: plan.prefix, runDir: plan.runDir, pcpThirdParty: true });
    current = (await readLabState(plan.runDir)) ?? current;
  }
  const profile = options.profile ?? 'default';
  if (profile === 'ipv6-mostly' && current.profile !== 'ipv6-mostly') {
    log('starting the IPv6-mostly profile (RA with PREF64, DHCPv4 option 108, DNS64, NAT64)');
    current = await startIpv6Mostly(plan, current, log);
    await writeLabState(current);
  }
  if (options.matter && !current.matter) {
    current = await startLabMatter(plan, current, log);
  }
  return current;
}

/** Starts the lab's Matter devices and commissions the ones the plan says into the lab's fabric. */
export async function startLabMatter(plan: LabPlan, state: LabState, log: (line: string) => void = () => undefined): Promise<LabState> {
  let current = state;
  const commissioned: NonNullable<LabState['matter']>['commissioned'][number][] = [];
  for (const device of labMatterDevices(plan)) {
    if (current.processes.some((p) => p.name === device.process && isLabProcessAlive(p))) continue;
    const { process: proc } = await startLabMatterDevice(plan, device);
    current = { ...current, processes: [...current.processes, proc] };
    await writeLabState(current);
    log(`Matter ${device.role} online in ${proc.namespace} (pid ${proc.pid})`);
  }
  for (const device of labMatterDevices(plan).filter((d) => d.commissioned)) {
    const result = await commissionLabMatterDevice(plan, device);
    commissioned.push(result);
    log(`Matter ${device.role} commissioned: node ${result.nodeId} in fabric ${result.compressedFabricId} (${result.elapsedMs} ms)`);
  }
  current = { ...current, matter: { commissioned } };
  await writeLabState(current);
  return current;
}

/** The running process of a lab Matter device, if any. */
export function labMatterProcess(state: LabState, device: LabMatterDevice): LabProcess | undefined {
  return state.processes.find((p) => p.name === device.process && isLabProcessAlive(p));
}

/**
 * Stops or starts one lab Matter device (its storage is kept, so a
 * commissioned device comes back commissioned). Returns the time the device
 * reported itself online, for measurements.
 */
export async function labMatterDevice(options: LabPlanOptions & { role: 'plug' | 'lock'; action: 'start' | 'stop' }): Promise<{ onlineAt?: number; process?: LabProcess }> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  const device = labMatterDevices(plan).find((d) => d.role === options.role)!;
  const running = labMatterProcess(state, device);
  if (options.action === 'stop') {
    if (running) await stopLabMatterDevice(running);
    await writeLabState({ ...state, processes: state.processes.filter((p) => p.name !== device.process) });
    return {};
  }
  if (running) return { process: running };
  const { process: proc, onlineAt } = await startLabMatterDevice(plan, device);
  await writeLabState({ ...state, processes: [...state.processes.filter((p) => p.name !== device.process), proc] });
  return { onlineAt, process: proc };
}

/** Kills only the processes this lab started (by pid, checked) and deletes only its namespaces. */
export async function labDown(options: LabPlanOptions): Promise<{ killed: string[]; removed: string[] }> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  const killed: string[] = [];
  for (const proc of state?.processes ?? []) {
    if (isLabProcessAlive(proc)) {
      await stopLabProcess(proc);
      killed.push(`${proc.name}:${proc.pid}`);
    }
  }
  const removed = await removeLabNetwork(plan);
  await removeLabRunDir(plan.runDir);
  return { killed, removed };
}

/** Runs a command inside a role's namespace. */
export function labExec(plan: LabPlan, role: LabRole, command: readonly string[], options?: RunOptions): Promise<CommandResult> {
  return runCommand('ip', ['netns', 'exec', plan.hosts[role].namespace, ...command], options);
}

/**
 * Simulates a router reboot: miniupnpd is killed, its firewall rules are
 * flushed as a power cycle would, and it starts again with a new BOOTID. On a
 * lab whose router is homenet, the gateway daemon is killed and started again.
 * With `keepLeases: false` its lease files are deleted first, so it comes back
 * knowing nothing of the pinholes and mappings it had.
 */
export async function labRebootRouter(options: LabPlanOptions & { keepLeases?: boolean; pcpThirdParty?: boolean }): Promise<LabProcess> {
  const plan = await runningLabPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  const gateway = state.processes.find((p) => p.name === HOMENET_ROUTER_DAEMON);
  if (gateway) {
    // Gateway mode: a crash and a fresh start on the same journal and table;
    // forgetting leases also loses the journal and the kernel table, as a
    // router without persistent storage would after a power cycle.
    if (options.keepLeases === false) {
      const journal = homenetRouterPaths(plan).journal;
      for (const f of [journal, `${journal}-wal`, `${journal}-shm`]) await rm(f, { force: true });
      await runCommand('ip', ['netns', 'exec', plan.hosts.router.namespace, 'nft', 'delete', 'table', 'inet', 'homenet'], { allowFailure: true });
    }
    return (await restartHomenetRouter(plan, gateway, 'SIGKILL')).process;
  }
  const old = state.processes.find((p) => p.name === ROUTER_DAEMON);
  if (old) await stopLabProcess(old, 2000, 'SIGKILL');
  const paths = miniupnpdPaths(plan);
  if (options.keepLeases === false) {
    await rm(paths.leaseFile, { force: true });
    await rm(paths.leaseFile6, { force: true });
  }
  await rm(paths.pidFile, { force: true });
  await loadRouterFirewall(plan);
  const pcpAllowThirdParty = options.pcpThirdParty ?? (await miniupnpdAllowsThirdParty(plan));
  const fresh = await startRouterDaemon(plan, { leaseFiles: options.keepLeases !== false, pcpAllowThirdParty });
  const processes = [...state.processes.filter((p) => p.name !== ROUTER_DAEMON), fresh];
  await writeLabState({ ...state, processes });
  return fresh;
}
