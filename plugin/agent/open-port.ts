/**
 * `openPort`: opens an inbound port for this host — an IPv6 pinhole
 * (WANIPv6FirewallControl:1, or a PCP MAP) and/or an IPv4 port mapping
 * (WANIPConnection, a PCP MAP, or NAT-PMP on a router that speaks only that) —
 * keeps it open (renewal before half of the lease, re-add after a router
 * reboot, follow address changes) and closes it. The result is a reachability
 * verdict per family: the answer a game needs to choose direct connections,
 * hole punching or a relay.
 *
 * `via` picks the protocol: `upnp`, `pcp` (to the family's default router),
 * or `auto` (the default): both at once, the first that proves the port open
 * wins, and whatever the other one opened is removed again — never both left
 * open ({@link OpenPortHandle.settled} resolves once the loser is undone).
 *
 * @example
 * ```ts
 * import { openPort } from 'homenet-controller';
 * const handle = await openPort({ protocol: 'udp', port: 40000, family: 'both', leaseSeconds: 3600 });
 * for (const r of handle.reachability) console.log(r.family, r.verdict, r.reason);
 * await handle.close();
 * ```
 */
import { merge, Observable, SchedulerLike, Subscription } from 'rxjs';
import { filter, map } from 'rxjs/operators';
import { HostAddress } from '../../adapters/observe/host-address';
import { readHostAddresses, watchHostAddresses } from '../../adapters/observe/host-addresses';
import type { DiscoveredGateway } from '../../adapters/upnp/gateway';
import { discoverGateway, DiscoverGatewayOptions, GatewayNotFoundError } from '../../adapters/upnp/gateway-discovery';
import { watchGateways } from '../../adapters/upnp/gateway-watch';
import { SoapCaller, SoapClient } from '../../adapters/upnp/soap-client';
import { UpnpNetworkError } from '../../adapters/upnp/upnp-errors';
import { pinholeControlOf, portMappingControlOf, routerFaultOf } from './connect-gateway';
import { chooseInternalClient, InternalClientError } from './internal-client';
import { Keeper, LeaseKeeper } from './lease-keeper';
import { PinholeOpener } from './pinhole-opener';
import { PortMappingOpener } from './port-mapping-opener';
import { Reachability } from './reachability';
import { parseHttpUrl } from '../../adapters/upnp/http-url';
import { familyOf, splitZone } from '../../policies/model/address';
import type { PcpTransport } from '../../adapters/pcp/pcp-transport';
import type { UdpPcpTransportInit } from '../../adapters/pcp/udp-pcp-transport';
import { DefaultRouter, readDefaultRouter } from './default-router';
import { PcpKeeper } from './pcp-keeper';
import { Opened, raceFamily } from './protocol-race';
import type { PortMappingControl } from './gateway-control';
import { HubKeeper } from './hub-keeper';
import { HubOption, resolveHub } from './hub-access';

export type PortFamily = 'ipv6' | 'ipv4' | 'both';

/** Which protocol opens the port: UPnP IGD, PCP (NAT-PMP for IPv4 when that is all the router speaks), or whichever proves it open first. */
export type PortVia = 'auto' | 'upnp' | 'pcp';

/** How the agent finds and talks to a PCP server (tests inject fakes). */
export interface PcpAccess {
  /** The default router of a family (default: the kernel's routing table via `ip -j route`). */
  readonly defaultRouter?: (family: 'ipv4' | 'ipv6') => Promise<DefaultRouter | undefined>;
  readonly openTransport?: (init: UdpPcpTransportInit) => Promise<PcpTransport>;
  /** A first PCP request gives up after this long (default 10 000 ms; 3000 ms in an `auto` race). */
  readonly giveUpAfterMs?: number;
}

/** Where this host's addresses come from (default: the kernel, via `ip`). */
export interface HostAddressSource {
  read(): Promise<HostAddress[]>;
  watch?(): Observable<HostAddress[]>;
}

