/**
 * The built-in lab home: a real router (Debian's miniupnpd, IGD:2 with IPv6
 * pinholes, NAT-PMP/PCP) behind an RFC 6092 default-deny nftables firewall, two
 * LAN consoles with stable, temporary, ULA and link-local IPv6 addresses, and a
 * WAN peer playing the remote player and a STUN server, each in its own Linux
 * network namespace. Needs root.
 *
 * @example
 * ```ts
 * import { labUp, labDown, labExec } from 'homenet-controller/dist/plugin/lab/lab';
 * const lab = await labUp({ prefix: 'demo' });
 * const { stdout } = await labExec(lab.plan, 'console', ['ip', '-6', 'addr']);
 * await labDown({ prefix: 'demo' });
 * ```
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { LabPlan, LabRole, labPlan, LabPlanOptions } from './lab-plan';
import { buildLabNetwork, existingNamespaces, removeLabNetwork } from './lab-network';
import { ensureLabPrograms } from './lab-packages';
import { isLabProcessAlive, isPidRunning, LabProcess, startInNamespace, stopLabProcess } from './lab-process';
import { readLabState, removeLabRunDir, writeLabState, LabState } from './lab-state';
import { miniupnpdConfig, miniupnpdPaths, MiniupnpdConfigOptions } from './miniupnpd-config';
import { routerFirewallRuleset } from './router-firewall';
import { CommandResult, runCommand, RunOptions } from '../../adapters/system/run-command';

export interface LabUpOptions extends LabPlanOptions {
  readonly log?: (line: string) => void;
}

export interface LabHandle {
  readonly plan: LabPlan;
  readonly state: LabState;
  /** False when `up` found this lab already running and healthy. */
  readonly created: boolean;
}

export interface LabStatus {
  readonly prefix: string;
  readonly running: boolean;
  readonly namespaces: { name: string; role: LabRole; present: boolean }[];
  readonly processes: (LabProcess & { alive: boolean })[];
  readonly plan: LabPlan;
}

const ROUTER_DAEMON = 'miniupnpd';
const STUN_DAEMON = 'stund';

export async function labStatus(options: LabPlanOptions): Promise<LabStatus> {
  const plan = labPlan(options);
  const present = await existingNamespaces();
  const state = await readLabState(plan.runDir);
  const namespaces = Object.values(plan.hosts).map((h) => ({ name: h.namespace, role: h.role, present: present.has(h.namespace) }));
  const processes = (state?.processes ?? []).map((p) => ({ ...p, alive: isLabProcessAlive(p) }));
  const running =
    state !== undefined &&
    namespaces.every((n) => n.present) &&
    [ROUTER_DAEMON, STUN_DAEMON].every((name) => processes.some((p) => p.name === name && p.alive));
  return { prefix: plan.prefix, running, namespaces, processes, plan };
}

async function tailOf(file: string): Promise<string> {
  const { stdout } = await runCommand('tail', ['-n', '20', file], { allowFailure: true });
  return stdout;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const tail = logFile ? `\n--- ${logFile}:\n${await tailOf(logFile)}` : '';
  throw new Error(`${what} did not come up within ${timeoutMs} ms${tail}`);
}

async function isListening(namespace: string, protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
  const flag = protocol === 'tcp' ? '-Hltn' : '-Hlun';
  const { stdout } = await runCommand('ip', ['netns', 'exec', namespace, 'ss', flag, `sport = :${port}`], { allowFailure: true });
  return stdout.trim().length > 0;
}

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
  if (status.running && state) return { plan, state, created: false };
  if (state || status.namespaces.some((n) => n.present)) {
    log(`lab '${plan.prefix}' is partly up; tearing it down first`);
    await labDown(options);
  }
  await mkdir(plan.runDir, { recursive: true });
  const processes: LabProcess[] = [];
  const startedAt = new Date().toISOString();
  try {
    await buildLabNetwork(plan);
    await loadRouterFirewall(plan);
    processes.push(await startStun(plan));
    // Record what runs so far: a failure below must still be able to kill it.
    await writeLabState({ prefix: plan.prefix, runDir: plan.runDir, startedAt, processes });
    processes.push(await startRouterDaemon(plan));
    const finalState: LabState = { prefix: plan.prefix, runDir: plan.runDir, startedAt, processes };
    await writeLabState(finalState);
    log(`lab '${plan.prefix}' is up`);
    return { plan, state: finalState, created: true };
  } catch (error) {
    await writeLabState({ prefix: plan.prefix, runDir: plan.runDir, startedAt, processes }).catch(() => undefined);
    await labDown(options).catch(() => undefined);
    throw error;
  }
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
 * flushed as a power cycle would, and it starts again with a new BOOTID.
 * With `keepLeases: false` its lease files are deleted first, so it comes back
 * knowing nothing of the pinholes and mappings it had.
 */
export async function labRebootRouter(options: LabPlanOptions & { keepLeases?: boolean }): Promise<LabProcess> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  const old = state.processes.find((p) => p.name === ROUTER_DAEMON);
  if (old) await stopLabProcess(old, 2000, 'SIGKILL');
  const paths = miniupnpdPaths(plan);
  if (options.keepLeases === false) {
    await rm(paths.leaseFile, { force: true });
    await rm(paths.leaseFile6, { force: true });
  }
  await rm(paths.pidFile, { force: true });
  await loadRouterFirewall(plan);
  const fresh = await startRouterDaemon(plan, { leaseFiles: options.keepLeases !== false });
  const processes = [...state.processes.filter((p) => p.name !== ROUTER_DAEMON), fresh];
  await writeLabState({ ...state, processes });
  return fresh;
}
