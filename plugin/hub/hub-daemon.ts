/**
 * The hub daemon (`homenet serve --mode hub`): the gateway daemon's engine,
 * journal, needs path and admin API, run on an ordinary LAN host beside a
 * commodity router it does not route.
 *
 * Start: find the router (UPnP discovery → the gateway report: grade, IGD
 * version, WAN IPv4) and probe its PCP server for THIRD_PARTY → choose the
 * applier (`hub.applier`: `auto` takes PCP THIRD_PARTY when the router allows
 * it, else the agents apply) → start the gateway daemon with that applier as
 * its firewall, no IGD or PCP front of its own → start the coordination
 * listener (agents ask here) → advertise it over DNS-SD → audit the router's
 * mappings every `hub.auditSeconds`.
 *
 * Enforcement: a hub cannot stop a LAN host from opening its own ports on a
 * commodity router (IGD:2 lets every host open its own), so its protections
 * are `advised` unless the owner says only the hub may program the router
 * (`hub.exclusiveRouter`); the audit flags what got around it.
 *
 * @example
 * ```ts
 * import { startHubDaemon } from './hub-daemon';
 * import { parseGatewayConfig } from '../gateway/gateway-config';
 * const hub = await startHubDaemon({ config: parseGatewayConfig({ mode: 'hub', hub: { router: '192.168.1.1' }, admin: { token: 'x'.repeat(24) }, journal: { path: null } }) });
 * hub.coordination.addresses; // [{ host: '::', port: 5390 }]
 * await hub.stop();
 * ```
 */
import { asyncScheduler, filter, SchedulerLike, Subscription } from 'rxjs';
import type { GatewaySeen } from '../../policies/model/event';
import { classifyExternalIpv4 } from '../../policies/model/address';
import type { Logger } from '../gateway/structured-log';
import { createLogger } from '../gateway/structured-log';
import type { GatewayConfig } from '../gateway/gateway-config';
import { MemoryGatewayFirewall, type GatewayFirewall } from '../gateway/gateway-firewall';
import { DeploymentInfo, GatewayDaemon, GatewayDaemonOptions, startGatewayDaemon } from '../gateway/gateway-daemon';
import type { CoordinationApplier, HubInfo } from './coordination-protocol';
import { CoordinationService } from './coordination-service';
import { CoordinationServer, startCoordinationServer } from './coordination-server';

/** What the hub learnt of its router at start. */
export interface RouterFacts {
  /** The router's LAN address the hub talks PCP/UPnP to. */
  readonly address?: string;
  /** Engine facts (grade, pinholes, port mappings). */
  readonly gateway: Partial<Omit<GatewaySeen, 'type' | 'gatewayId'>>;
  /** The router's WAN IPv4 ('' when none or unknown). */
  readonly externalIpv4: string;
  /** What the router's PCP server says about THIRD_PARTY. */
  readonly thirdParty: 'allowed' | 'not-authorized' | 'unsupported' | 'unknown';
  /** A line for the log and the admin API. */
  readonly summary: string;
}

/** A running audit of the router's mappings (plugin/hub/router-audit.ts). */
export interface RunningAudit {
  stop(): Promise<void> | void;
}

/** A running DNS-SD advertisement (adapters/dnssd). */
export interface RunningAdvertisement {
  stop(): Promise<void> | void;
}

export interface HubDaemonOptions extends Pick<GatewayDaemonOptions, 'openJournal' | 'startAdminApi' | 'readNeighbours' | 'startLanObservation' | 'interfaces' | 'sweepMs'> {
  readonly config: GatewayConfig;
  readonly scheduler?: SchedulerLike;
  readonly log?: Logger;
  /** Learns the router's facts (default: UPnP discovery + gateway report + PCP probe). */
  readonly probeRouter?: (config: GatewayConfig, log: Logger) => Promise<RouterFacts>;
  /** The PCP THIRD_PARTY applier towards the router (default: plugin/hub/router-pcp-firewall.ts). */
  readonly openPcpFirewall?: (config: GatewayConfig, facts: RouterFacts, log: Logger, now: () => number) => GatewayFirewall | Promise<GatewayFirewall>;
  /** The homenet gateway admin API applier (default: plugin/hub/gateway-admin-firewall.ts). */
  readonly openGatewayAdminFirewall?: (config: GatewayConfig, facts: RouterFacts, log: Logger, now: () => number) => GatewayFirewall | Promise<GatewayFirewall>;
  /** Starts the audit of the router's mappings; `null` disables it. */
  readonly startAudit?: ((hub: HubServices, log: Logger) => Promise<RunningAudit>) | null;
  /** Starts the DNS-SD advertisement; `null` disables it. */
  readonly startAdvertisement?: ((port: number, config: GatewayConfig, log: Logger) => Promise<RunningAdvertisement>) | null;
  /** Reads the router's WAN IPv4 again (default: never); asked every `hub.auditSeconds` (at least 30 s). */
  readonly readExternalIpv4?: () => Promise<string>;
  /** Called once the hub runs (wiring that needs the running daemon, e.g. an applier's events). */
  readonly onStarted?: (hub: HubServices) => void;
  /** Where the coordination listener listens (default `::` on `hub.coordinationPort`: every address of the hub). */
  readonly coordinationListen?: readonly { readonly host: string; readonly port: number }[];
}

