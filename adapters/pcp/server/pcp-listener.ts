/**
 * The PCP (RFC 6887) and NAT-PMP (RFC 6886) listener of the gateway, without
 * sockets: bytes from a LAN host in, bytes to answer out (or nothing: a
 * message that must be dropped, or a source over its rate limit). It checks
 * who asks and what is asked, turns a MAP or a NAT-PMP mapping request into a
 * {@link PcpMapAsk} for the gateway's one decision path ({@link PcpDecider}),
 * and answers from the answer table (`pcp-answer-table.ts`). It decides no
 * policy: every refusal of a well-formed ask is the engine's.
 *
 * Protocol checks, as RFC 6887 and miniupnpd do them:
 * - shorter than 2 bytes, or a response (R bit): dropped; version 1 or above 2:
 *   UNSUPP_VERSION; version 0: NAT-PMP.
 * - a request that does not parse: MALFORMED_REQUEST (an unknown opcode:
 *   UNSUPP_OPCODE; a bad option: MALFORMED_OPTION), the request copied back.
 * - PEER: UNSUPP_OPCODE (this gateway maps; it does not create PEER state).
 * - the client address field must be the packet's source: else ADDRESS_MISMATCH.
 * - THIRD_PARTY: with no controller configured, UNSUPP_OPTION (the option is
 *   switched off, as miniupnpd's `pcp_allow_thirdparty=no`); from a host
 *   that is not a configured controller, NOT_AUTHORIZED (RFC 6887 13.1: the
 *   server supports the option but this client may not use it).
 * - FILTER and unknown mandatory options (code < 128): UNSUPP_OPTION; unknown
 *   optional ones are ignored.
 * - protocol other than UDP or TCP: UNSUPP_PROTOCOL.
 * - the nonce is bound to the mapping: a renewal or delete with another nonce
 *   is NOT_AUTHORIZED (RFC 6887 11.3). Delete of a mapping that does not exist
 *   is SUCCESS (RFC 6887 15).
 * - the answer carries the lifetime the engine granted and, for IPv4, the
 *   external port it assigned; every answer carries the epoch.
 *
 * Deliberate differences from miniupnpd 2.3.1 (captures in
 * `test/fixtures/miniupnpd-2.3.1/pcp`, replayed by
 * `test/unit/pcp-server/pcp-compatibility.test.ts`; result codes all match):
 *
 * | case                          | miniupnpd 2.3.1                 | this gateway, and why |
 * | ----------------------------- | ------------------------------- | --------------------- |
 * | error lifetime                | 0                               | 30 s (short-lived codes) / 1800 s (others), as RFC 6887 7.4 asks |
 * | MALFORMED_REQUEST header      | version byte 0                  | version 2 (a PCP answer; RFC 6887 8.3) |
 * | lifetime below 120 s          | raised to its min_lifetime 120  | the engine's lease rule decides (granted as asked up to the class cap) |
 * | lifetime above the cap        | its max_lifetime                | the engine's class cap (lease-policy), the granted value answered |
 * | PEER                          | served (`--pcp-peer`)           | UNSUPP_OPCODE: the gateway keeps no PEER state |
 * | FILTER                        | served                          | UNSUPP_OPTION (not implemented yet) |
 * | THIRD_PARTY, option switched on | accepted from any LAN host    | only from `pcp.controllers`, else NOT_AUTHORIZED |
 * | who may map                   | any LAN host                    | the engine's rules (Matter devices NOT_AUTHORIZED, per-client limit USER_EX_QUOTA, ...) |
 * | requests per host             | unlimited                       | per-source token bucket (`pcp.requestsPerSecond` / `pcp.burst`), over it dropped |
 * | nonce after a restart         | kept in its lease file          | not kept: the first request after a restart binds the mapping's nonce again |
 *
 * @example
 * ```ts
 * const listener = new PcpListener({ decider, controllers: ['2001:db8:77::5'], now: Date.now });
 * const answer = await listener.handle(bytes, '2001:db8:77::10');
 * if (answer) socket.send(answer, port, '2001:db8:77::10');
 * ```
 */
