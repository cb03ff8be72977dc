/**
 * The gateway daemon (`homenet serve --mode gateway`): the policy engine on
 * the router, fed by the IGD front and the admin API, enforced by the
 * router's firewall, remembered by the journal.
 *
 * Start sequence: open the journal -> recover its live needs -> seed the
 * engine (gateway, network, configured devices, owner allows, the owner's port
 * opening switches, then the needs in their original order, each with the
 * lease it has left) -> reconcile the firewall table to the engine's grants
 * (orphans removed, missing added, timeouts set to each need's deadline) ->
 * start the IGD front -> start the admin API -> start the Home Assistant
 * bridge (`mqtt`; stopped first). A lease sweep ends needs whose deadline passed.
 *
 * Stop (SIGTERM/SIGINT): admin API and IGD front closed (SSDP byebye), the
 * applier drained, the journal closed. Firewall entries are **left in the
 * kernel**: each carries a timeout ending at its client's deadline, so it
 * expires on time even if the daemon never comes back, and a restart within
 * the lease finds it in the journal and keeps it (a daemon upgrade does not
 * cut a game session).
 *
 * @example
 * ```ts
 * import { startGatewayDaemon } from './gateway-daemon';
 * import { parseGatewayConfig } from './gateway-config';
 * const daemon = await startGatewayDaemon({ config: parseGatewayConfig({ admin: { token: 'x'.repeat(24) }, journal: { path: null } }) });
 * daemon.needs.size; // needs held
 * await daemon.stop();
 * ```
 */
