/**
 * The PCP / NAT-PMP front as the daemon runs it (like `igd-front.ts` for
 * UPnP): the listener (`adapters/pcp/server`) on UDP 5351 of every LAN
 * address — never the WAN — asking the gateway's one decision path
 * ({@link GatewayNeeds}: journal first, the engine, the firewall, the
 * answer), an ANNOUNCE (and a NAT-PMP public-address message) to the LAN on
 * start, and the epoch: seconds since the gateway's mapping state began,
 * kept across restarts by {@link PcpEpochStore} and reset only when the
 * state was truly lost (the journal gone).
 *
 * A PCP need is a need like a UPnP one (source `pcp`): the requester is the
 * sender, held to its own address by the engine's requester-owns-target
 * rule; with THIRD_PARTY from a configured controller, the requester is the
 * host the mapping is for, so a Matter plug gets the same decision whichever
 * protocol, and whoever, asks for it.
 *
 * @example
 * ```ts
 * const front = await startPcpFront({ needs, lanInterfaces: ['lan0'], port: 5351, controllers: [],
 *   externalIpv4: () => '198.51.100.1', epochStartedAt: Date.now(), now: Date.now, log });
 * front.addresses(); // ['192.168.77.1', '2001:db8:77::1', 'fe80::1%lan0']
 * await front.stop();
 * ```
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { networkInterfaces, NetworkInterfaceInfo } from 'node:os';
import { dirname } from 'node:path';
import { describePcpReason, PcpDecider, PcpListener, PcpListenerEvent, PcpMapAsk } from '../../adapters/pcp/server';
import { LanAddress, UdpPcpServer } from '../../adapters/pcp/server/udp-pcp-server';
import { encodePcpResponse } from '../../adapters/pcp/pcp-codec';
import { encodeNatPmpResponse } from '../../adapters/pcp/natpmp-codec';
import { isLinkLocalIpv6 } from '../../policies/model/address';
import { GatewayNeeds, needIdOf, OpenRequest } from './gateway-needs';
import { Logger } from './structured-log';

export interface PcpFront {
  addresses(): string[];
  readonly listener: PcpListener;
  stop(): Promise<void>;
}

/** The open request a PCP / NAT-PMP ask becomes. */
export function openRequestOf(ask: PcpMapAsk): OpenRequest {
  return {
    source: 'pcp',
    family: ask.family,
    protocol: ask.protocol,
    internalClient: ask.internalClient,
    internalPort: ask.internalPort,
    ...(ask.family === 'ipv4' && ask.suggestedExternalPort ? { externalPort: ask.suggestedExternalPort } : {}),
    remoteHost: '',
    remotePort: 0,
    leaseSeconds: ask.lifetime,
    // THIRD_PARTY from a controller: the mapping is the target host's own need (the listener checked the controller).
    requesterAddress: ask.thirdParty ? ask.internalClient : ask.sender,
    description: `${ask.via} ${ask.thirdParty ? `${ask.sender} for ${ask.internalClient}` : ask.sender}`,
    // PCP: another external port is fine unless PREFER_FAILURE (RFC 6887 11.3); NAT-PMP always takes another.
    acceptOtherExternalPort: !ask.preferFailure,
  };
}

export interface PcpNeedsDeciderOptions {
  readonly needs: GatewayNeeds;
  readonly externalIpv4: () => string;
  /** Wall clock ms. */
  readonly now: () => number;
  /** When the mapping state began (ms, same clock). */
  readonly epochStartedAt: number;
}

/** The listener's decider over the gateway's needs. */
export function createPcpNeedsDecider(options: PcpNeedsDeciderOptions): PcpDecider {
  const { needs } = options;
  return {
    async map(ask) {
      const outcome = await needs.open(openRequestOf(ask));
      if (outcome.ok) return { ok: true, lifetime: outcome.leaseSeconds, externalPort: outcome.externalPort ?? ask.internalPort };
      if ('invalid' in outcome) return { ok: false, invalid: outcome.invalid };
      return { ok: false, decision: outcome.decision };
    },
    async unmap(ask) {
      const request = openRequestOf(ask);
      const id = needIdOf(request);
      if (needs.get(id)) return needs.close(id, 'deleted');
      if (ask.family === 'ipv4') {
        // The mapping may hold another external port than the one suggested: find it by its internal side.
        const held = needs.list().find((n) => n.request.family === 'ipv4' && n.request.protocol === ask.protocol && n.request.internalClient === ask.internalClient && n.request.internalPort === ask.internalPort && (n.source === 'pcp' || n.source === 'upnp'));
        if (held) return needs.close(held.id, 'deleted');
      }
      return false;
    },
    externalIpv4: options.externalIpv4,
    epochSeconds: () => Math.max(0, Math.floor((options.now() - options.epochStartedAt) / 1000)),
  };
}

/**
 * Where the epoch's start is kept: a small file beside the journal. The start
 * is kept when the journal survived (the state did), and begins anew when it
 * did not (a first start, or a journal deleted: the state was lost).
 */
export class PcpEpochStore {
  constructor(private readonly file: string | null) {}

  /** The file for a journal path (null: in-memory journal, nothing kept). */
  static besideJournal(journalPath: string | null): PcpEpochStore {
    return new PcpEpochStore(journalPath === null ? null : `${journalPath}.pcp-epoch`);
  }