import { canonicalAddress, familyOf, sameAddress } from '../../../policies/model/address';
import { decodeNatPmpRequest, encodeNatPmpResponse, NATPMP_OPCODES, NatPmpRequest } from '../natpmp-codec';
import { decodePcpRequest, encodePcpResponse } from '../pcp-codec';
import { PcpParseError } from '../pcp-errors';
import { PCP_HEADER_BYTES, PCP_MAX_MESSAGE_BYTES, PCP_VERSION, PcpMapData, PcpRequest, PcpResponse } from '../pcp-message';
import { errorLifetimeOf, NATPMP_RESULT, PCP_RESULT, pcpAnswerOf, PcpAnswer } from './pcp-answer-table';
import { PcpDecider, PcpMapAsk } from './pcp-decider';
import { SourceRateLimit } from './source-rate-limit';

/** What the listener tells its owner (the log, the counters). */
export type PcpListenerEvent =
  | { readonly kind: 'refused'; readonly via: 'pcp' | 'natpmp'; readonly sender: string; readonly ask: PcpMapAsk; readonly answer: PcpAnswer }
  | { readonly kind: 'rejected'; readonly via: 'pcp' | 'natpmp'; readonly sender: string; readonly result: number; readonly why: string }
  | { readonly kind: 'mapped' | 'unmapped'; readonly via: 'pcp' | 'natpmp'; readonly sender: string; readonly ask: PcpMapAsk; readonly lifetime: number; readonly externalPort: number }
  | { readonly kind: 'rate-limited'; readonly sender: string };

export interface PcpListenerOptions {
  readonly decider: PcpDecider;
  /** Hosts allowed to ask for another host (THIRD_PARTY); empty: the option is off. */
  readonly controllers: readonly string[];
  /** Milliseconds (rate limit). */
  readonly now: () => number;
  /** Per-source rate limit (default burst 50, 20 per second). */
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number };
  readonly onEvent?: (event: PcpListenerEvent) => void;
}

/** Counters for logs and benches. */
export interface PcpListenerCounters {
  received: number;
  answered: number;
  dropped: number;
  rateLimited: number;
}

const PROTOCOLS: Readonly<Record<number, 'udp' | 'tcp'>> = { 17: 'udp', 6: 'tcp' };

function mappingKey(family: string, protocol: string, internalClient: string, internalPort: number): string {
  return `${family}:${protocol}:${internalClient}:${internalPort}`;
}

export class PcpListener {
  /** The nonce bound to each mapping made through this listener (PCP) — key: family, protocol, client, port. */
  private readonly nonces = new Map<string, { readonly nonce: string; readonly until: number }>();
  /** NAT-PMP mappings per client, for "delete all" (internal port 0, lifetime 0). */
  private readonly natPmpMappings = new Map<string, Set<string>>();
  private readonly limit: SourceRateLimit;
  private readonly controllers: readonly string[];
  readonly counters: PcpListenerCounters = { received: 0, answered: 0, dropped: 0, rateLimited: 0 };

  constructor(private readonly options: PcpListenerOptions) {
    this.limit = new SourceRateLimit({ burst: options.rateLimit?.burst ?? 50, perSecond: options.rateLimit?.perSecond ?? 20, now: options.now });
    this.controllers = options.controllers.map((c) => {
      const canonical = canonicalAddress(c);
      if (canonical === undefined) throw new Error(`pcp controller '${c}' is not an IP address`);
      return canonical;
    });
  }

  /** The answer to a datagram from `source` (an address), or undefined when it is dropped. */
  async handle(data: Uint8Array, source: string): Promise<Buffer | undefined> {
    this.counters.received++;
    const sender = canonicalAddress(source);
    if (sender === undefined || data.length < 2 || data.length > PCP_MAX_MESSAGE_BYTES) return this.drop();
    if (!this.limit.take(sender)) {
      this.counters.rateLimited++;
      this.options.onEvent?.({ kind: 'rate-limited', sender });
      return undefined;
    }
    const buf = Buffer.from(data);
    const version = buf[0];
    let answer: Buffer | undefined;
    if (version === 0) answer = await this.natPmp(buf, sender);
    else if (buf[1] & 0x80) answer = undefined;
    else if (version !== PCP_VERSION) answer = this.pcpError(buf, sender, PCP_RESULT.UNSUPP_VERSION, `version ${version}`);
    else answer = await this.pcp(buf, sender);
    if (answer === undefined) return this.drop();
    this.counters.answered++;
    return answer;
  }

