/**
 * The IGD front as the daemon runs it: the UPnP HTTP server (description,
 * SCPDs, SOAP control) bound to the LAN addresses only — never to the WAN —
 * plus the SSDP responder (IPv4 and IPv6, NOTIFY alive/byebye), all answering
 * through one {@link GatewayDecider}.
 *
 * It follows LAN address changes (a renumbered prefix, a DHCP change): every
 * `addressCheckIntervalMs` it listens on new LAN addresses and stops listening
 * on removed ones, so the LOCATION the SSDP responder gives (always the current
 * address) is always served. One listener per address rather than the wildcard,
 * so the front still never accepts a connection on a WAN address.
 *
 * @example
 * ```ts
 * const front = await startIgdFront({ decider, lanInterfaces: ['lan0'], httpPort: 5000, uuid, log });
 * front.urls(); // ['http://192.168.77.1:5000', 'http://[2001:db8:77::1]:5000', ...]
 * await front.stop(); // SSDP byebye, sockets closed
 * ```
 */
import { createHash } from 'node:crypto';
import type net from 'node:net';
import { networkInterfaces, NetworkInterfaceInfo } from 'node:os';
import { GatewayDecider } from '../../adapters/upnp/server/gateway-decider';
import { defineIgdDevice } from '../../adapters/upnp/server/igd-device';
import { createIgdHttpServer, DEFAULT_IGD_HTTP_LIMITS, IgdHttpServer, igdConnectionBudget } from '../../adapters/upnp/server/igd-http-server';
import { Ipv4SsdpResponderTransport } from '../../adapters/upnp/server/ssdp-ipv4-responder-transport';
import { Ipv6SsdpResponderTransport } from '../../adapters/upnp/server/ssdp-ipv6-responder-transport';
import { SsdpResponder } from '../../adapters/upnp/server/ssdp-responder';
import { Logger } from './structured-log';
import { RefusalLog } from './refusal-log';
import { isLinkLocalIpv6 } from '../../policies/model/address';

export interface IgdFront {
  urls(): string[];
  /** Re-reads the LAN addresses now: listens on new ones, stops on removed ones (also runs on a timer). */
  followAddresses(): Promise<void>;
  stop(): Promise<void>;
}

export interface IgdFrontOptions {
  readonly decider: GatewayDecider;
  readonly lanInterfaces: readonly string[];
  readonly httpPort: number;
  /** The root device UUID (stable across restarts). */
  readonly uuid: string;
  readonly log: Logger;
  /** HTTP connection budget (`upnp.maxConnections` / `upnp.maxConnectionsPerSource`; default the HTTP server's). */
  readonly connectionLimits?: { readonly maxConnections: number; readonly maxConnectionsPerSource: number };
  /** Interface addresses (default `os.networkInterfaces`). */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** NOTIFY ssdp:alive period (default 30 s, as miniupnpd). */
  readonly notifyIntervalMs?: number;
  /** Serve SSDP (default true; tests of the HTTP side turn it off). */
  readonly ssdp?: boolean;
  /** Who sent a request (default the TCP peer). Tests on loopback map their 127.0.x.y sources to lab addresses. */
  readonly peerAddress?: (socket: net.Socket) => string | undefined;
  /** How often the LAN addresses are re-read to follow renumbering (default 2000 ms; 0 = never). */
  readonly addressCheckIntervalMs?: number;
  /** Refused controls are logged once per (requester, code) per this window, then counted (default 60 s). */
  readonly refusalWindowMs?: number;
}

/** A stable UUID derived from a seed (e.g. the firewall table and LAN interfaces). */
export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The addresses to listen on: every IPv4 and IPv6 address of the LAN interfaces (link-local with its zone). */
export function lanListenAddresses(lanInterfaces: readonly string[], interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, port: number): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const name of lanInterfaces) {
    for (const info of interfaces[name] ?? []) {
      if (info.internal) continue;
      const linkLocal = info.family === 'IPv6' && isLinkLocalIpv6(info.address);
      out.push({ host: linkLocal ? `${info.address}%${name}` : info.address, port });
    }
  }
  return out;
}

/**
 * Remembers which client already showed which quirk, so each is logged once per client
 * (bounded: the oldest pairs are forgotten first).
 *
 * @example
 * ```ts
 * const m = new QuirkMemory();
 * m.first('192.168.1.20', 'empty-remote-port'); // true: log it
 * m.first('192.168.1.20', 'empty-remote-port'); // false
 * ```
 */