  /** The epoch start to use now: the kept one when `stateSurvived`, else `now` (written for next time). */
  begin(now: number, stateSurvived: boolean): { startedAt: number; reset: boolean } {
    if (this.file === null) return { startedAt: now, reset: true };
    let kept: number | undefined;
    if (stateSurvived && existsSync(this.file)) {
      const n = Number(readFileSync(this.file, 'utf8').trim());
      if (Number.isSafeInteger(n) && n > 0 && n <= now) kept = n;
    }
    const startedAt = kept ?? now;
    if (kept === undefined) {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(`${this.file}.tmp`, `${startedAt}\n`, { mode: 0o600 });
      renameSync(`${this.file}.tmp`, this.file);
    }
    return { startedAt, reset: kept === undefined };
  }
}

export interface PcpFrontOptions {
  readonly needs: GatewayNeeds;
  readonly lanInterfaces: readonly string[];
  readonly port: number;
  readonly controllers: readonly string[];
  readonly externalIpv4: () => string;
  readonly epochStartedAt: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number };
  /** Interface addresses (default `os.networkInterfaces`). */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** How often LAN address changes are looked for (default 5000 ms; 0: never). */
  readonly refreshMs?: number;
  /** Send ANNOUNCE on start (default true). */
  readonly announce?: boolean;
  /** Answer from here instead (tests: a decider over something else). */
  readonly decider?: PcpDecider;
}

/** The LAN addresses to listen on (IPv6 link-local with its zone). */
export function pcpLanAddresses(lanInterfaces: readonly string[], interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): LanAddress[] {
  const out: LanAddress[] = [];
  for (const name of lanInterfaces) {
    for (const info of interfaces[name] ?? []) {
      if (info.internal) continue;
      out.push(info.family === 'IPv6' && isLinkLocalIpv6(info.address) ? { address: info.address, zone: name } : { address: info.address });
    }
  }
  return out;
}

function logEvent(log: Logger, event: PcpListenerEvent): void {
  switch (event.kind) {
    case 'refused':
      // The engine's reason, in the log: PCP has no text field to carry it.
      log.info('pcp map refused', {
        via: event.via,
        sender: event.sender,
        internalClient: event.ask.internalClient,
        family: event.ask.family,
        protocol: event.ask.protocol,
        internalPort: event.ask.internalPort,
        result: event.via === 'pcp' ? event.answer.pcp : event.answer.natPmp,
        rule: event.answer.reason?.rule,
        code: event.answer.reason?.code,
        reason: describePcpReason(event.answer.reason),
      });
      break;
    case 'rejected':
      log.info('pcp request rejected', { via: event.via, sender: event.sender, result: event.result, why: event.why });
      break;
    case 'rate-limited':
      if (log.enabled('debug')) log.debug('pcp request over the rate limit', { sender: event.sender });
      break;
    default:
      if (log.enabled('debug')) log.debug(`pcp ${event.kind}`, { via: event.via, sender: event.sender, internalClient: event.ask.internalClient, internalPort: event.ask.internalPort, lifetime: event.lifetime, externalPort: event.externalPort });
  }
}

/** Starts the PCP / NAT-PMP front on the LAN addresses. */
export async function startPcpFront(options: PcpFrontOptions): Promise<PcpFront> {
  const log = options.log;
  const decider = options.decider ?? createPcpNeedsDecider({ needs: options.needs, externalIpv4: options.externalIpv4, now: options.now, epochStartedAt: options.epochStartedAt });
  const listener = new PcpListener({ decider, controllers: options.controllers, now: options.now, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}), onEvent: (e) => logEvent(log, e) });
  const interfaces = options.interfaces ?? networkInterfaces;
  const server = new UdpPcpServer({
    addresses: () => pcpLanAddresses(options.lanInterfaces, interfaces()),
    port: options.port,
    onDatagram: (data, from) => listener.handle(data, from),
    onError: (error, address) => log.warn('pcp socket problem', { address, error: error.message }),
  });
  const errors = await server.refresh();
  for (const error of errors) log.warn('pcp listen failed', { error: error.message });
  if (server.boundAddresses().length === 0) {
    await server.close();
    throw new Error(`no address on the LAN interfaces ${options.lanInterfaces.join(', ')} could take PCP on port ${options.port}${errors[0] ? ` (${errors[0].message})` : ''}`);
  }
  const refreshMs = options.refreshMs ?? 5000;
  const timer = refreshMs > 0 ? setInterval(() => void server.refresh().then((errs) => errs.forEach((e) => log.warn('pcp listen failed', { error: e.message }))), refreshMs) : undefined;
  timer?.unref();
  if (options.announce !== false) {
    const epoch = decider.epochSeconds() >>> 0;
    const announce = encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch, options: [] });
    const wan = decider.externalIpv4();
    // IPv4: the NAT-PMP public-address message carries the epoch too; PCP clients read ANNOUNCE. Both go to 224.0.0.1:5350.
    const sent = server.announce({ ipv4: announce, ipv6: announce });
    if (wan) server.announce({ ipv4: encodeNatPmpResponse({ opcode: 'public-address', resultCode: 0, epoch, externalAddress: wan }) });
    log.info('pcp announce sent', { epoch, sockets: sent });
  }
  log.info('pcp front listening', { addresses: server.boundAddresses(), port: options.port, controllers: options.controllers, epochStartedAt: options.epochStartedAt });
  return {
    addresses: () => server.boundAddresses(),
    listener,
    async stop() {
      if (timer) clearInterval(timer);
      await server.close();
      log.info('pcp front stopped', { ...listener.counters });
    },
  };
}