/** What the audit (and tests) reach of a running hub. */
export interface HubServices {
  readonly daemon: GatewayDaemon;
  readonly coordination: CoordinationService;
  readonly router: RouterFacts;
  readonly applier: CoordinationApplier;
  readonly applierKind: HubApplierKind;
}

export interface HubDaemon extends HubServices {
  readonly server: CoordinationServer;
  stop(): Promise<void>;
}

/** How the hub's decisions reach the router. */
export type HubApplierKind = 'pcp-third-party' | 'gateway-admin' | 'agents';

/** The applier the config and the router's answer allow (best first: a homenet gateway's API, PCP THIRD_PARTY, the agents). */
export function chooseApplier(config: GatewayConfig, facts: RouterFacts): { kind: HubApplierKind; applier: CoordinationApplier; why: string } {
  const choice = config.hub.applier;
  if (choice === 'agents') return { kind: 'agents', applier: 'agent', why: 'hub.applier is "agents"' };
  if (choice === 'gateway-admin' || (choice === 'auto' && config.hub.gatewayAdmin)) {
    if (!config.hub.gatewayAdmin) throw new Error('hub.applier "gateway-admin" needs hub.gatewayAdmin {url, tokenFile}');
    return { kind: 'gateway-admin', applier: 'hub', why: `the router is a homenet gateway: its admin API at ${config.hub.gatewayAdmin.url}` };
  }
  if (choice === 'pcp-third-party') return { kind: 'pcp-third-party', applier: 'hub', why: `hub.applier is "pcp-third-party" (the router says THIRD_PARTY is ${facts.thirdParty})` };
  return facts.thirdParty === 'allowed'
    ? { kind: 'pcp-third-party', applier: 'hub', why: 'the router allows PCP THIRD_PARTY from the hub' }
    : { kind: 'agents', applier: 'agent', why: `the router's PCP THIRD_PARTY is ${facts.thirdParty}: agents apply the hub's settled needs themselves` };
}