export class QuirkMemory {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 1024) {}

  /** True the first time `client` shows `quirk`. */
  first(client: string, quirk: string): boolean {
    const key = `${client} ${quirk}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}

/** Starts the IGD front on the LAN interfaces. */
export async function startIgdFront(options: IgdFrontOptions): Promise<IgdFront> {
  const readInterfaces = options.interfaces ?? networkInterfaces;
  const listen = lanListenAddresses(options.lanInterfaces, readInterfaces(), options.httpPort);
  if (listen.length === 0) throw new Error(`no address on the LAN interfaces ${options.lanInterfaces.join(', ')}: the IGD front has nowhere to listen`);
  const igd = defineIgdDevice({ uuid: options.uuid, friendlyName: 'homenet gateway' });
  const log = options.log;
  const quirksSeen = new QuirkMemory();
  const refusals = new RefusalLog({ log, windowMs: options.refusalWindowMs ?? 60_000, now: Date.now });
  // One budget for the whole front: its caps hold across the per-address servers, so a host cannot
  // multiply its share by connecting to each of the router's LAN addresses.
  const budget = igdConnectionBudget(options.connectionLimits ?? DEFAULT_IGD_HTTP_LIMITS);
  const serverFor = (address: { host: string; port: number }) => createIgdHttpServer({
    igd,
    decider: options.decider,
    listen: [address],
    ...(options.peerAddress ? { peerAddress: options.peerAddress } : {}),
    ...(options.connectionLimits ? { limits: { maxConnections: options.connectionLimits.maxConnections, maxConnectionsPerSource: options.connectionLimits.maxConnectionsPerSource } } : {}),
    budget,
    onControl: (entry) => {
      const fields = { action: entry.action, requester: entry.requester.address, status: entry.status, ms: Number(entry.durationMs.toFixed(2)) };
      for (const quirk of entry.quirks ?? []) {
        if (quirksSeen.first(entry.requester.address, quirk)) log.info('client quirk accepted', { requester: entry.requester.address, quirk, action: entry.action });
      }
      if (entry.code !== undefined) refusals.refused('control refused', entry.requester.address, `${entry.action} ${entry.code} ${entry.refusedBy ?? ''}`, { ...fields, code: entry.code, refusedBy: entry.refusedBy, detail: entry.detail });
      else if (log.enabled('debug')) log.debug('control', fields);
    },
    onError: (error) => log.warn('igd http problem', { error: error.message }),
  });
  /** Listening servers by LAN host (address, link-local with its zone). */
  const servers = new Map<string, IgdHttpServer>();
  // Port 0 (tests): every address gets the port the first one was given, as one front.
  let port = options.httpPort;
  const listenOn = async (host: string): Promise<void> => {
    const server = serverFor({ host, port });
    await server.start();
    if (port === 0) port = server.addresses()[0]?.port ?? 0;
    servers.set(host, server);
  };
  const closeAll = async (): Promise<void> => {
    const all = [...servers.values()];
    servers.clear();
    await Promise.all(all.map((server) => server.close()));
  };
  try {
    for (const { host } of listen) await listenOn(host);
  } catch (error) {
    await closeAll();
    throw error;
  }
  const documents = servers.values().next().value?.documents;
  if (!documents) throw new Error('the IGD front started no HTTP server');
  const urls = (): string[] => [...servers.values()].flatMap((server) => server.urls());

  let following: Promise<void> = Promise.resolve();
  let stopped = false;
  const reconcile = async (): Promise<void> => {
    if (stopped) return;
    let wanted: string[];
    try {
      wanted = lanListenAddresses(options.lanInterfaces, readInterfaces(), port).map((a) => a.host);
    } catch (error) {
      log.warn('igd front could not read the LAN addresses', { error: String(error) });
      return;
    }
    const removed = [...servers.keys()].filter((host) => !wanted.includes(host));
    const added = wanted.filter((host) => !servers.has(host));
    for (const host of removed) {
      const server = servers.get(host);
      servers.delete(host);
      await server?.close();
      log.info('igd front stopped listening on a removed LAN address', { host });
    }
    for (const host of added) {
      try {
        await listenOn(host);
        log.info('igd front listening on a new LAN address', { host, urls: servers.get(host)?.urls() ?? [] });
      } catch (error) {
        // e.g. an IPv6 address still tentative (DAD): tried again at the next check.
        log.warn('igd front could not listen on a new LAN address yet', { host, error: (error as Error).message });
      }
    }
  };
  const followAddresses = (): Promise<void> => {
    following = following.then(reconcile, reconcile);
    return following;
  };
  const interval = options.addressCheckIntervalMs ?? 2000;
  const timer = interval > 0 ? setInterval(() => void followAddresses(), interval) : undefined;
  timer?.unref();
  const flusher = setInterval(() => refusals.flush(), Math.min(options.refusalWindowMs ?? 60_000, 10_000));
  flusher.unref();
  let ssdp: SsdpResponder | undefined;
  if (options.ssdp !== false) {
    const onError = (error: Error) => log.warn('ssdp problem', { error: error.message });
    ssdp = new SsdpResponder({
      igd,
      configId: documents.configId,
      interfaces: options.lanInterfaces,
      httpPort: options.httpPort,
      notifyIntervalMs: options.notifyIntervalMs ?? 30_000,
      transports: [new Ipv4SsdpResponderTransport({ interfaces: options.lanInterfaces, onError }), new Ipv6SsdpResponderTransport({ interfaces: options.lanInterfaces, onError })],
      onError,
    });
    try {
      await ssdp.start();
    } catch (error) {
      if (timer) clearInterval(timer);
      await closeAll();
      clearInterval(flusher);
      throw error;
    }
  }
  log.info('igd front listening', { urls: urls(), ssdp: ssdp !== undefined, bootId: ssdp?.bootId ?? null });
  return {
    urls,
    followAddresses,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await following.catch(() => undefined);
      // byebye first, while the HTTP side still answers.
      await ssdp?.stop().catch((error: unknown) => log.warn('ssdp byebye failed', { error: String(error) }));
      await closeAll();
      clearInterval(flusher);
      refusals.flush(true);
      log.info('igd front stopped', { byebye: ssdp?.counters.byebye ?? 0 });
    },
  };
}