export interface OpenPortOptions {
  readonly protocol: 'udp' | 'tcp';
  /** The game's local port (InternalPort); 1-65535. */
  readonly port: number;
  /** Default 'both'. */
  readonly family?: PortFamily;
  /** Wished lease in seconds (default 3600), clamped to the router's bounds. */
  readonly leaseSeconds?: number;
  /** InternalClient to use instead of the automatic choice; must be this host's. */
  readonly address?: string;
  /** IPv4 external port wish (default: `port`). */
  readonly externalPort?: number;
  /** Only this remote host may come in (default: any). */
  readonly remoteHost?: string;
  /** Port mapping description (default 'homenet'). */
  readonly description?: string;
  /** Interfaces to search for the gateway on. */
  readonly interfaces?: readonly string[];
  readonly discoveryTimeoutMs?: number;
  /** Keep the port open: renew, follow address changes, re-add after reboots (default true). */
  readonly keepOpen?: boolean;
  readonly scheduler?: SchedulerLike;
  readonly addresses?: HostAddressSource;
  readonly discover?: (options: DiscoverGatewayOptions) => Promise<DiscoveredGateway>;
  readonly soap?: SoapCaller;
  /**
   * Default 'auto'. With an injected `discover` or `soap` and no `pcp`,
   * 'upnp' (a test double of UPnP alone must not race the real network).
   */
  readonly via?: PortVia;
  readonly pcp?: PcpAccess;
  /** Renewal and address-change problems that were retried. */
  readonly onProblem?: (error: unknown) => void;
  /**
   * Ask a hub (`homenet serve --mode hub`) before touching the router:
   * `'auto'` browses DNS-SD for one (none found: exactly as without a hub),
   * a URL names it, or a {@link HubAccess} object (tests). A refusal leaves the
   * router untouched; an unreachable hub is logged once and the agent decides
   * alone. See `hub-keeper.ts`.
   */
  readonly hub?: HubOption;
}

export interface OpenPortHandle {
  /** The current verdict for each family asked for. */
  readonly reachability: readonly Reachability[];
  /** Every later verdict (renewals, moves, router reboots). */
  readonly changes$: Observable<Reachability>;
  /** Renews every open port now. */
  renewNow(): Promise<void>;
  /** Stops renewing and removes the ports from the router. */
  close(): Promise<void>;
  /** Stops renewing and leaves the ports to run out their leases. */
  detach(): void;
  /** Resolves once whatever lost an `auto` race has been removed from the router again (at once for `upnp` / `pcp`). */
  settled(): Promise<void>;
}

const systemAddresses: HostAddressSource = { read: readHostAddresses, watch: () => watchHostAddresses() };

function validate(options: OpenPortOptions): void {
  if (options.protocol !== 'udp' && options.protocol !== 'tcp') throw new RangeError(`protocol must be udp or tcp, not '${String(options.protocol)}'`);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new RangeError(`port must be 1-65535, not ${options.port}`);
  if (options.externalPort !== undefined && (!Number.isInteger(options.externalPort) || options.externalPort < 1 || options.externalPort > 65535)) {
    throw new RangeError(`external port must be 1-65535, not ${options.externalPort}`);
  }
  if (options.leaseSeconds !== undefined && !(options.leaseSeconds > 0)) throw new RangeError('lease must be a positive number of seconds');
  if (options.via !== undefined && !['auto', 'upnp', 'pcp'].includes(options.via)) throw new RangeError(`via must be auto, upnp or pcp, not '${String(options.via)}'`);
}


interface FamilyPlan {
  readonly family: 'ipv4' | 'ipv6';
  readonly explicit?: string;
}

