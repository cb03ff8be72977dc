/**
 * The hub in the lab: `homenet serve --mode hub` in the `hub` namespace,
 * beside the lab's router (Debian's miniupnpd), with the lab's Matter
 * devices known by address and MAC, its admin API on the hub's LAN address
 * and its coordination listener on 5390. Tests, the bench and the demo start
 * it here; `stopLabHub` (SIGTERM) or `killLabHub` (SIGKILL: a crash) end it.
 *
 * @example
 * ```ts
 * const hub = await startLabHub(lab.plan, { config: { hub: { auditSeconds: 2 } } });
 * hub.coordinationUrl; // 'http://192.168.77.5:5390/homenet/v1'
 * await stopLabHub(hub);
 * ```
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homenetCliScript, homenetRouterConfig } from './homenet-router';
import { LabDaemon, LabDaemonOptions, LabDaemonPaths, labAdminToken, mergeConfigSections, startLabDaemon } from './lab-daemon';
import type { LabPlan } from './lab-plan';
import { stopLabProcess } from './lab-process';

/** The lab process name of the hub daemon. */
export const LAB_HUB_DAEMON = 'homenet-hub';
/** The hub's admin API port (on the hub's LAN address). */
export const LAB_HUB_ADMIN_PORT = 8781;
/** The hub's coordination port. */
export const LAB_HUB_COORDINATION_PORT = 5390;

export type LabHubPaths = LabDaemonPaths;

export interface LabHub extends LabDaemon {
  /** The coordination API's base URL (what `homenet open --hub URL` takes). */
  readonly coordinationUrl: string;
}

/** E.g. `{ config: { hub: { auditSeconds: 2 } } }`. */
export type LabHubOptions = LabDaemonOptions;

export function labHubPaths(plan: LabPlan): LabHubPaths {
  const dir = `${plan.runDir}/homenet-hub`;
  return { dir, config: `${dir}/hub.json`, journal: `${dir}/hub.db`, token: `${dir}/admin-token`, log: `${dir}/hub.log` };
}

function hubAddress(plan: LabPlan): string {
  return plan.hosts.hub.interfaces[0].ipv4[0].address;
}

/** The hub's configuration for this lab: the router's Matter devices config, the hub's own sections. */
export async function labHubConfig(plan: LabPlan, options: LabHubOptions = {}): Promise<Record<string, unknown>> {
  const paths = labHubPaths(plan);
  const router = await homenetRouterConfig(plan);
  const known = (router.devices as { known: unknown[] }).known;
  const base: Record<string, unknown> = {
    mode: 'hub',
    lan: { interfaces: ['eth0'] },
    journal: { path: paths.journal },
    admin: { listen: `${hubAddress(plan)}:${LAB_HUB_ADMIN_PORT}`, tokenFile: paths.token },
    hub: { router: plan.lan.routerIpv4, coordinationPort: LAB_HUB_COORDINATION_PORT, auditSeconds: 5 },
    devices: { known, watchNeighbours: true },
    log: { level: options.logLevel ?? 'info' },
  };
  return mergeConfigSections(base, options.config);
}

/** Starts the hub and waits until its coordination listener and admin API listen (the journal is kept across starts). */
export async function startLabHub(plan: LabPlan, options: LabHubOptions = {}): Promise<LabHub> {
  const paths = labHubPaths(plan);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const token = await labAdminToken(paths.token);
  await writeFile(paths.config, `${JSON.stringify(await labHubConfig(plan, options), null, 2)}\n`);
  const proc = await startLabDaemon({
    name: LAB_HUB_DAEMON,
    namespace: plan.hosts.hub.namespace,
    command: [process.execPath, homenetCliScript(), 'serve', '--mode', 'hub', '--config', paths.config],
    log: paths.log,
    ports: [LAB_HUB_COORDINATION_PORT, LAB_HUB_ADMIN_PORT],
    what: 'homenet serve --mode hub',
    timeoutMs: 20_000,
  });
  const address = hubAddress(plan);
  return { process: proc, paths, admin: { url: `http://${address}:${LAB_HUB_ADMIN_PORT}`, token }, coordinationUrl: `http://${address}:${LAB_HUB_COORDINATION_PORT}/homenet/v1` };
}

/** Stops the hub as a user would (SIGTERM). */
export async function stopLabHub(hub: LabHub): Promise<void> {
  await stopLabProcess(hub.process, 5000, 'SIGTERM');
}

/** Kills the hub (SIGKILL: a crash, nothing flushed). */
export async function killLabHub(hub: LabHub): Promise<void> {
  await stopLabProcess(hub.process, 2000, 'SIGKILL');
}

/** The hub's JSON log lines so far (for tests and the demo). */
export async function labHubLog(hub: LabHub): Promise<Record<string, unknown>[]> {
  const text = await readFile(hub.paths.log, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
