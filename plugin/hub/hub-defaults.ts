/**
 * The hub daemon with its real parts: the router found by UPnP discovery and
 * described by the gateway report, its PCP server probed for THIRD_PARTY, the
 * PCP THIRD_PARTY applier, the router audit and the DNS-SD advertisement.
 * `homenet serve --mode hub` runs this; tests of the daemon's logic inject
 * their own parts into `startHubDaemon` instead.
 *
 * @example
 * ```ts
 * import { startHubDaemonWithDefaults } from './hub-defaults';
 * const hub = await startHubDaemonWithDefaults({ config });
 * hub.router.summary; // 'IGD:2 grade A at http://192.168.1.1:5000/rootDesc.xml; PCP THIRD_PARTY allowed'
 * await hub.stop();
 * ```
 */
import type { DiscoveredGateway } from '../../adapters/upnp/gateway';
import type { GatewayConfig } from '../gateway/gateway-config';
import type { Logger } from '../gateway/structured-log';
import type { GatewayFirewall } from '../gateway/gateway-firewall';
import { HubDaemon, HubDaemonOptions, HubServices, RouterFacts, RunningAdvertisement, RunningAudit, startHubDaemon } from './hub-daemon';

/** How long the hub looks for its router's IGD at start. */
const DISCOVERY_TIMEOUT_MS = 3000;

/** The router's IGD, preferring the configured router's address when several answer. */
export async function discoverRouterIgd(config: GatewayConfig, log: Logger): Promise<DiscoveredGateway | undefined> {
  const { discoverGateway } = require('../../adapters/upnp/gateway-discovery') as typeof import('../../adapters/upnp/gateway-discovery');
  const router = config.hub.router;
  try {
    return await discoverGateway({
      family: 'ipv4',
      interfaces: config.lan.interfaces,
      timeoutMs: DISCOVERY_TIMEOUT_MS,
      ...(router ? { accept: (g: DiscoveredGateway) => (new URL(g.location).hostname.replace(/^\[|\]$/g, '') === router ? undefined : `not the router ${router}`) } : {}),
    });
  } catch (error) {
    log.warn('no UPnP IGD answered on the LAN', { error: (error as Error).message });
    return undefined;
  }
}

/** UPnP discovery + gateway report, then the PCP probe; never rejects (what failed is in the summary). */
export async function probeRouterFacts(config: GatewayConfig, log: Logger): Promise<{ facts: RouterFacts; igd?: DiscoveredGateway }> {
  const { buildGatewayReport } = require('../../adapters/upnp/gateway-report') as typeof import('../../adapters/upnp/gateway-report');
  const igd = await discoverRouterIgd(config, log);
  const report = await buildGatewayReport(igd, { timeoutMs: 2000 });
  const address = config.hub.router ?? (igd ? new URL(igd.location).hostname.replace(/^\[|\]$/g, '') : undefined);
  const pcp = address ? await probePcp(address, config, log) : { thirdParty: 'unknown' as const, text: 'no router address to probe PCP' };
  const status = report.firewallStatus;
  const facts: RouterFacts = {
    ...(address ? { address } : {}),
    gateway: {
      grade: report.grade,
      pinholes: report.hasWanIpv6FirewallControl || pcp.thirdParty === 'allowed',
      portMappings: report.hasWanIpConnection || report.hasWanPppConnection || pcp.thirdParty === 'allowed',
      firewallEnabled: status?.firewallEnabled ?? true,
      inboundPinholeAllowed: status?.inboundPinholeAllowed ?? true,
      ...(igd?.bootId !== undefined ? { bootId: String(igd.bootId) } : {}),
    },
    externalIpv4: report.externalIpv4 ?? '',
    thirdParty: pcp.thirdParty,
    summary: `${report.discovered ? `IGD:${report.igdVersion} grade ${report.grade} at ${report.location}` : 'no UPnP IGD (grade D)'}; ${pcp.text}`,
  };
  return { facts, ...(igd ? { igd } : {}) };
}