/** Opens the port in each family asked for; see the module comment. */
export async function openPort(options: OpenPortOptions): Promise<OpenPortHandle> {
  validate(options);
  const family = options.family ?? 'both';
  const addresses = options.addresses ?? systemAddresses;
  const discover = options.discover ?? discoverGateway;
  const ownsSoap = options.soap === undefined;
  const soap = options.soap ?? new SoapClient();
  const keepOpen = options.keepOpen ?? true;
  const via: PortVia = options.via ?? ((options.discover || options.soap) && !options.pcp ? 'upnp' : 'auto');
  const cleanups: Promise<void>[] = [];

  const families: FamilyPlan[] = (family === 'both' ? (['ipv6', 'ipv4'] as const) : [family]).map((f) => ({ family: f }));
  // An explicit address is checked before anything is sent: a router only opens
  // ports for the host that asks, so someone else's address is an error here.
  // Without one, the addresses are read while the gateways are being found.
  const early = options.address !== undefined ? await addresses.read() : undefined;
  if (early && options.address !== undefined) {
    const own = chooseInternalClient(early, { family: familyOf(options.address), address: options.address });
    const target = families.find((f) => f.family === own.family);
    if (!target) throw new RangeError(`--address ${own.address} is ${own.family}, but only ${family} was asked for`);
    families.splice(families.indexOf(target), 1, { family: own.family, explicit: own.address });
  }
  const hostAddresses = early ? Promise.resolve(early) : addresses.read();
  hostAddresses.catch(() => undefined); // awaited (and reported) by each family below

  // Opens one family as the agent does on its own (`exact`: a hub's settled
  // external port, exactly: no AddAnyPortMapping, no nearby ports).
  const apply = async (plan: FamilyPlan, opts: OpenPortOptions, exact: boolean): Promise<Opened> => {
    const upnp = (signal?: AbortSignal) => openFamily(plan, opts, hostAddresses, discover, soap, signal, exact);
    const pcp = (giveUpAfterMs?: number, signal?: AbortSignal) => openFamilyPcp(plan, opts, hostAddresses, giveUpAfterMs, signal);
    if (via === 'upnp') return upnp();
    if (via === 'pcp') return pcp();
    const race = await raceFamily(upnp, pcp, options.pcp?.giveUpAfterMs ?? 3000);
    cleanups.push(race.cleanup.catch((e: unknown) => options.onProblem?.(e)));
    return race.winner;
  };
  const hub = options.hub !== undefined ? await resolveHub(options.hub, { hostAddresses, ...(options.interfaces ? { interfaces: options.interfaces } : {}) }) : undefined;

  const keepers: ({ plan: FamilyPlan } & Opened)[] = await Promise.all(
    families.map(async (plan) => {
      const calls = hub?.callsFor(plan.family);
      const client = calls ? await hubClientAddress(plan, hostAddresses, hub!.hostOf(plan.family)) : undefined;
      if (!calls || client === undefined) {
        if (hub) hub.log(`the hub at ${hub.location.url} cannot be asked over ${plan.family} from this host; ${plan.family} is decided alone`);
        return { plan, ...(await apply(plan, options, false)) };
      }
      const keeper = new HubKeeper({
        family: plan.family,
        hub: calls,
        ask: {
          protocol: options.protocol,
          internalPort: options.port,
          family: plan.family,
          ...(plan.family === 'ipv4' && options.externalPort ? { externalPort: options.externalPort } : {}),
          ...(options.leaseSeconds ? { leaseSeconds: Math.min(604_800, Math.round(options.leaseSeconds)) } : {}),
          ...(options.description ? { description: options.description.slice(0, 256) } : {}),
        },
        applySettled: (grant, address) =>
          apply(
            { family: plan.family, explicit: address },
            {
              ...options,
              ...(grant.externalPort !== undefined ? { externalPort: grant.externalPort } : {}),
              ...(grant.leaseSeconds > 0 ? { leaseSeconds: grant.leaseSeconds } : {}),
            },
            true,
          ),
        applyAlone: (address) => apply({ family: plan.family, explicit: address }, options, false),
        log: hub!.log,
        ...(options.onProblem ? { onProblem: options.onProblem } : {}),
        ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      });
      const verdict = await keeper.open(client);
      return { plan, keeper, verdict, kind: keeper.kind === 'upnp' ? 'upnp' : 'pcp' };
    }),
  );
  const settled = Promise.all(cleanups).then(() => undefined);

  const subscriptions: Subscription[] = [];
  if (keepOpen && addresses.watch) {
    const followers = keepers.filter((k) => k.keeper && !k.plan.explicit);
    if (followers.length > 0) {
      subscriptions.push(
        addresses.watch().subscribe({
          next: (list) => {
            for (const k of followers) void follow(k.keeper!, k.plan.family, list, options.onProblem);
          },
          error: (e: unknown) => options.onProblem?.(e),
        }),
      );
    }
  }
  if (keepOpen) {
    // A router that reboots announces a new BOOTID: renew at once instead of
    // waiting for the next renewal to find the port gone. (A PCP router's
    // restart shows in its epoch; the PCP client watches that itself.)
    const gatewayWatch = keepers.some((k) => k.kind === 'upnp') ? watchGatewaysQuietly(options) : undefined;
    if (gatewayWatch) subscriptions.push(gatewayWatch.subscribe(() => keepers.forEach((k) => void k.keeper?.renewNow().catch((e: unknown) => options.onProblem?.(e)))));
  } else {
    // Once the --via auto race is settled: its cleanup may still ask the router again for the winner.
    void settled.then(() => {
      for (const k of keepers) k.keeper?.detach();
    });
  }

  const changes$ = merge(...keepers.filter((k) => k.keeper).map((k) => k.keeper!.reachability$)).pipe(
    filter((r): r is Reachability => r !== undefined),
  );
  let done = false;
  const finish = () => {
    done = true;
    subscriptions.forEach((s) => s.unsubscribe());
    if (ownsSoap && soap instanceof SoapClient) soap.close();
  };
  return {
    get reachability() {
      return keepers.map((k) => k.keeper?.reachability ?? k.verdict);
    },
    changes$,
    async renewNow() {
      await Promise.all(keepers.flatMap((k) => (k.keeper ? [k.keeper.renewNow()] : [])));
    },
    settled: () => settled,
    async close() {
      if (done) return;
      try {
        await settled;
        await Promise.all(keepers.flatMap((k) => (k.keeper ? [k.keeper.close()] : [])));
      } finally {
        finish();
      }
    },
    detach() {
      if (done) return;
      keepers.forEach((k) => k.keeper?.detach());
      finish();
    },
  };
}

