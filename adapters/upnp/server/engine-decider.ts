/**
 * The engine-backed {@link GatewayDecider}: every AddPinhole / AddPortMapping /
 * AddAnyPortMapping becomes a need for the policy engine (`engine.request(need)`, decided in
 * the same tick) and the decision becomes the SOAP answer. It keeps what a router keeps: the
 * UniqueID table (same 5-tuple -> same UniqueID, as miniupnpd), the port-mapping table keyed
 * by (protocol, external port, remote host), and each client's lease. A lease that runs out
 * without renewal ends its need (`need-ended`), so the engine withdraws the grant; a grant
 * the engine withdraws later (device revealed as Matter, pre-emption) leaves the tables.
 *
 * Need shape: `{ id: '<prefix>:pinhole:<n>' | '<prefix>:mapping:<n>', requester: {
 * deviceId: deviceIdOf(address) ?? 'upnp:<address>', address }, internalClient, protocol,
 * internalPort, externalPort, remoteHost, remotePort, family: 'ipv6' | 'ipv4', leaseSeconds,
 * class: needClass ('game-session') }`.
 *
 * Decision -> answer:
 *
 * | decision                                                   | pinhole (6FC) | AddPortMapping | AddAnyPortMapping |
 * | ---------------------------------------------------------- | ------------- | -------------- | ----------------- |
 * | granted                                                    | 200 UniqueID  | 200            | 200 port          |
 * | granted-with-changes: lease only                           | 200 UniqueID  | 200            | 200 port          |
 * | granted-with-changes: externalPort                         | -             | 718 (need ended) | 200 new port    |
 * | granted-with-changes: family / internalClient              | 501 (ended)   | 501 (ended)    | 501 (ended)       |
 * | denied matter-isolation, requester-owns-target             | 606           | 606            | 606               |
 * | denied port-hygiene privileged-internal-port               | 606           | 606            | 606               |
 * | denied port-hygiene protocol / wildcard client / port      | 705 / 708 / 706 | 402          | 402               |
 * | denied port-hygiene invalid-port                           | 402           | 402            | 402               |
 * | ipv4-external-port-exclusive external-port-in-use / -held-by-router | -    | 718            | 718               |
 * | ipv4-external-port-exclusive external-ports-exhausted      | -             | 728            | 728               |
 * | queued or denied for capacity (capacity-full, 701/728 feedback) | 701      | 728            | 728               |
 * | router-feedback inbound-pinhole-not-allowed / firewall-disabled | 703 / 702 | -             | -                 |
 * | address-churn no-stable-address, lease-policy address-deprecated | 402     | 402            | 402               |
 * | ineffective (CGNAT, DS-Lite, double NAT, no WAN IPv4)       | -             | 501            | 501               |
 * | queued for another reason (no gateway yet), withdrawn, other | 501         | 501            | 501               |
 *
 * A need that is not granted is ended at once (the client retries; nothing stays queued
 * behind its back). Every refusal is logged (`logger.warn`) with the decision's reasons.
 * Table operations, as the captured miniupnpd 2.3.1 (nftables build) answers them: unknown
 * UniqueID 402; another client's pinhole or mapping 606; DeletePortMapping of a missing
 * mapping 200; GetSpecificPortMappingEntry miss 714; GetGenericPortMappingEntry past the end
 * 713; DeletePortMappingRange with nothing of the requester's in range 730; a lease-0 mapping
 * lasts `permanentLeaseSeconds` (604800).
 *
 * @example
 * ```ts
 * const engine = createPolicyEngine({ scheduler: asyncScheduler });
 * engine.submit({ type: 'gateway-seen', gatewayId: 'self', bootId: '1' });
 * const decider = createEngineDecider({ engine, scheduler: asyncScheduler, externalIpv4: () => '198.51.100.1',
 *   logger: { info: console.log, warn: console.warn } });
 * const server = createIgdHttpServer({ igd, decider, listen: [{ host: '::', port: 5000 }] });
 * ```
 */
import { SchedulerLike, Subscription } from 'rxjs';
import type { Decision, GrantView, NeedClass, NeedRequest, PolicyEngine, Reason } from '../../../policies';
import {
  Answer, ConnectionStatus, FirewallStatus, GatewayDecider, PinholeRequest, PortMappingEntry, PortMappingKey, PortMappingRequest,
  PortRangeRequest, Refusal, Requester, TransportProtocol, accept, refuse,
} from './gateway-decider';

