/**
 * The IGD front as the daemon runs it: the UPnP HTTP server (description,
 * SCPDs, SOAP control) bound to the LAN addresses only — never to the WAN —
 * plus the SSDP responder (IPv4 and IPv6, NOTIFY alive/byebye), all answering
 * through one {@link GatewayDecider}.
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
import { createIgdHttpServer } from '../../adapters/upnp/server/igd-http-server';
import { Ipv4SsdpResponderTransport } from '../../adapters/upnp/server/ssdp-ipv4-responder-transport';
import { Ipv6SsdpResponderTransport } from '../../adapters/upnp/server/ssdp-ipv6-responder-transport';
import { SsdpResponder } from '../../adapters/upnp/server/ssdp-responder';
import { Logger } from './structured-log';
import { RefusalLog } from './refusal-log';
import { isLinkLocalIpv6 } from '../../policies/model/address';

export interface IgdFront {
  urls(): string[];
  stop(): Promise<void>;
}

export interface IgdFrontOptions {
  readonly decider: GatewayDecider;
  readonly lanInterfaces: readonly string[];
  readonly httpPort: number;
  /** The root device UUID (stable across restarts). */
  readonly uuid: string;
  readonly log: Logger;
  /** Interface addresses (default `os.networkInterfaces`). */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** NOTIFY ssdp:alive period (default 30 s, as miniupnpd). */
  readonly notifyIntervalMs?: number;
  /** Serve SSDP (default true; tests of the HTTP side turn it off). */
  readonly ssdp?: boolean;
  /** Who sent a request (default the TCP peer). Tests on loopback map their 127.0.x.y sources to lab addresses. */
  readonly peerAddress?: (socket: net.Socket) => string | undefined;
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

/** Starts the IGD front on the LAN interfaces. */
export async function startIgdFront(options: IgdFrontOptions): Promise<IgdFront> {
  const interfaces = (options.interfaces ?? networkInterfaces)();
  const listen = lanListenAddresses(options.lanInterfaces, interfaces, options.httpPort);
  if (listen.length === 0) throw new Error(`no address on the LAN interfaces ${options.lanInterfaces.join(', ')}: the IGD front has nowhere to listen`);
  const igd = defineIgdDevice({ uuid: options.uuid, friendlyName: 'homenet gateway' });
  const log = options.log;
  const refusals = new RefusalLog({ log, windowMs: options.refusalWindowMs ?? 60_000, now: Date.now });
  const http = createIgdHttpServer({
    igd,
    decider: options.decider,
    listen,
    ...(options.peerAddress ? { peerAddress: options.peerAddress } : {}),
    onControl: (entry) => {
      const fields = { action: entry.action, requester: entry.requester.address, status: entry.status, ms: Number(entry.durationMs.toFixed(2)) };
      if (entry.code !== undefined) refusals.refused('control refused', entry.requester.address, `${entry.action} ${entry.code} ${entry.refusedBy ?? ''}`, { ...fields, code: entry.code, refusedBy: entry.refusedBy, detail: entry.detail });
      else if (log.enabled('debug')) log.debug('control', fields);
    },
    onError: (error) => log.warn('igd http problem', { error: error.message }),
  });
  await http.start();
  const flusher = setInterval(() => refusals.flush(), Math.min(options.refusalWindowMs ?? 60_000, 10_000));
  flusher.unref();
  let ssdp: SsdpResponder | undefined;
  if (options.ssdp !== false) {
    const onError = (error: Error) => log.warn('ssdp problem', { error: error.message });
    ssdp = new SsdpResponder({
      igd,
      configId: http.documents.configId,
      interfaces: options.lanInterfaces,
      httpPort: options.httpPort,
      notifyIntervalMs: options.notifyIntervalMs ?? 30_000,
      transports: [new Ipv4SsdpResponderTransport({ interfaces: options.lanInterfaces, onError }), new Ipv6SsdpResponderTransport({ interfaces: options.lanInterfaces, onError })],
      onError,
    });
    try {
      await ssdp.start();
    } catch (error) {
      await http.close();
      clearInterval(flusher);
      throw error;
    }
  }
  log.info('igd front listening', { urls: http.urls(), ssdp: ssdp !== undefined, bootId: ssdp?.bootId ?? null });
  return {
    urls: () => http.urls(),
    async stop() {
      // byebye first, while the HTTP side still answers.
      await ssdp?.stop().catch((error: unknown) => log.warn('ssdp byebye failed', { error: String(error) }));
      await http.close();
      clearInterval(flusher);
      refusals.flush(true);
      log.info('igd front stopped', { byebye: ssdp?.counters.byebye ?? 0 });
    },
  };
}