function watchGatewaysQuietly(options: OpenPortOptions): Observable<unknown> | undefined {
  if (options.discover) return undefined; // injected discovery (tests): no real SSDP listening
  try {
    return watchGateways({ ...(options.interfaces ? { interfaces: options.interfaces } : {}) }).pipe(
      filter((e) => e.type === 'rebooted'),
      map(() => undefined),
    );
  } catch {
    return undefined;
  }
}

async function openFamily(
  plan: FamilyPlan,
  options: OpenPortOptions,
  hostAddresses: Promise<HostAddress[]>,
  discover: (o: DiscoverGatewayOptions) => Promise<DiscoveredGateway>,
  soap: SoapCaller,
  signal?: AbortSignal,
  exact = false,
): Promise<Opened> {
  let gateway: DiscoveredGateway;
  try {
    gateway = await discover({
      family: plan.family,
      ...(signal ? { signal } : {}),
      ...(options.interfaces ? { interfaces: options.interfaces } : {}),
      ...(options.discoveryTimeoutMs ? { timeoutMs: options.discoveryTimeoutMs } : {}),
    });
  } catch (error) {
    const offline = error instanceof UpnpNetworkError ? await noNetworkVerdict(plan.family, hostAddresses) : undefined;
    if (offline) return { verdict: offline, kind: 'upnp' };
    if (!(error instanceof GatewayNotFoundError)) throw error;
    return {
      kind: 'upnp',
      verdict: {
        family: plan.family,
        verdict: 'unsupported',
        grade: 'D',
        reason: `no Internet Gateway Device answered over ${plan.family} (${error.message}); UPnP may be off on the router`,
      },
    };
  }
  if (signal?.aborted) return { kind: 'upnp', verdict: abandoned(plan.family, 'UPnP') };
  const gatewayHost = parseHttpUrl(gateway.location).host;
  const client = plan.explicit ?? chooseInternalClient(await hostAddresses, { family: plan.family, gateway: gatewayHost }).address;
  const common = {
    gateway: gateway.location,
    faultOf: routerFaultOf,
    protocol: options.protocol,
    port: options.port,
    leaseSeconds: options.leaseSeconds ?? 3600,
    ...(options.remoteHost ? { remoteHost: options.remoteHost } : {}),
  };
  let keeper: Keeper;
  if (plan.family === 'ipv6') {
    const control = pinholeControlOf(gateway, soap);
    if (!control) return { kind: 'upnp', verdict: unsupported('ipv6', gateway, 'the gateway has no WANIPv6FirewallControl service (IGD:1 or pinholes not offered)') };
    keeper = new LeaseKeeper({
      opener: new PinholeOpener({ ...common, control }),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.onProblem ? { onError: options.onProblem } : {}),
    });
  } else {
    const found = portMappingControlOf(gateway, soap);
    if (!found) return { kind: 'upnp', verdict: unsupported('ipv4', gateway, 'the gateway has no WANIPConnection service') };
    const control = exact ? (localAddress: string) => exactPortControl(found(localAddress)) : found;
    keeper = new LeaseKeeper({
      opener: new PortMappingOpener({
        ...common,
        control,
        ...(exact ? { alternatives: 0 } : {}),
        ...(options.externalPort ? { externalPort: options.externalPort } : {}),
        ...(options.description ? { description: options.description } : {}),
      }),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.onProblem ? { onError: options.onProblem } : {}),
    });
  }
  const verdict = await keeper.open(client);
  return { keeper, verdict, kind: 'upnp' };
}