  /** Binds `nonce` to the mapping for its lifetime; expired bindings are pruned as the table grows. */
  private bindNonce(key: string, nonce: string, lifetime: number): void {
    const now = this.options.now();
    this.nonces.delete(key);
    this.nonces.set(key, { nonce, until: now + lifetime * 1000 });
    if (this.nonces.size > 1024 && this.nonces.size % 256 === 0) {
      for (const [k, v] of this.nonces) if (v.until <= now) this.nonces.delete(k);
    }
  }

  private drop(): undefined {
    this.counters.dropped++;
    return undefined;
  }

  /** An error answer built from the request's own bytes (RFC 6887 8.3: the request copied, R set, result, lifetime, epoch). */
  private pcpError(buf: Buffer, sender: string, result: number, why: string): Buffer {
    this.options.onEvent?.({ kind: 'rejected', via: 'pcp', sender, result, why });
    const length = Math.min(PCP_MAX_MESSAGE_BYTES, Math.max(PCP_HEADER_BYTES, buf.length + ((4 - (buf.length % 4)) % 4)));
    const out = Buffer.alloc(length);
    buf.copy(out, 0, 0, Math.min(buf.length, length));
    out.writeUInt8(PCP_VERSION, 0);
    out.writeUInt8(0x80 | (buf[1] & 0x7f), 1);
    out.writeUInt8(0, 2);
    out.writeUInt8(result, 3);
    out.writeUInt32BE(errorLifetimeOf(result), 4);
    out.writeUInt32BE(this.options.decider.epochSeconds() >>> 0, 8);
    out.fill(0, 12, 24);
    return out;
  }