/** Starts the hub; see the module comment for the order of steps. */
export async function startHubDaemon(options: HubDaemonOptions): Promise<HubDaemon> {
  const { config } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = () => scheduler.now();
  const log = options.log ?? createLogger({ level: config.log.level });
  const hlog = log.child('hub');
  const probe = options.probeRouter ?? defaultProbeRouter;
  const router = await probe(config, log.child('router'));
  hlog.info('router', { address: router.address ?? null, summary: router.summary, thirdParty: router.thirdParty, externalIpv4: router.externalIpv4 || null });
  const { kind, applier, why } = chooseApplier(config, router);
  hlog.info('applier chosen', { applier: kind, why });
  let externalIpv4 = router.externalIpv4;
  // A homenet gateway enforces the decisions itself; a router only the hub may program obeys only the hub.
  const enforcement = kind === 'gateway-admin' || config.hub.exclusiveRouter ? 'enforced' : 'advised';
  const deploymentInfo = (): DeploymentInfo => ({
    deployment: 'hub',
    enforcement,
    applier: kind,
    ...(router.address ? { router: router.address } : {}),
    routerReport: { summary: router.summary, ...(router.gateway.grade ? { grade: router.gateway.grade } : {}), thirdParty: router.thirdParty, wanIpv4: classifyExternalIpv4(externalIpv4) },
    note: enforcement === 'enforced'
      ? (kind === 'gateway-admin' ? 'the router is a homenet gateway: it enforces the decisions itself' : 'only the hub programs the router (hub.exclusiveRouter): its decisions are enforced')
      : 'the router lets every LAN host open its own ports: the hub settles and audits, but a host can still get around it',
  });

  // The applier towards the router, opened before the daemon (its start reconciles the router to the journal's needs).
  const flog = log.child('firewall');
  const routerFirewall = kind === 'pcp-third-party'
    ? await (options.openPcpFirewall ?? missing('openPcpFirewall'))(config, router, flog, now)
    : kind === 'gateway-admin' ? await (options.openGatewayAdminFirewall ?? missing('openGatewayAdminFirewall'))(config, router, flog, now) : undefined;
  const daemon = await startGatewayDaemon({
    ...options,
    config,
    scheduler,
    log,
    startIgdFront: null,
    startPcpFront: null,
    externalIpv4: () => externalIpv4,
    gateway: router.gateway,
    deploymentInfo,
    // The agents apply: the hub keeps the settled needs as its own record of what the router should hold.
    openFirewall: (_c, clock) => routerFirewall ?? new MemoryGatewayFirewall(clock),
  });
  const subs = new Subscription();
  const stops: (() => Promise<void> | void)[] = [() => subs.unsubscribe(), () => daemon.stop()];
  const stopAll = async () => {
    for (const step of stops.splice(0).reverse()) await Promise.resolve().then(step).catch((e: unknown) => hlog.warn('stop step failed', { error: String(e) }));
  };
  try {
    const info = (): HubInfo => ({ deployment: 'hub', version: HUB_PROTOCOL_VERSION, applier, enforcement, ...(router.address ? { router: router.address } : {}) });
    const coordination = new CoordinationService({
      needs: daemon.needs,
      applier: () => applier,
      info,
      externalIpv4: () => daemon.externalIpv4(),
      now,
      onReport: (needId, report) => {
        hlog.info('agent report', { needId, ok: report.ok, via: report.via, ...(report.externalPort ? { externalPort: report.externalPort } : {}), ...(report.error ? { error: report.error } : {}) });
        if (daemon.events$.observed) daemon.events$.next({ event: 'agent_report', data: { needId, ...report } });
      },
    });
    subs.add(daemon.events$.pipe(filter((e) => e.event === 'need_ended')).subscribe((e) => coordination.forget((e.data as { needId: string }).needId)));
    const listen = options.coordinationListen ?? [{ host: '::', port: config.hub.coordinationPort }];
    const clog = log.child('coordination');
    const server = await startCoordinationServer({
      service: coordination,
      listen,
      maxConnections: config.hub.maxConnections,
      maxConnectionsPerSource: config.hub.maxConnectionsPerSource,
      onRequest: (r) => {
        if (clog.enabled('debug')) clog.debug('request', { ...r });
      },
    });
    stops.push(() => server.stop());
    hlog.info('coordination listening', { addresses: server.addresses.map((a) => `[${a.host}]:${a.port}`) });
    const services: HubServices = { daemon, coordination, router, applier, applierKind: kind };

    if (config.hub.advertise && options.startAdvertisement !== null && options.startAdvertisement !== undefined) {
      try {
        const advertisement = await options.startAdvertisement(server.addresses[0].port, config, log.child('dnssd'));
        stops.push(() => advertisement.stop());
      } catch (error) {
        hlog.warn('DNS-SD advertisement not started (agents need --hub URL)', { error: (error as Error).message });
      }
    }
    if (config.hub.auditSeconds > 0 && options.startAudit !== null && options.startAudit !== undefined) {
      const audit = await options.startAudit(services, log.child('audit'));
      stops.push(() => audit.stop());
    }
    const readWan = options.readExternalIpv4;
    if (readWan) {
      // The router's WAN address can change (DHCP on its WAN, a new PPP session): the grants' external address follows it.
      const periodMs = Math.max(30, config.hub.auditSeconds) * 1000;
      const timer = scheduler.schedule(function refresh(this: { schedule(state?: unknown, delay?: number): void }) {
        void readWan().then((wan) => {
          if (wan === externalIpv4) return;
          hlog.info('router WAN IPv4 changed', { from: externalIpv4 || null, to: wan || null });
          externalIpv4 = wan;
          daemon.engine.submit({ type: 'network-changed', wanIpv4: classifyExternalIpv4(wan) });
        }, (error: unknown) => hlog.debug('router WAN IPv4 not read', { error: (error as Error).message }));
        this.schedule(undefined, periodMs);
      }, periodMs);
      stops.push(() => timer.unsubscribe());
    }
    options.onStarted?.(services);
    let stopping: Promise<void> | undefined;
    return {
      ...services,
      server,
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The coordination protocol's version the hub speaks. */
export const HUB_PROTOCOL_VERSION = '1';

async function defaultProbeRouter(config: GatewayConfig): Promise<RouterFacts> {
  const address = config.hub.router;
  return { ...(address ? { address } : {}), gateway: { pinholes: true, portMappings: true, firewallEnabled: true, inboundPinholeAllowed: true }, externalIpv4: '', thirdParty: 'unknown', summary: 'not probed' };
}

function missing(name: string): (...args: unknown[]) => never {
  return () => {
    throw new Error(`startHubDaemon: options.${name} is needed for this applier (startHubDaemonWithDefaults gives the real one)`);
  };
}