/** Opens one family through PCP at the family's default router (NAT-PMP for IPv4 when that is all it speaks). */
async function openFamilyPcp(
  plan: FamilyPlan,
  options: OpenPortOptions,
  hostAddresses: Promise<HostAddress[]>,
  giveUpAfterMs?: number,
  signal?: AbortSignal,
): Promise<Opened> {
  const access = options.pcp ?? {};
  const routerOf = access.defaultRouter ?? readDefaultRouter;
  const router = await routerOf(plan.family);
  if (!router) {
    const offline = await noNetworkVerdict(plan.family, hostAddresses);
    return {
      kind: 'pcp',
      verdict: offline ?? { family: plan.family, verdict: 'unsupported', grade: 'D', via: 'pcp', reason: `this host has no default ${plan.family} router: no PCP server to ask` },
    };
  }
  const routerAddress = splitZone(router.address).address;
  const client = plan.explicit ?? chooseInternalClient(await hostAddresses, { family: plan.family, gateway: routerAddress }).address;
  // miniupnpd announces a restart over IPv4 only: an IPv6 keeper listens for that too.
  const alias = plan.family === 'ipv6' ? await routerOf('ipv4').catch(() => undefined) : undefined;
  const giveUp = giveUpAfterMs ?? access.giveUpAfterMs;
  const keeper = new PcpKeeper({
    family: plan.family,
    router: router.address,
    ...(alias ? { routerAliases: [splitZone(alias.address).address] } : {}),
    protocol: options.protocol,
    port: options.port,
    leaseSeconds: options.leaseSeconds ?? 3600,
    ...(options.externalPort ? { externalPort: options.externalPort } : {}),
    ...(options.remoteHost ? { remoteHost: options.remoteHost } : {}),
    ...(giveUp !== undefined ? { giveUpAfterMs: giveUp } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    ...(access.openTransport ? { openTransport: access.openTransport } : {}),
    ...(options.onProblem ? { onError: options.onProblem } : {}),
  });
  if (!signal) return { keeper, verdict: await keeper.open(client), kind: 'pcp' };
  // In an auto race: if the other protocol wins while the first MAP is still
  // in flight, stop waiting for it (see PcpKeeper.abandon).
  let abandoning: Promise<void> | undefined;
  let answered = false;
  const onAbort = () => {
    if (!answered) abandoning = keeper.abandon();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const verdict = await keeper.open(client);
    answered = true;
    return { keeper, verdict, kind: 'pcp' };
  } catch (error) {
    if (!abandoning) throw error;
    await abandoning;
    return { verdict: abandoned(plan.family, 'PCP'), kind: 'pcp' };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A port mapping control that can only add the exact external port asked (a hub's settlement): no AddAnyPortMapping. */
function exactPortControl(control: PortMappingControl): PortMappingControl {
  return {
    getExternalIPAddress: () => control.getExternalIPAddress(),
    addPortMapping: (args) => control.addPortMapping(args),
    deletePortMapping: (args) => control.deletePortMapping(args),
  };
}

/**
 * The address this host asks the hub from, which the hub takes as the
 * requester: the InternalClient the agent would name to the router (IPv4: on
 * the hub's subnet). Undefined when this host has none (then it decides alone).
 */
async function hubClientAddress(plan: FamilyPlan, hostAddresses: Promise<HostAddress[]>, hubHost: string | undefined): Promise<string | undefined> {
  if (plan.explicit) return plan.explicit;
  try {
    return chooseInternalClient(await hostAddresses, { family: plan.family, ...(plan.family === 'ipv4' && hubHost ? { gateway: hubHost } : {}) }).address;
  } catch {
    return undefined;
  }
}

function abandoned(family: 'ipv4' | 'ipv6', what: string): Reachability {
  return { family, verdict: 'unsupported', grade: 'D', reason: `${what} was not tried further: the other protocol answered first` };
}

/**
 * Discovery could not even start over `family`: when this host has no usable
 * address of that family (no interface up, an IPv4-only or IPv6-only host) that
 * is an answer — unsupported, "no network" — not an error. Otherwise undefined
 * (the discovery error stands, e.g. an SSDP port that cannot be bound).
 */
async function noNetworkVerdict(family: 'ipv4' | 'ipv6', hostAddresses: Promise<HostAddress[]>): Promise<Reachability | undefined> {
  try {
    chooseInternalClient(await hostAddresses, { family });
    return undefined;
  } catch (error) {
    if (!(error instanceof InternalClientError)) return undefined;
    return { family, verdict: 'unsupported', grade: 'D', reason: `no network: ${error.message.replace(/^cannot choose an InternalClient: /, '')}` };
  }
}

function unsupported(family: 'ipv4' | 'ipv6', gateway: DiscoveredGateway, why: string): Reachability {
  return { family, verdict: 'unsupported', grade: 'C', reason: `${why}`, gateway: gateway.location };
}

/** Moves a keeper to a new address when its InternalClient is gone or deprecated. */
async function follow(keeper: Keeper, family: 'ipv4' | 'ipv6', list: HostAddress[], onProblem?: (e: unknown) => void): Promise<void> {
  const current = keeper.internalClient;
  if (current === undefined) return;
  const now = list.find((a) => a.address === current);
  if (now && !now.deprecated) return;
  try {
    const r = keeper.reachability;
    const gateway = r && 'gateway' in r ? r.gateway : undefined;
    const server = r && r.verdict === 'open' ? r.server : undefined;
    const gatewayHost = server ? splitZone(server).address : gateway && gateway.startsWith('http') ? parseHttpUrl(gateway).host : undefined;
    const next = chooseInternalClient(list, { family, ...(gatewayHost ? { gateway: gatewayHost } : {}) });
    if (next.address !== current) await keeper.moveTo(next.address, now !== undefined);
  } catch (error) {
    onProblem?.(error);
  }
}