/** Structured log sink. */
export interface DeciderLogger {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** Options of {@link createEngineDecider}. */
export interface EngineDeciderOptions {
  engine: PolicyEngine;
  /** Time source of the client leases: the engine's scheduler. */
  scheduler: SchedulerLike;
  /** Gateway the needs name (default: the engine's default gateway). */
  gatewayId?: string;
  /** The device id of an address (from the daemon's inventory); default `upnp:<address>`. */
  deviceIdOf?: (address: string) => string | undefined;
  /** Class of UPnP needs (default 'game-session'). */
  needClass?: NeedClass;
  /** Prefix of need ids (default 'upnp'). */
  needIdPrefix?: string;
  /** WAN IPv4 address for GetExternalIPAddress; undefined -> 501. */
  externalIpv4?: () => string | undefined;
  /** GetFirewallStatus; default enabled and inbound pinholes allowed. */
  firewallStatus?: () => FirewallStatus;
  /** GetStatusInfo; default Connected since the decider was created. */
  connectionStatus?: () => ConnectionStatus;
  /** Packet counter of a pinhole (GetPinholePackets, CheckPinholeWorking); default 0 (no counters). */
  pinholePackets?: (pinhole: PinholeView) => number;
  /** Lifetime of a lease-0 (permanent) mapping; default 604800 s as miniupnpd. */
  permanentLeaseSeconds?: number;
  logger?: DeciderLogger;
}

/** A pinhole the decider holds. */
export interface PinholeView extends PinholeRequest {
  readonly uniqueId: number;
  readonly needId: string;
  readonly requester: string;
  readonly expiresAt: number;
}

/** A port mapping the decider holds. */
export interface PortMappingView extends PortMappingRequest {
  readonly needId: string;
  readonly requester: string;
  readonly expiresAt: number;
}

export interface EngineDecider extends GatewayDecider {
  pinholes(): PinholeView[];
  portMappings(): PortMappingView[];
  /** Stops the lease timers and the decision subscription (needs are left to the engine). */
  dispose(): void;
}

interface PinholeRecord {
  uniqueId: number;
  needId: string;
  key: string;
  requester: string;
  request: PinholeRequest;
  expiresAt: number;
  timer?: Subscription;
}

interface MappingRecord {
  needId: string;
  key: string;
  requester: string;
  request: PortMappingRequest;
  expiresAt: number;
  timer?: Subscription;
}

/** Which request a decision answers (the same reason maps to different codes per service). */
export type DeciderOperation = 'pinhole' | 'add-mapping' | 'add-any-mapping';
type Op = DeciderOperation;

const pinholeKey = (r: PinholeRequest): string => `${r.protocol}|${r.internalClient}|${r.internalPort}|${r.remoteHost}|${r.remotePort}`;
const mappingKey = (k: { protocol: TransportProtocol; externalPort: number; remoteHost: string }): string => `${k.protocol}|${k.externalPort}|${k.remoteHost}`;

const capacityCode = (op: Op): number => (op === 'pinhole' ? 701 : 728);

/** The UPnP code for one reason, or undefined when the reason is informational. */
function codeOfReason(r: Reason, op: Op): number | undefined {
  const pinhole = op === 'pinhole';
  switch (r.rule) {
    case 'matter-isolation':
      return r.code === 'owner-allowed' ? undefined : 606;
    case 'requester-owns-target':
      return r.code === 'admin-override' ? undefined : 606;
    case 'port-hygiene':
      switch (r.code) {
        case 'protocol-not-allowed': return pinhole ? 705 : 402;
        case 'wildcard-internal-client': return pinhole ? 708 : 402;
        case 'wildcard-internal-port': return pinhole ? 706 : 402;
        case 'privileged-internal-port': return 606;
        default: return 402;
      }
    case 'ipv4-external-port-exclusive':
      if (r.code === 'external-port-in-use' || r.code === 'external-port-held-by-router') return 718;
      if (r.code === 'external-ports-exhausted') return 728;
      return undefined;
    case 'capacity':
      return r.code === 'capacity-full' || r.code === 'preempted' ? capacityCode(op) : undefined;
    case 'router-feedback':
      switch (r.code) {
        case 'inbound-pinhole-not-allowed': return 703;
        case 'firewall-disabled': return 702;
        case 'router-capacity-exhausted': return capacityCode(op);
        case 'router-not-authorized': return 606;
        case 'gateway-rebooted': return undefined;
        default: return r.faultCode ?? 501;
      }
    case 'address-churn':
      return r.code === 'no-stable-address' ? 402 : undefined;
    case 'lease-policy':
      return r.code === 'address-deprecated' ? 402 : undefined;
    case 'ipv6-mostly':
      return r.code === 'ipv6-only-host' ? undefined : 501;
    default:
      return undefined;
  }
}

/** The refusal for a decision that is not a usable grant. */
export function refusalFor(decision: Decision, op: Op): Refusal {
  for (const r of decision.reasons) {
    const code = codeOfReason(r, op);
    if (code !== undefined) return refuse(code, `${decision.verdict}: ${r.rule}/${r.code}${r.detail ? ` (${r.detail})` : ''}`, decision.reasons);
  }
  return refuse(501, `${decision.verdict}: ${decision.reasons.map((r) => `${r.rule}/${r.code}`).join(', ') || 'no reason'}`, decision.reasons);
}

/**
 * Creates the engine-backed decider (see the module comment for the decision table).
 *
 * @example
 * ```ts
 * const decider = createEngineDecider({ engine, scheduler: new VirtualTimeScheduler() });
 * await decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: '2001:db8::10', internalPort: 40000,
 *   protocol: 'udp', leaseSeconds: 600 }, { address: '2001:db8::10', family: 'ipv6', port: 50000 }); // { ok: true, value: { uniqueId: 1 } }
 * ```
 */
export function createEngineDecider(options: EngineDeciderOptions): EngineDecider {
  const { engine, scheduler } = options;
  const prefix = options.needIdPrefix ?? 'upnp';
  const needClass = options.needClass ?? 'game-session';
  const permanent = options.permanentLeaseSeconds ?? 604800;
  if (!(Number.isInteger(permanent) && permanent >= 1 && permanent <= 604800)) {
    throw new RangeError(`permanentLeaseSeconds must be an integer in 1..604800, got ${permanent}`);
  }
  const createdAt = scheduler.now();
  const log = options.logger;
  const pinholesByKey = new Map<string, PinholeRecord>();
  const pinholesById = new Map<number, PinholeRecord>();
  const mappings = new Map<string, MappingRecord>();
  const byNeed = new Map<string, PinholeRecord | MappingRecord>();
  let nextUid = 1;
  let seq = 0;

  const deviceIdOf = (address: string): string => options.deviceIdOf?.(address) ?? `upnp:${address}`;
  const remaining = (expiresAt: number): number => Math.max(0, Math.ceil((expiresAt - scheduler.now()) / 1000));

  const warn = (message: string, fields: Record<string, unknown>): void => {
    try {
      log?.warn(message, fields);
    } catch {
      /* a logger must not break a decision */
    }
  };
  const info = (message: string, fields: Record<string, unknown>): void => {
    try {
      log?.info(message, fields);
    } catch {
      /* idem */
    }
  };

  const endNeed = (needId: string, why: 'session-ended' | 'released'): void => {
    engine.submit({ type: 'need-ended', needId, why });
  };

  const forget = (rec: PinholeRecord | MappingRecord): void => {
    rec.timer?.unsubscribe();
    byNeed.delete(rec.needId);
    if ('uniqueId' in rec) {
      if (pinholesByKey.get(rec.key) === rec) pinholesByKey.delete(rec.key);
      if (pinholesById.get(rec.uniqueId) === rec) pinholesById.delete(rec.uniqueId);
    } else if (mappings.get(rec.key) === rec) {
      mappings.delete(rec.key);
    }
  };

  const arm = (rec: PinholeRecord | MappingRecord, leaseSeconds: number): void => {
    rec.timer?.unsubscribe();
    rec.expiresAt = scheduler.now() + leaseSeconds * 1000;
    rec.timer = scheduler.schedule(() => {
      if (byNeed.get(rec.needId) !== rec) return;
      forget(rec);
      info('client lease expired: need ended', { needId: rec.needId, requester: rec.requester });
      endNeed(rec.needId, 'session-ended');
    }, leaseSeconds * 1000);
  };

  // Grants the engine withdraws or moves later leave or update the tables.
  const subscription = engine.decisions$.subscribe((d) => {
    const rec = byNeed.get(d.needId);
    if (!rec) return;
    if (d.verdict === 'granted' || d.verdict === 'granted-with-changes') {
      if (!('uniqueId' in rec)) {
        const port = d.grants.find((g) => g.family === 'ipv4')?.externalPort;
        if (port !== undefined && port !== rec.request.externalPort) {
          if (mappings.get(rec.key) === rec) mappings.delete(rec.key);
          rec.request = { ...rec.request, externalPort: port };
          rec.key = mappingKey(rec.request);
          mappings.set(rec.key, rec);
        }
      }
      return;
    }
    forget(rec);
    warn('grant withdrawn by policy: entry removed', { needId: d.needId, verdict: d.verdict, reasons: d.reasons });
    if (d.verdict === 'queued') endNeed(d.needId, 'session-ended');
  });

  /** Submits the need; returns the grant or a refusal (the need is ended on refusal). */
  const decide = (need: NeedRequest, op: Op, requester: Requester): { grant: GrantView; decision: Decision } | Refusal => {
    const decision = engine.request(need);
    const family = need.family === 'ipv6' ? 'ipv6' : 'ipv4';
    let refusal: Refusal | undefined;
    if (decision.verdict !== 'granted' && decision.verdict !== 'granted-with-changes') {
      refusal = refusalFor(decision, op);
    } else {
      for (const c of decision.changes) {
        if (c.field === 'leaseSeconds') continue;
        if (c.field === 'externalPort' && op === 'add-any-mapping') continue;
        const viaPort = c.field === 'externalPort' ? refusalFor(decision, op) : undefined;
        refusal = viaPort && viaPort.code !== 501 ? viaPort
          : refuse(c.field === 'externalPort' ? 718 : 501, `granted with a change the client did not ask for: ${c.field} ${c.wanted} -> ${c.got}`, decision.reasons);
        break;
      }
    }
    const grant = decision.grants.find((g) => g.family === family);
    if (!refusal && !grant) refusal = refuse(501, `${decision.verdict} without a ${family} grant`, decision.reasons);
    if (refusal) {
      endNeed(need.id, 'released');
      warn('request refused', {
        needId: need.id, requester: requester.address, deviceId: decision.deviceId, verdict: decision.verdict, code: refusal.code, reasons: decision.reasons,
      });
      return refusal;
    }
    info('request granted', { needId: need.id, requester: requester.address, verdict: decision.verdict, grants: decision.grants });
    return { grant: grant as GrantView, decision };
  };

  const allocateUid = (): number | undefined => {
    for (let i = 0; i < 65535; i++) {
      const uid = ((nextUid - 1 + i) % 65535) + 1;
      if (!pinholesById.has(uid)) {
        nextUid = (uid % 65535) + 1;
        return uid;
      }
    }
    return undefined;
  };

  const needBase = (requester: Requester) => ({
    requester: { deviceId: deviceIdOf(requester.address), address: requester.address },
    class: needClass,
    ...(options.gatewayId !== undefined ? { gatewayId: options.gatewayId } : {}),
  });

  const pinholeOf = (uniqueId: number, requester: Requester, checkOwner: boolean): PinholeRecord | Refusal => {
    const rec = pinholesById.get(uniqueId);
    if (!rec) return refuse(402, `no pinhole with UniqueID ${uniqueId}`);
    if (checkOwner && rec.requester !== requester.address) return refuse(606, `pinhole ${uniqueId} belongs to ${rec.requester}, not ${requester.address}`);
    return rec;
  };

  const entryOf = (rec: MappingRecord): PortMappingEntry => ({
    remoteHost: rec.request.remoteHost,
    externalPort: rec.request.externalPort,
    protocol: rec.request.protocol,
    internalPort: rec.request.internalPort,
    internalClient: rec.request.internalClient,
    enabled: rec.request.enabled,
    description: rec.request.description,
    leaseSeconds: remaining(rec.expiresAt),
  });

  const addMapping = (req: PortMappingRequest, requester: Requester, op: 'add-mapping' | 'add-any-mapping'): Answer<{ reservedPort: number }> => {
    const lease = req.leaseSeconds === 0 ? permanent : Math.min(req.leaseSeconds, 604800);
    if (req.externalPort !== 0) {
      const existing = mappings.get(mappingKey(req));
      if (existing) {
        const same = existing.requester === requester.address && existing.request.internalPort === req.internalPort &&
          existing.request.internalClient === req.internalClient;
        if (same) {
          const d = engine.request({ ...existingNeed(existing), leaseSeconds: lease });
          if (d.verdict === 'granted' || d.verdict === 'granted-with-changes') {
            existing.request = { ...existing.request, enabled: req.enabled, description: req.description, leaseSeconds: req.leaseSeconds };
            arm(existing, lease);
            return accept({ reservedPort: existing.request.externalPort });
          }
          forget(existing);
          endNeed(existing.needId, 'released');
          const r = refusalFor(d, op);
          warn('renewal refused', { needId: existing.needId, requester: requester.address, code: r.code, reasons: d.reasons });
          return r;
        }
        if (op === 'add-mapping') {
          return refuse(718, `external port ${req.protocol}/${req.externalPort} is mapped to ${existing.request.internalClient}:${existing.request.internalPort}`);
        }
        // AddAnyPortMapping: let the engine pick another port.
      }
    }
    const needId = `${prefix}:mapping:${++seq}`;
    const need: NeedRequest = {
      id: needId,
      ...needBase(requester),
      internalClient: req.internalClient,
      protocol: req.protocol,
      internalPort: req.internalPort,
      ...(req.externalPort !== 0 ? { externalPort: req.externalPort } : {}),
      ...(req.remoteHost !== '' ? { remoteHost: req.remoteHost } : {}),
      family: 'ipv4',
      leaseSeconds: lease,
    };
    const out = decide(need, op, requester);
    if ('ok' in out) return out;
    const port = out.grant.externalPort ?? req.externalPort;
    const rec: MappingRecord = {
      needId, requester: requester.address, request: { ...req, externalPort: port }, key: '', expiresAt: 0,
    };
    rec.key = mappingKey(rec.request);
    const clash = mappings.get(rec.key);
    if (clash) forget(clash); // the engine moved the other need away (it outranked nobody): keep tables consistent
    mappings.set(rec.key, rec);
    byNeed.set(needId, rec);
    arm(rec, lease);
    return accept({ reservedPort: port });
  };

  const existingNeed = (rec: MappingRecord | PinholeRecord): NeedRequest => {
    const r = rec.request;
    const isPinhole = 'uniqueId' in rec;
    return {
      id: rec.needId,
      requester: { deviceId: deviceIdOf(rec.requester), address: rec.requester },
      class: needClass,
      ...(options.gatewayId !== undefined ? { gatewayId: options.gatewayId } : {}),
      internalClient: r.internalClient,
      protocol: r.protocol,
      internalPort: r.internalPort,
      ...(!isPinhole ? { externalPort: (r as PortMappingRequest).externalPort } : {}),
      ...(r.remoteHost !== '' ? { remoteHost: r.remoteHost } : {}),
      ...(isPinhole ? { remotePort: (r as PinholeRequest).remotePort } : {}),
      family: isPinhole ? 'ipv6' : 'ipv4',
    };
  };

  const decider: EngineDecider = {
    firewallStatus: () => accept(options.firewallStatus?.() ?? { firewallEnabled: true, inboundPinholeAllowed: true }),

    addPinhole(req, requester) {
      const key = pinholeKey(req);
      const existing = pinholesByKey.get(key);
      if (existing) {
        if (existing.requester !== requester.address) return refuse(606, `pinhole ${existing.uniqueId} belongs to ${existing.requester}`);
        const d = engine.request(existingNeed(existing));
        if (d.verdict === 'granted' || d.verdict === 'granted-with-changes') {
          existing.request = req;
          arm(existing, req.leaseSeconds);
          return accept({ uniqueId: existing.uniqueId });
        }
        forget(existing);
        endNeed(existing.needId, 'released');
        const r = refusalFor(d, 'pinhole');
        warn('renewal refused', { needId: existing.needId, requester: requester.address, code: r.code, reasons: d.reasons });
        return r;
      }
      if (pinholesById.size >= 65535) return refuse(701, 'every UniqueID is in use');
      const needId = `${prefix}:pinhole:${++seq}`;
      const out = decide({
        id: needId,
        ...needBase(requester),
        internalClient: req.internalClient,
        protocol: req.protocol,
        internalPort: req.internalPort,
        ...(req.remoteHost !== '' ? { remoteHost: req.remoteHost } : {}),
        remotePort: req.remotePort,
        family: 'ipv6',
        leaseSeconds: req.leaseSeconds,
      }, 'pinhole', requester);
      if ('ok' in out) return out;
      // Like miniupnpd, a UniqueID is used up only by a pinhole that exists.
      const uniqueId = allocateUid() as number;
      const rec: PinholeRecord = { uniqueId, needId, key, requester: requester.address, request: req, expiresAt: 0 };
      pinholesByKey.set(key, rec);
      pinholesById.set(uniqueId, rec);
      byNeed.set(needId, rec);
      arm(rec, req.leaseSeconds);
      return accept({ uniqueId });
    },

    updatePinhole({ uniqueId, leaseSeconds }, requester) {
      const rec = pinholeOf(uniqueId, requester, true);
      if ('ok' in rec) return rec;
      const d = engine.request(existingNeed(rec));
      if (d.verdict !== 'granted' && d.verdict !== 'granted-with-changes') {
        forget(rec);
        endNeed(rec.needId, 'released');
        const r = refusalFor(d, 'pinhole');
        warn('update refused', { needId: rec.needId, requester: requester.address, code: r.code, reasons: d.reasons });
        return r;
      }
      rec.request = { ...rec.request, leaseSeconds };
      arm(rec, leaseSeconds);
      return accept(undefined);
    },

    deletePinhole({ uniqueId }, requester) {
      const rec = pinholeOf(uniqueId, requester, true);
      if ('ok' in rec) return rec;
      forget(rec);
      endNeed(rec.needId, 'released');
      info('pinhole deleted', { needId: rec.needId, uniqueId, requester: requester.address });
      return accept(undefined);
    },

    pinholePackets({ uniqueId }, requester) {
      const rec = pinholeOf(uniqueId, requester, false);
      if ('ok' in rec) return rec;
      return accept({ packets: options.pinholePackets?.(viewOfPinhole(rec)) ?? 0 });
    },

    externalIpv4() {
      const a = options.externalIpv4?.();
      return a === undefined || a === '' ? refuse(501, 'no external IPv4 address') : accept({ address: a });
    },

    connectionStatus() {
      return accept(options.connectionStatus?.() ?? {
        status: 'Connected', lastError: 'ERROR_NONE', uptimeSeconds: Math.floor((scheduler.now() - createdAt) / 1000),
      });
    },

    addPortMapping(req, requester) {
      const a = addMapping(req, requester, 'add-mapping');
      return a.ok ? accept(undefined) : a;
    },

    addAnyPortMapping(req, requester) {
      return addMapping(req, requester, 'add-any-mapping');
    },

    deletePortMapping(key: PortMappingKey, requester) {
      const rec = mappings.get(mappingKey(key));
      if (!rec) return accept(undefined); // miniupnpd 2.3.1 answers 200 for a missing mapping
      if (rec.requester !== requester.address) return refuse(606, `mapping ${key.protocol}/${key.externalPort} belongs to ${rec.requester}`);
      forget(rec);
      endNeed(rec.needId, 'released');
      info('port mapping deleted', { needId: rec.needId, requester: requester.address });
      return accept(undefined);
    },

    deletePortMappingRange(range: PortRangeRequest, requester) {
      const victims = [...mappings.values()].filter((m) => m.request.protocol === range.protocol && m.request.externalPort >= range.startPort &&
        m.request.externalPort <= range.endPort && m.requester === requester.address);
      if (victims.length === 0) return refuse(730, `no mapping of ${requester.address} in ${range.protocol} ${range.startPort}..${range.endPort}`);
      for (const rec of victims) {
        forget(rec);
        endNeed(rec.needId, 'released');
      }
      info('port mappings deleted', { needIds: victims.map((v) => v.needId), requester: requester.address });
      return accept(undefined);
    },

    getPortMapping(key: PortMappingKey) {
      const rec = mappings.get(mappingKey(key));
      return rec ? accept(entryOf(rec)) : refuse(714, `no mapping ${key.protocol}/${key.externalPort}`);
    },

    getPortMappingAt(index: number) {
      let i = 0;
      for (const rec of mappings.values()) if (i++ === index) return accept(entryOf(rec));
      return refuse(713, `no mapping at index ${index}`);
    },

    listPortMappings(range) {
      const out: PortMappingEntry[] = [];
      for (const rec of mappings.values()) {
        const r = rec.request;
        if (r.protocol !== range.protocol || r.externalPort < range.startPort || r.externalPort > range.endPort) continue;
        out.push(entryOf(rec));
        if (out.length >= range.maxEntries) break;
      }
      return accept(out);
    },

    pinholes: () => [...pinholesById.values()].map(viewOfPinhole),
    portMappings: () => [...mappings.values()].map((m) => ({ ...m.request, needId: m.needId, requester: m.requester, expiresAt: m.expiresAt })),

    dispose() {
      subscription.unsubscribe();
      for (const rec of byNeed.values()) rec.timer?.unsubscribe();
    },
  };

  function viewOfPinhole(rec: PinholeRecord): PinholeView {
    return { ...rec.request, uniqueId: rec.uniqueId, needId: rec.needId, requester: rec.requester, expiresAt: rec.expiresAt };
  }

  return decider;
}