/** The hub's own addresses on its LAN link: IPv4, and a stable global IPv6 one (PCP from the hub). */
function hubAddresses(config: GatewayConfig): Promise<{ ipv4?: string; ipv6?: string }> {
  // Read once per start: the PCP probe and the PCP applier both need them (the config object is the start's).
  let read = addressesRead.get(config);
  if (!read) {
    read = readHubAddresses(config);
    addressesRead.set(config, read);
  }
  return read;
}

const addressesRead = new WeakMap<GatewayConfig, Promise<{ ipv4?: string; ipv6?: string }>>();

async function readHubAddresses(config: GatewayConfig): Promise<{ ipv4?: string; ipv6?: string }> {
  const { readHostAddresses } = require('../../adapters/observe/host-addresses') as typeof import('../../adapters/observe/host-addresses');
  const lan = config.lan.interfaces[0];
  const all = (await readHostAddresses()).filter((a) => a.interface === lan && !a.tentative && !a.deprecated);
  const ipv4 = all.find((a) => a.family === 'ipv4')?.address;
  const stable = all.filter((a) => a.family === 'ipv6' && !a.temporary);
  const ipv6 = (stable.find((a) => a.scope === 'gua') ?? stable.find((a) => a.scope === 'ula'))?.address;
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/** Another host's address on the hub's IPv4 subnet, to test THIRD_PARTY with (a neighbour, else one beside the hub). */
async function thirdPartyTestAddress(hub: string, router: string): Promise<string> {
  const { runCommand } = require('../../adapters/system/run-command') as typeof import('../../adapters/system/run-command');
  const { parseIpNeighJson } = require('../../adapters/observe/neighbour-table') as typeof import('../../adapters/observe/neighbour-table');
  const { stdout } = await runCommand('ip', ['-j', '-4', 'neigh', 'show'], { allowFailure: true, timeoutMs: 2000 });
  let neighbours: { address: string }[] = [];
  try {
    neighbours = parseIpNeighJson(stdout);
  } catch {
    neighbours = [];
  }
  const other = neighbours.map((n) => n.address).find((a) => a !== hub && a !== router && !a.includes(':'));
  if (other) return other;
  const parts = hub.split('.').map(Number);
  parts[3] = parts[3] === 254 ? 253 : 254;
  return parts.join('.');
}

/** Asks the router's PCP server whether the hub may map for other hosts (THIRD_PARTY); the test mapping is deleted at once. */
async function probePcp(router: string, config: GatewayConfig, log: Logger): Promise<{ thirdParty: RouterFacts['thirdParty']; text: string }> {
  const { openUdpPcpTransport, PcpClient } = require('../../adapters/pcp') as typeof import('../../adapters/pcp');
  const { probeRouterPcp } = require('./router-pcp-probe') as typeof import('./router-pcp-probe');
  const own = await hubAddresses(config);
  if (!own.ipv4 || router.includes(':')) return { thirdParty: 'unknown', text: 'PCP not probed (the hub has no IPv4 address towards the router)' };
  let transport;
  try {
    transport = await openUdpPcpTransport({ localAddress: own.ipv4, serverAddress: router, announcements: false });
  } catch (error) {
    return { thirdParty: 'unknown', text: `PCP not probed: ${(error as Error).message}` };
  }
  const client = new PcpClient({ transport, giveUpAfterMs: 2000 });
  try {
    const offer = await probeRouterPcp({ client, thirdPartyFor: await thirdPartyTestAddress(own.ipv4, router) });
    log.info('router pcp', { pcp: offer.pcp, thirdParty: offer.thirdParty, detail: offer.detail });
    return { thirdParty: offer.thirdParty, text: `PCP ${offer.pcp ? `THIRD_PARTY ${offer.thirdParty}` : 'not answered'}` };
  } finally {
    client.close();
    await transport.close();
  }
}

/** The secret that keys the hub's PCP nonces, kept beside the journal (0600) so a restarted hub can still delete its mappings. */
function nonceSecretOf(config: GatewayConfig): Buffer {
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  if (config.journal.path === null) return randomBytes(32);
  const { readFileSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  const file = `${config.journal.path}.pcp-nonce`;
  try {
    const held = readFileSync(file);
    if (held.length === 32) return held;
  } catch {
    // first start
  }
  const secret = randomBytes(32);
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** The PCP THIRD_PARTY applier towards the router (IPv4 mappings and, where the hub and router have IPv6, pinholes). */
async function openPcpFirewall(config: GatewayConfig, facts: RouterFacts, log: Logger, now: () => number): Promise<GatewayFirewall> {
  const { openRouterPcpFirewall } = require('./router-pcp-firewall') as typeof import('./router-pcp-firewall');
  const own = await hubAddresses(config);
  let routerIpv6 = config.hub.routerIpv6;
  if (routerIpv6 === undefined) {
    const { readDefaultRouter } = require('../agent/default-router') as typeof import('../agent/default-router');
    routerIpv6 = (await readDefaultRouter('ipv6').catch(() => undefined))?.address;
  }
  const router = facts.address;
  const firewall = await openRouterPcpFirewall({
    ...(own.ipv4 && router && !router.includes(':') ? { ipv4: { localAddress: own.ipv4, routerAddress: router } } : {}),
    ...(own.ipv6 && routerIpv6 ? { ipv6: { localAddress: own.ipv6, routerAddress: routerIpv6, ...(router ? { routerAliases: [router] } : {}) } } : {}),
    interfaceName: config.lan.interfaces[0],
    nonceSecret: nonceSecretOf(config),
    now,
  });
  log.info('pcp third-party applier', { ipv4: own.ipv4 ?? null, ipv6: own.ipv6 ?? null, router: router ?? null, routerIpv6: routerIpv6 ?? null });
  return firewall;
}

/** The homenet gateway admin API applier (`hub.gatewayAdmin`). */
function openGatewayAdminFirewall(config: GatewayConfig, _facts: RouterFacts, _log: Logger, now: () => number): GatewayFirewall {
  const { GatewayAdminFirewall } = require('./gateway-admin-firewall') as typeof import('./gateway-admin-firewall');
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const admin = config.hub.gatewayAdmin;
  if (!admin) throw new Error('hub.gatewayAdmin is not configured');
  return new GatewayAdminFirewall({ url: admin.url, token: readFileSync(admin.tokenFile, 'utf8').trim(), now });
}

/** The audit of the router's IPv4 mappings over UPnP, every `hub.auditSeconds`. */
function auditStarter(igd: () => DiscoveredGateway | undefined) {
  return async (hub: HubServices, log: Logger): Promise<RunningAudit> => {
    const gateway = igd();
    const service = gateway?.services.wanIpConnection ?? gateway?.services.wanPppConnection;
    if (!gateway || !service) {
      log.warn('audit off: the router offers no UPnP WANIPConnection listing');
      return { stop: () => undefined };
    }
    const { WanIpConnectionClient } = require('../../adapters/upnp/wan-ip-connection') as typeof import('../../adapters/upnp/wan-ip-connection');
    const { RouterAudit, upnpRouterMappings } = require('./router-audit') as typeof import('./router-audit');
    const { isIsolatedKind } = require('../../policies/model/device') as typeof import('../../policies/model/device');
    const ipc = new WanIpConnectionClient(service, { ...(gateway.localAddress ? { localAddress: gateway.localAddress } : {}) });
    const { daemon, coordination } = hub;
    const audit = new RouterAudit({
      source: upnpRouterMappings(ipc),
      periodSeconds: hub.daemon.config.hub.auditSeconds,
      protectedDevices: () => daemon.engine.snapshot().devices.filter((d) => isIsolatedKind(d.kinds) !== undefined && !d.ownerAllowed)
        .flatMap((d) => d.addresses.map((a) => ({ address: a.address, name: d.id }))),
      accountedMappings: () => daemon.engine.snapshot().grants.filter((g) => g.family === 'ipv4' && g.externalPort !== undefined).map((g) => {
        const reported = coordination.reportOf(g.needId);
        return { protocol: g.protocol, externalPort: reported?.externalPort ?? g.externalPort ?? g.internalPort, internalClient: g.internalClient, owner: g.needId };
      }),
    });
    const sub = audit.events$.subscribe((e) => {
      if (e.type === 'audit-failed') log.warn('audit failed', { error: e.error.message });
      else log.warn(e.type === 'finding' ? 'audit finding' : 'audit cleared', { kind: e.finding.kind, key: e.finding.key, text: e.text, mapping: e.finding.mapping });
      if (daemon.events$.observed) daemon.events$.next({ event: 'audit_finding', data: e.type === 'audit-failed' ? { type: e.type, text: e.text } : { type: e.type, ...e.finding } });
    });
    audit.start();
    return { stop: () => { audit.stop(); sub.unsubscribe(); } };
  };
}

/** Advertises the coordination listener over DNS-SD (`_homenet._tcp`) on the hub's LAN interfaces. */
async function startAdvertisement(port: number, config: GatewayConfig, log: Logger): Promise<RunningAdvertisement> {
  const { hostname } = require('node:os') as typeof import('node:os');
  const { DnssdAdvertiser, toDnsLabel } = require('../../adapters/dnssd/dnssd-advertiser') as typeof import('../../adapters/dnssd/dnssd-advertiser');
  const { readHostAddresses } = require('../../adapters/observe/host-addresses') as typeof import('../../adapters/observe/host-addresses');
  const { HUB_SERVICE_TYPE, COORDINATION_PATH } = require('./coordination-protocol') as typeof import('./coordination-protocol');
  const interfaces = config.lan.interfaces;
  const advertiser = await DnssdAdvertiser.start({
    serviceType: HUB_SERVICE_TYPE,
    instance: toDnsLabel(`homenet hub on ${hostname()}`),
    host: toDnsLabel(hostname()),
    port,
    txt: [`path=${COORDINATION_PATH}`, 'deployment=hub'],
    interfaces,
    addresses: async () => (await readHostAddresses()).filter((a) => interfaces.includes(a.interface)),
  });
  log.info('advertised', { service: HUB_SERVICE_TYPE, port, interfaces });
  return { stop: () => advertiser.stop() };
}

/** Starts the hub with the real parts (see the module comment); `options` may still override any. */
export async function startHubDaemonWithDefaults(options: HubDaemonOptions): Promise<HubDaemon> {
  let igd: DiscoveredGateway | undefined;
  return startHubDaemon({
    probeRouter: async (config, log) => {
      const found = await probeRouterFacts(config, log);
      igd = found.igd;
      return found.facts;
    },
    openPcpFirewall,
    openGatewayAdminFirewall,
    startAudit: auditStarter(() => igd),
    startAdvertisement,
    readExternalIpv4: async () => {
      const service = igd?.services.wanIpConnection ?? igd?.services.wanPppConnection;
      if (!igd || !service) return '';
      const { WanIpConnectionClient } = require('../../adapters/upnp/wan-ip-connection') as typeof import('../../adapters/upnp/wan-ip-connection');
      return new WanIpConnectionClient(service, { ...(igd.localAddress ? { localAddress: igd.localAddress } : {}) }).getExternalIpAddress();
    },
    onStarted: (hub) => watchApplierEvents(hub, options.log),
    ...options,
  });
}

/** The PCP applier's own events: a mapping the router lost is put back by a reconcile; a pinhole the router would not delete is said. */
function watchApplierEvents(hub: HubServices, log: Logger | undefined): void {
  const firewall = hub.daemon.firewall as Partial<{ events$: import('rxjs').Observable<import('./router-pcp-firewall').RouterPcpFirewallEvent> }>;
  if (!firewall.events$) return;
  const flog = (log ?? hub.daemon.log).child('router');
  firewall.events$.subscribe((e) => {
    if (e.type === 'lost') {
      flog.warn('router lost a mapping: reconciling', { entry: e.entry, error: e.error.message });
      void hub.daemon.reconcile().catch((error: unknown) => flog.warn('reconcile failed', { error: (error as Error).message }));
    } else if (e.type === 'remapped') flog.info('mapped again after a router restart', { entry: e.entry, elapsedMs: e.elapsedMs });
    else if (e.type === 'delete-shortened') flog.warn('the router would not delete a pinhole: cut to its shortest lifetime', { entry: e.entry, lifetimeSeconds: e.lifetimeSeconds, error: e.error.message });
  });
}