  private async pcp(buf: Buffer, sender: string): Promise<Buffer> {
    let request: PcpRequest;
    try {
      request = decodePcpRequest(buf);
    } catch (error) {
      const field = error instanceof PcpParseError ? error.field : '';
      const result = field === 'opcode' ? PCP_RESULT.UNSUPP_OPCODE : field.startsWith('option') || field.startsWith('filter') ? PCP_RESULT.MALFORMED_OPTION : PCP_RESULT.MALFORMED_REQUEST;
      return this.pcpError(buf, sender, result, (error as Error).message);
    }
    const epoch = this.options.decider.epochSeconds() >>> 0;
    if (request.opcode === 'announce') {
      // Any request tells the client our epoch; ANNOUNCE asks for nothing else (RFC 6887 14.1).
      return encodePcpResponse({ opcode: 'announce', resultCode: PCP_RESULT.SUCCESS, lifetime: 0, epoch, options: [] });
    }
    if (request.opcode === 'peer') return this.pcpError(buf, sender, PCP_RESULT.UNSUPP_OPCODE, 'PEER is not served');
    const m = request.mapping;
    const fail = (result: number, why: string, lifetime = errorLifetimeOf(result)): Buffer => {
      this.options.onEvent?.({ kind: 'rejected', via: 'pcp', sender, result, why });
      return encodePcpResponse({ opcode: 'map', resultCode: result, lifetime, epoch, options: [], mapping: m });
    };
    if (!sameAddress(request.clientAddress, sender)) return fail(PCP_RESULT.ADDRESS_MISMATCH, `client address ${request.clientAddress} is not the source ${sender}`);
    let internalClient = sender;
    let thirdParty = false;
    let preferFailure = false;
    for (const option of request.options) {
      if (option.type === 'prefer-failure') preferFailure = true;
      else if (option.type === 'third-party') {
        if (this.controllers.length === 0) return fail(PCP_RESULT.UNSUPP_OPTION, 'THIRD_PARTY is off (no pcp.controllers configured)');
        if (!this.controllers.some((c) => sameAddress(c, sender))) return fail(PCP_RESULT.NOT_AUTHORIZED, `${sender} is not a configured controller (THIRD_PARTY)`);
        const target = canonicalAddress(option.address);
        if (target === undefined || familyOf(target) !== familyOf(sender)) return fail(PCP_RESULT.MALFORMED_OPTION, `THIRD_PARTY address ${option.address} is not of the sender's family`);
        internalClient = target;
        thirdParty = true;
      } else if (option.type === 'filter') return fail(PCP_RESULT.UNSUPP_OPTION, 'FILTER is not served');
      else if (option.code < 128) return fail(PCP_RESULT.UNSUPP_OPTION, `mandatory option ${option.code} is not served`);
    }
    const protocol = PROTOCOLS[m.protocol];
    if (protocol === undefined) return fail(PCP_RESULT.UNSUPP_PROTOCOL, `protocol ${m.protocol} (only UDP and TCP are mapped)`);
    const family = familyOf(internalClient);
    const ask: PcpMapAsk = {
      family,
      protocol,
      internalClient,
      internalPort: m.internalPort,
      suggestedExternalPort: family === 'ipv4' ? m.externalPort : 0,
      lifetime: request.lifetime,
      sender,
      thirdParty,
      preferFailure,
      via: 'pcp',
    };
    const key = mappingKey(family, protocol, internalClient, m.internalPort);
    const nonce = m.nonce.toString('hex');
    const bound = this.nonces.get(key);
    // A binding ends with the mapping's lifetime: an expired mapping's port is free for any nonce.
    if (bound !== undefined && bound.until > this.options.now() && bound.nonce !== nonce) return fail(PCP_RESULT.NOT_AUTHORIZED, 'the mapping belongs to another nonce (RFC 6887 11.3)', 0);
    const externalAddress = family === 'ipv4' ? this.options.decider.externalIpv4() || '0.0.0.0' : internalClient;
    if (request.lifetime === 0) {
      await this.options.decider.unmap(ask);
      this.nonces.delete(key);
      this.options.onEvent?.({ kind: 'unmapped', via: 'pcp', sender, ask, lifetime: 0, externalPort: 0 });
      return encodePcpResponse({ opcode: 'map', resultCode: PCP_RESULT.SUCCESS, lifetime: 0, epoch, options: [], mapping: { ...m, externalPort: family === 'ipv4' ? m.externalPort : 0, externalAddress } });
    }
    const result = await this.options.decider.map(ask);
    if (!result.ok) {
      if ('invalid' in result) return fail(PCP_RESULT.MALFORMED_REQUEST, result.invalid);
      const answer = pcpAnswerOf(result.decision);
      this.options.onEvent?.({ kind: 'refused', via: 'pcp', sender, ask, answer });
      return encodePcpResponse({ opcode: 'map', resultCode: answer.pcp, lifetime: answer.errorLifetime, epoch, options: [], mapping: m });
    }
    this.bindNonce(key, nonce, result.lifetime);
    this.options.onEvent?.({ kind: 'mapped', via: 'pcp', sender, ask, lifetime: result.lifetime, externalPort: result.externalPort });
    const options: PcpResponse['options'] = [
      ...(thirdParty ? [{ type: 'third-party' as const, address: internalClient }] : []),
      ...(preferFailure ? [{ type: 'prefer-failure' as const }] : []),
    ];
    const mapping: PcpMapData = { ...m, externalPort: family === 'ipv4' ? result.externalPort : m.internalPort, externalAddress };
    return encodePcpResponse({ opcode: 'map', resultCode: PCP_RESULT.SUCCESS, lifetime: result.lifetime, epoch, options, mapping });
  }