import { existsSync } from 'node:fs';
import { networkInterfaces, NetworkInterfaceInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { asyncScheduler, SchedulerLike, Subject, Subscription } from 'rxjs';
import { createPolicyEngine, PolicyEngine } from '../../policies/engine';
import { classifyExternalIpv4 } from '../../policies/model/address';
import { Action } from '../../policies/model/action';
import { Decision } from '../../policies/model/decision';
import { DeviceSeen, GatewaySeen, PolicyEvent } from '../../policies/model/event';
import { desiredEntryOf, normalizeEntry } from '../../adapters/nftables/firewall-entry';
import type { Neighbour } from '../../adapters/observe/neighbour-table';
import type { GatewayDecider } from '../../adapters/upnp/server/gateway-decider';
import { DecisionHistory } from './decision-history';
import { DeviceDirectory } from './device-directory';
import { FirewallApplier } from './firewall-applier';
import { GatewayConfig } from './gateway-config';
import { DesiredEntry, GatewayFirewall, MemoryGatewayFirewall, ReconcileSummary } from './gateway-firewall';
import { GatewayJournal, MemoryGatewayJournal } from './gateway-journal';
import { GatewayNeeds, NeedChange } from './gateway-needs';
import { IgdFront } from './igd-front';
import type { PcpFront, PcpFrontOptions } from './pcp-front';
import { createNeedsDecider } from './needs-decider';
import { createLogger, Logger } from './structured-log';
import { RefusalLog } from './refusal-log';
// LAN observation (devices.observe): Matter mDNS watcher and IPv6-mostly detector feeding the engine.
import type { LanObservation, LanObserversConfig } from './lan-observation';
// Home Assistant (mqtt section): the owner's port opening switches and the MQTT bridge.
import { PortOpeningOff, PortOpeningSettings } from './port-opening-settings';

/** The engine's id for the router the daemon runs on. */
export const LOCAL_GATEWAY_ID = 'local';

/** An event for admin API subscribers: `{event, data}`. */
export interface GatewayDaemonEvent {
  readonly event: 'decision' | 'need_opened' | 'need_renewed' | 'need_ended' | 'firewall_applied' | 'device_seen' | 'reconciled' | 'audit_finding' | 'agent_report' | 'port_opening';
  readonly data: unknown;
}

/** What the admin API (and tests) can reach of a running daemon. */
export interface GatewayDaemonServices {
  readonly config: GatewayConfig;
  readonly engine: PolicyEngine;
  readonly needs: GatewayNeeds;
  readonly history: DecisionHistory;
  readonly firewall: GatewayFirewall;
  readonly events$: Subject<GatewayDaemonEvent>;
  readonly log: Logger;
  readonly startedAt: number;
  /** Reconciles the firewall table with the engine's grants now. */
  reconcile(): Promise<ReconcileSummary>;
  /** The WAN IPv4 address ('' when none). */
  externalIpv4(): string;
  /** Which deployment answers (`gateway` or `hub`) and what it can enforce (a hub adds its applier and router). */
  deploymentInfo(): DeploymentInfo;
  /** The owner's "Allow port opening" switches (Home Assistant, admin `set_port_opening`). */
  readonly portOpening?: PortOpeningControl;
}

/** The owner's per-device port opening switch: persisted, and submitted to the engine (rule owner-port-opening). */
export interface PortOpeningControl {
  allowed(deviceId: string): boolean;
  switchedOff(): ReadonlyMap<string, PortOpeningOff>;
  /** Records and applies a switch; true when it changed something. */
  set(deviceId: string, allowed: boolean, by: string): boolean;
}

/** What the admin API says about who answers: one API for both deployments. */
export interface DeploymentInfo {
  readonly deployment: 'gateway' | 'hub';
  /** `enforced`: LAN devices cannot get around the decisions (the controller is, or alone programs, the router); `advised`: they can. */
  readonly enforcement: 'enforced' | 'advised';
  /** How decisions reach the router: nftables here; from a hub PCP THIRD_PARTY, a homenet gateway's admin API, or the agents themselves. */
  readonly applier: 'nftables' | 'memory' | 'pcp-third-party' | 'gateway-admin' | 'agents';
  /** The router a hub sits beside. */
  readonly router?: string;
  /** A hub's words on what it cannot enforce (shown by the admin API and `homenet devices`). */
  readonly note?: string;
  /** A hub: what it found of its router (UPnP IGD version and grade, PCP and THIRD_PARTY, WAN kind). */
  readonly routerReport?: { readonly summary: string; readonly grade?: string; readonly thirdParty: string; readonly wanIpv4: string };
}

export interface GatewayDaemon extends GatewayDaemonServices {
  readonly decider: GatewayDecider;
  /** The admin API's bound address, when it runs. */
  readonly adminAddress?: { host: string; port: number };
  /** The IGD front's URLs, when it runs. */
  readonly igdUrls: readonly string[];
  /** The PCP / NAT-PMP front's addresses, when it runs. */
  readonly pcpAddresses: readonly string[];
  /** What the start-up recovery did. */
  readonly recovery: { readonly resubmitted: number; readonly granted: number; readonly reconcile: ReconcileSummary };
  stop(): Promise<void>;
}

/** Pluggable parts (tests inject in-memory ones; the defaults are the real ones). */
export interface GatewayDaemonOptions {
  readonly config: GatewayConfig;
  readonly scheduler?: SchedulerLike;
  readonly log?: Logger;
  readonly openJournal?: (config: GatewayConfig, log: Logger, now: () => number) => GatewayJournal;
  readonly openFirewall?: (config: GatewayConfig, now: () => number, log: Logger) => GatewayFirewall;
  /** Starts the IGD front; `null` disables it whatever the config says. */
  readonly startIgdFront?: ((decider: GatewayDecider, config: GatewayConfig, log: Logger) => Promise<IgdFront>) | null;
  /** Starts the PCP / NAT-PMP front; `null` disables it whatever the config says. */
  readonly startPcpFront?: ((options: PcpFrontOptions) => Promise<PcpFront>) | null;
  /** Starts the admin API; `null` disables it whatever the config says. */
  readonly startAdminApi?: ((services: GatewayDaemonServices, config: GatewayConfig, log: Logger) => Promise<{ address: { host: string; port: number }; stop(): Promise<void> }>) | null;
  /** Neighbour table reader; `null` disables it whatever the config says. */
  readonly readNeighbours?: (() => Promise<Neighbour[]>) | null;
  /** Interface addresses (default `os.networkInterfaces`). */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** How often needs past their deadline are ended (default 1000 ms). */
  readonly sweepMs?: number;
  /** The WAN IPv4 address (a hub asks its router; default: the WAN interface's or the configured one). */
  readonly externalIpv4?: () => string;
  /** Facts about the router for the engine (a hub: what its probe found); default: this router's own. */
  readonly gateway?: Partial<Omit<GatewaySeen, 'type' | 'gatewayId'>>;
  /** Who answers and what it enforces (default: a gateway, enforced, nftables or memory). */
  readonly deploymentInfo?: () => DeploymentInfo;
  /** Starts the Home Assistant MQTT bridge (`mqtt`); `null` disables it whatever the config says. */
  readonly startHomeAssistant?: ((services: GatewayDaemonServices, config: GatewayConfig, log: Logger) => Promise<{ stop(): Promise<void> }>) | null;
  /** Starts the LAN observers (`devices.observe`); `null` disables them whatever the config says. */
  readonly startLanObservation?: ((observation: LanObservation, config: LanObserversConfig) => Promise<void>) | null;
}

/** The firewall entry a grant needs, with its need's deadline. */
function entriesForGrants(engine: PolicyEngine, needs: GatewayNeeds): DesiredEntry[] {
  const out: DesiredEntry[] = [];
  for (const g of engine.snapshot().grants) {
    const deadline = needs.deadlineOf(g.needId);
    if (deadline === undefined) continue;
    out.push(normalizeEntry<DesiredEntry>(desiredEntryOf(g, deadline)));
  }
  return out;
}

function wanIpv4Of(config: GatewayConfig, interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>): string {
  if (config.wan.ipv4.source === 'static') return config.wan.ipv4.address;
  return (interfaces()[config.wan.interface] ?? []).find((i) => i.family === 'IPv4' && !i.internal)?.address ?? '';
}

/** Starts the daemon; see the module comment for the order of steps. */
export async function startGatewayDaemon(options: GatewayDaemonOptions): Promise<GatewayDaemon> {
  const config = options.config;
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = () => scheduler.now();
  const log = options.log ?? createLogger({ level: config.log.level });
  const dlog = log.child('daemon');
  const interfaces = options.interfaces ?? networkInterfaces;
  const startedAt = now();
  // Undone in reverse on stop: `core` after the applier drained, `fronts` before.
  const cleanup: (() => Promise<void> | void)[] = [];
  const fronts: (() => Promise<void> | void)[] = [];
  const events$ = new Subject<GatewayDaemonEvent>();

  try {
    // PCP epoch: the state survived a restart only if the journal file was there before it is opened.
    const journalExisted = config.journal.path !== null && existsSync(config.journal.path);
    // 1. The journal.
    const journal = (options.openJournal ?? defaultJournal)(config, log.child('journal'), now);
    cleanup.push(() => journal.close());
    const firewall = (options.openFirewall ?? defaultFirewall)(config, now, log.child('firewall'));
    cleanup.push(() => firewall.close());

    // 2. The engine, its outputs wired before anything is submitted.
    const engine = createPolicyEngine({
      scheduler,
      config: { leaseCapSeconds: config.leases.capSeconds, maxNeedsPerRequester: config.leases.maxPerClient, defaultGatewayId: LOCAL_GATEWAY_ID },
    });
    cleanup.push(() => engine.dispose());
    const history = new DecisionHistory(config.admin.decisionsKept);
    for (const d of journal.recentDecisions(config.admin.decisionsKept)) history.push(d);
    const elog = log.child('engine');
    // Refusals (denied / ineffective decisions) are logged once per (device, reason) per window, then counted.
    const refusals = new RefusalLog({ log: elog, windowMs: (config.log.refusalWindowSeconds ?? 60) * 1000, now });
    cleanup.push(() => void refusals.flush(true));
    const subs = new Subscription();
    cleanup.push(() => subs.unsubscribe());
    let needs: GatewayNeeds | undefined;
    const applier = new FirewallApplier({
      engine,
      firewall,
      journal,
      deadlineOf: (id) => needs?.deadlineOf(id),
      uniqueIdOf: (id) => needs?.uniqueIdOf(id),
      now,
      log: log.child('firewall'),
      onApplied: (action: Action, error?: Error) => {
        if (events$.observed) events$.next({ event: 'firewall_applied', data: { op: action.op, grantId: action.grantId, needId: action.needId, key: action.key, ok: !error, ...(error ? { error: error.message } : {}) } });
      },
    });
    subs.add(
      engine.decisions$.subscribe((d: Decision) => {
        history.push(d);
        journal.recordDecision(d);
        const reason = d.reasons[0];
        const fields = { needId: d.needId, deviceId: d.deviceId, verdict: d.verdict, cause: d.cause, rule: reason?.rule, code: reason?.code, ...(reason?.conflictsWith ? { conflictsWith: reason.conflictsWith } : {}), ...(reason?.detail ? { detail: reason.detail } : {}) };
        if (d.verdict === 'denied' || d.verdict === 'ineffective') refusals.refused('decision', d.deviceId, `${d.verdict} ${reason?.rule ?? ''}/${reason?.code ?? ''}`, fields);
        else if (elog.enabled('debug')) elog.debug('decision', fields);
        if (events$.observed) events$.next({ event: 'decision', data: d });
      }),
    );
    subs.add(engine.actions$.subscribe((a) => applier.enqueue(a)));
    applier.pause();

    const submit = (event: PolicyEvent) => {
      engine.submit(event);
      if (event.type === 'device-seen' && events$.observed) events$.next({ event: 'device_seen', data: event });
    };
    const readNeighbours = options.readNeighbours === null || !config.devices.watchNeighbours ? undefined : (options.readNeighbours ?? defaultNeighbourReader(config));
    // --- LAN observation (devices.observe): every device-seen, the directory's too, goes through one fusion.
    const observe = config.devices.observe;
    let observation: LanObservation | undefined;
    if ((observe.matter || observe.ipv6Mostly) && options.startLanObservation !== null) {
      const { LanObservation: Observation } = require('./lan-observation') as typeof import('./lan-observation');
      observation = new Observation({ submit, log: log.child('observe') });
    }
    const directorySubmit = observation ? observation.submitter('directory') : submit;
    // --- end LAN observation
    const directory = new DeviceDirectory({ submit: directorySubmit, known: config.devices.known, allow: config.devices.allow, ...(readNeighbours ? { readNeighbours } : {}), ...(observation ? { isProtected: (id: string) => observation.isProtected('directory', id) } : {}), now });

    needs = new GatewayNeeds({
      engine,
      journal,
      directory,
      applier,
      now,
      upnpClass: config.upnp.class,
      answerAfter: config.upnp.answerAfter,
      log: log.child('needs'),
      onChange: (change: NeedChange) => {
        if (!events$.observed) return;
        if (change.kind === 'need-ended') events$.next({ event: 'need_ended', data: { needId: change.needId, cause: change.cause } });
        else events$.next({ event: change.kind === 'need-opened' ? 'need_opened' : 'need_renewed', data: change.need });
      },
    });

    // 3. Seed the engine: this router, its WAN, the devices, then the journal's needs.
    const externalIpv4 = options.externalIpv4 ?? (() => wanIpv4Of(config, interfaces));
    const wan = externalIpv4();
    engine.submit({
      type: 'gateway-seen',
      gatewayId: LOCAL_GATEWAY_ID,
      pinholes: true,
      portMappings: true,
      firewallEnabled: true,
      inboundPinholeAllowed: true,
      pinholeCapacity: config.leases.maxPinholes,
      portMappingCapacity: config.leases.maxPortMappings,
      bootId: String(Math.floor(startedAt / 1000)),
      ...options.gateway,
    });
    engine.submit({ type: 'network-changed', wanIpv4: classifyExternalIpv4(wan) });
    directory.seed();
    if (readNeighbours) await directory.refresh();
    // --- Home Assistant: the owner's port opening switches, before the journal's needs.
    const portOpeningSettings = PortOpeningSettings.besideJournal(config.journal.path);
    for (const event of portOpeningSettings.events()) engine.submit(event);
    const portOpening: PortOpeningControl = {
      allowed: (id) => portOpeningSettings.allowed(id),
      switchedOff: () => portOpeningSettings.switchedOff(),
      set(deviceId, allowed, by) {
        const changed = portOpeningSettings.set(deviceId, allowed, by, Date.now());
        if (changed) {
          engine.submit({ type: 'owner-port-opening', deviceId, allowed, by });
          if (events$.observed) events$.next({ event: 'port_opening', data: { deviceId, allowed, by } });
        }
        return changed;
      },
    };
    // --- end Home Assistant
    const recovered = needs.recover();
    dlog.info('journal recovered', { needs: recovered.resubmitted, granted: recovered.granted });

    // 4. The firewall table made equal to the engine's grants.
    await firewall.prepare();
    const reconcile = async (): Promise<ReconcileSummary> => {
      await applier.idle();
      const summary = await firewall.reconcile(entriesForGrants(engine, needs));
      if (events$.observed) events$.next({ event: 'reconciled', data: summary });
      return summary;
    };
    const reconciled = await firewall.reconcile(entriesForGrants(engine, needs));
    applier.resume({ assumeApplied: true });
    dlog.info('firewall reconciled', { ...reconciled });

    // The lease sweep: needs whose deadline passed end (their kernel entries expire by themselves at that instant).
    const sweepMs = options.sweepMs ?? 1000;
    const sweeper = scheduler.schedule(function sweep(this: { schedule(state?: unknown, delay?: number): void }) {
      needs.sweep();
      refusals.flush();
      this.schedule(undefined, sweepMs);
    }, sweepMs);
    fronts.push(() => sweeper.unsubscribe());

    // Journal retention on a timer (the journal also prunes itself every few hundred writes).
    if (journal.prune) {
      const prune = () => {
        try {
          journal.prune?.();
        } catch (error) {
          dlog.warn('journal prune failed', { error: (error as Error).message });
        }
      };
      const pruneMs = (config.journal.pruneIntervalSeconds ?? 300) * 1000;
      prune();
      const pruner = scheduler.schedule(function pruneJournal(this: { schedule(state?: unknown, delay?: number): void }) {
        prune();
        this.schedule(undefined, pruneMs);
      }, pruneMs);
      fronts.push(() => pruner.unsubscribe());
    }

    let neighbourTimer: NodeJS.Timeout | undefined;
    if (readNeighbours) {
      neighbourTimer = setInterval(() => void directory.refresh(), 10_000);
      neighbourTimer.unref();
      fronts.push(() => clearInterval(neighbourTimer));
    }

    // --- LAN observation: observers started once the engine is seeded; stopped with the fronts.
    if (observation) {
      const running = observation;
      fronts.push(() => running.stop());
      const start = options.startLanObservation ?? ((o: LanObservation, c: LanObserversConfig) => o.start(c));
      const helperPidFile = config.journal.path === null ? undefined : join(dirname(config.journal.path), 'observe-helpers.pids');
      await start(running, { interfaces: config.lan.interfaces, matter: observe.matter, ipv6Mostly: observe.ipv6Mostly, dhcpServers: observe.dhcpServers ?? [], routers: observe.routers ?? [], ...(helperPidFile ? { helperPidFile } : {}) });
    }
    // --- end LAN observation

    const decider = createNeedsDecider({ needs, externalIpv4, now, startedAt });
    const deploymentInfo = options.deploymentInfo ?? ((): DeploymentInfo => ({ deployment: 'gateway', enforcement: 'enforced', applier: config.firewall.enabled ? 'nftables' : 'memory' }));
    const services: GatewayDaemonServices = { config, engine, needs, history, firewall, events$, log, startedAt, reconcile, externalIpv4, deploymentInfo, portOpening };

    // 5. The IGD front.
    let igdUrls: string[] = [];
    if (config.upnp.enabled && options.startIgdFront !== null) {
      const start = options.startIgdFront ?? defaultIgdFront;
      const front = await start(decider, config, log.child('igd'));
      fronts.push(() => front.stop());
      igdUrls = front.urls();
    }

    // 5b. The PCP / NAT-PMP front (UDP 5351 on the LAN), through the same needs path.
    let pcpAddresses: string[] = [];
    if (config.pcp.enabled && options.startPcpFront !== null) {
      const { PcpEpochStore } = require('./pcp-front') as typeof import('./pcp-front');
      const epoch = PcpEpochStore.besideJournal(config.journal.path).begin(Date.now(), journalExisted);
      const plog = log.child('pcp');
      if (epoch.reset) plog.info('pcp epoch begins', { startedAt: epoch.startedAt, journalExisted });
      try {
        const start = options.startPcpFront ?? defaultPcpFront;
        const pcp = await start({
          needs, lanInterfaces: config.lan.interfaces, port: config.pcp.port, controllers: config.pcp.controllers, externalIpv4,
          epochStartedAt: epoch.startedAt, now: Date.now, log: plog, rateLimit: { burst: config.pcp.burst, perSecond: config.pcp.requestsPerSecond },
          ...(options.interfaces ? { interfaces: options.interfaces } : {}),
        });
        fronts.push(() => pcp.stop());
        pcpAddresses = pcp.addresses();
      } catch (error) {
        plog.warn('pcp front not started', { error: (error as Error).message });
      }
    }

    // 6. The admin API.
    let adminAddress: { host: string; port: number } | undefined;
    if (config.admin.listen !== null && options.startAdminApi !== null) {
      const start = options.startAdminApi ?? defaultAdminApi;
      const api = await start(services, config, log.child('admin'));
      fronts.push(() => api.stop());
      adminAddress = api.address;
    }
    // --- Home Assistant: the MQTT bridge after the admin API; pushed last, so stopped first.
    if (config.mqtt && options.startHomeAssistant !== null) {
      const start = options.startHomeAssistant ?? defaultHomeAssistant;
      const bridge = await start(services, config, log.child('homeassistant'));
      fronts.push(() => bridge.stop());
    }
    // --- end Home Assistant
    dlog.info('gateway running', { igd: igdUrls, admin: adminAddress ? `${adminAddress.host}:${adminAddress.port}` : null, externalIpv4: wan || null });

    let stopping: Promise<void> | undefined;
    return {
      ...services,
      decider,
      igdUrls,
      pcpAddresses,
      ...(adminAddress ? { adminAddress } : {}),
      recovery: { ...recovered, reconcile: reconciled },
      stop() {
        stopping ??= (async () => {
          dlog.info('stopping');
          // Admin API and IGD front first (no new needs), then drain the firewall queue, then the core.
          const run = async (steps: (() => Promise<void> | void)[]) => {
            for (const step of steps.splice(0).reverse()) await Promise.resolve().then(step).catch((e: unknown) => dlog.warn('stop step failed', { error: String(e) }));
          };
          await run(fronts);
          await applier.idle();
          await run(cleanup);
          events$.complete();
          dlog.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const step of [...cleanup, ...fronts].reverse()) await Promise.resolve(step()).catch(() => undefined);
    throw error;
  }
}

function defaultJournal(config: GatewayConfig, log: Logger, now: () => number): GatewayJournal {
  if (config.journal.path === null) {
    log.warn('journal.path is null: needs are kept in memory only and do not survive a restart');
    return new MemoryGatewayJournal();
  }
  const { openSqliteGatewayJournal } = require('./sqlite-gateway-journal') as typeof import('./sqlite-gateway-journal');
  try {
    return openSqliteGatewayJournal(config.journal.path, log, now, journalOptions(config));
  } catch (error) {
    // In the esbuild bundle (dist/homenet.js) better-sqlite3 cannot find its native addon:
    // load the compiled tree's journal instead, which requires it from node_modules.
    const compiled = /bindings file|better_sqlite3\.node/.test((error as Error).message) ? compiledModule('plugin/gateway/sqlite-gateway-journal.js') : undefined;
    if (!compiled) throw error;
    return (require(compiled) as typeof import('./sqlite-gateway-journal')).openSqliteGatewayJournal(config.journal.path, log, now, journalOptions(config));
  }
}

/** The journal's retention from the config (defaults: 7 days, 16 MiB). */
function journalOptions(config: GatewayConfig): { retention: { maxAgeMs: number; maxBytes: number } } {
  return { retention: { maxAgeMs: (config.journal.retentionSeconds ?? 7 * 86_400) * 1000, maxBytes: config.journal.maxBytes ?? 16 * 1024 * 1024 } };
}

/** A file of the compiled tree (`<repo>/dist/<path>`), found from wherever this code runs (bundle or tree). */
function compiledModule(path: string): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', path);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function defaultFirewall(config: GatewayConfig, now: () => number, log: Logger): GatewayFirewall {
  if (!config.firewall.enabled) {
    log.warn('firewall.enabled is false: decisions are not enforced in the kernel');
    return new MemoryGatewayFirewall(now);
  }
  const { nftablesGatewayFirewall } = require('./nftables-gateway-firewall') as typeof import('./nftables-gateway-firewall');
  return nftablesGatewayFirewall(config, now);
}

function defaultNeighbourReader(config: GatewayConfig): () => Promise<Neighbour[]> {
  return async () => {
    const { parseIpNeighJson } = require('../../adapters/observe/neighbour-table') as typeof import('../../adapters/observe/neighbour-table');
    const { runCommand } = require('../../adapters/system/run-command') as typeof import('../../adapters/system/run-command');
    const { stdout } = await runCommand('ip', ['-j', 'neigh', 'show'], { timeoutMs: 5000 });
    return parseIpNeighJson(stdout).filter((n) => config.lan.interfaces.includes(n.interface));
  };
}

async function defaultIgdFront(decider: GatewayDecider, config: GatewayConfig, log: Logger): Promise<IgdFront> {
  const { startIgdFront, stableUuid } = require('./igd-front') as typeof import('./igd-front');
  return startIgdFront({ decider, lanInterfaces: config.lan.interfaces, httpPort: config.upnp.httpPort, connectionLimits: config.upnp, uuid: stableUuid(`homenet:${config.firewall.table}:${config.lan.interfaces.join(',')}`), log,
    refusalWindowMs: (config.log.refusalWindowSeconds ?? 60) * 1000 });
}

async function defaultPcpFront(options: PcpFrontOptions): Promise<PcpFront> {
  const { startPcpFront } = require('./pcp-front') as typeof import('./pcp-front');
  return startPcpFront(options);
}

async function defaultAdminApi(services: GatewayDaemonServices, config: GatewayConfig, log: Logger): Promise<{ address: { host: string; port: number }; stop(): Promise<void> }> {
  const { startAdminServer } = require('./admin/admin-server') as typeof import('./admin/admin-server');
  return startAdminServer({ services, config: config.admin, log });
}

async function defaultHomeAssistant(services: GatewayDaemonServices, config: GatewayConfig, log: Logger): Promise<{ stop(): Promise<void> }> {
  const { startHomeAssistantBridge } = require('../homeassistant/home-assistant-bridge') as typeof import('../homeassistant/home-assistant-bridge');
  return startHomeAssistantBridge({ services, settings: config.mqtt as NonNullable<GatewayConfig['mqtt']>, log });
}

export type { DeviceSeen };