  private async natPmp(buf: Buffer, sender: string): Promise<Buffer | undefined> {
    const epoch = this.options.decider.epochSeconds() >>> 0;
    const opcodeCode = buf[1];
    if (opcodeCode & 0x80) return undefined;
    const opcode = (Object.keys(NATPMP_OPCODES) as (keyof typeof NATPMP_OPCODES)[]).find((k) => NATPMP_OPCODES[k] === opcodeCode);
    const headerOnly = (result: number, why: string): Buffer => {
      this.options.onEvent?.({ kind: 'rejected', via: 'natpmp', sender, result, why });
      const out = Buffer.alloc(8);
      out.writeUInt8(0x80 | opcodeCode, 1);
      out.writeUInt16BE(result, 2);
      out.writeUInt32BE(epoch, 4);
      return out;
    };
    if (opcode === undefined) return headerOnly(NATPMP_RESULT.UNSUPP_OPCODE, `NAT-PMP opcode ${opcodeCode}`);
    let request: NatPmpRequest;
    try {
      request = decodeNatPmpRequest(buf);
    } catch {
      // NAT-PMP has no "malformed" result: a request of the wrong size is dropped (as miniupnpd does).
      return undefined;
    }
    if (familyOf(sender) !== 'ipv4') return headerOnly(NATPMP_RESULT.NOT_AUTHORIZED, 'NAT-PMP is IPv4 only');
    if (request.opcode === 'public-address') {
      const wan = this.options.decider.externalIpv4();
      if (!wan) return headerOnly(NATPMP_RESULT.NETWORK_FAILURE, 'no WAN IPv4 address');
      return encodeNatPmpResponse({ opcode: 'public-address', resultCode: NATPMP_RESULT.SUCCESS, epoch, externalAddress: wan });
    }
    const protocol = request.opcode === 'map-udp' ? 'udp' : 'tcp';
    const answer = (resultCode: number, internalPort: number, externalPort: number, lifetime: number) =>
      encodeNatPmpResponse({ opcode: request.opcode, resultCode, epoch, internalPort, externalPort, lifetime });
    const ask: PcpMapAsk = {
      family: 'ipv4',
      protocol,
      internalClient: sender,
      internalPort: request.internalPort,
      suggestedExternalPort: request.suggestedExternalPort,
      lifetime: request.lifetime,
      sender,
      thirdParty: false,
      preferFailure: false,
      via: 'natpmp',
    };
    const mine = this.natPmpMappings.get(sender) ?? new Set<string>();
    if (request.lifetime === 0) {
      // Internal port 0 with lifetime 0: delete every mapping of this client for the protocol (RFC 6886 3.4).
      const ports = request.internalPort === 0 ? [...mine].filter((k) => k.startsWith(`${protocol}:`)).map((k) => Number(k.split(':')[1])) : [request.internalPort];
      for (const port of ports) {
        await this.options.decider.unmap({ ...ask, internalPort: port });
        mine.delete(`${protocol}:${port}`);
        this.options.onEvent?.({ kind: 'unmapped', via: 'natpmp', sender, ask: { ...ask, internalPort: port }, lifetime: 0, externalPort: 0 });
      }
      return answer(NATPMP_RESULT.SUCCESS, request.internalPort, 0, 0);
    }
    if (request.internalPort === 0) return headerOnly(NATPMP_RESULT.NOT_AUTHORIZED, 'internal port 0 only deletes');
    const result = await this.options.decider.map(ask);
    if (!result.ok) {
      if ('invalid' in result) return headerOnly(NATPMP_RESULT.NOT_AUTHORIZED, result.invalid);
      const refused = pcpAnswerOf(result.decision);
      this.options.onEvent?.({ kind: 'refused', via: 'natpmp', sender, ask, answer: refused });
      return answer(refused.natPmp, request.internalPort, 0, 0);
    }
    mine.add(`${protocol}:${request.internalPort}`);
    this.natPmpMappings.set(sender, mine);
    this.options.onEvent?.({ kind: 'mapped', via: 'natpmp', sender, ask, lifetime: result.lifetime, externalPort: result.externalPort });
    return answer(NATPMP_RESULT.SUCCESS, request.internalPort, result.externalPort, result.lifetime);
  }
}
