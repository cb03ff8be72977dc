/**
 * The IGD front's decider in gateway mode — the one path a SOAP request takes:
 * the listener (`adapters/upnp/server`) has parsed and validated it and knows
 * who asks; here it becomes one need for {@link GatewayNeeds} (journal first,
 * then the engine, then the firewall), and the engine's decision becomes the
 * answer through the one UPnP table (`upnp-answer-table.ts`): errorCode and an
 * errorDescription naming the reason code and the engine's detail. Nothing
 * here decides policy: someone else's pinhole or mapping is the
 * requester-owns-target rule's refusal (606, through the same table); what it
 * answers itself is table bookkeeping, with the codes miniupnpd 2.3.1 answers
 * (`test/fixtures/miniupnpd-2.3.1/soap/INDEX.txt`): an unknown pinhole
 * UniqueID 402, a missing mapping 714 (GetSpecific), an index past the end
 * 713, nothing of the requester's in a range 730, a malformed need 402.
 *
 * @example
 * ```ts
 * const decider = createNeedsDecider({ needs, externalIpv4: () => '198.51.100.1', startedAt: Date.now() });
 * await decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: '2001:db8:77::10', internalPort: 3074,
 *   protocol: 'udp', leaseSeconds: 3600 }, { address: '2001:db8:77::10', family: 'ipv6', port: 50000 });
 * // { ok: true, value: { uniqueId: 1 } }
 * ```
 */
import {
  accept, Answer, ControlRefusal, GatewayDecider, PortMappingKey, refuse, Requester, ServedPortMapping,
} from '../../adapters/upnp/server/gateway-decider';
import { DecidedOperation, upnpAnswerOf, upnpAnswerOfReason } from '../../adapters/upnp/server/upnp-answer-table';
import { checkRequesterOwnsEntry } from '../../policies/rules/requester-owns-target';
import { GatewayNeeds, LiveNeed, OpenInvalid, OpenRefused } from './gateway-needs';

export interface NeedsDeciderOptions {
  readonly needs: GatewayNeeds;
  /** The WAN IPv4 address GetExternalIPAddress reports ('' when there is none). */
  readonly externalIpv4: () => string;
  /** Wall clock ms (uptime, lease left). */
  readonly now?: () => number;
  readonly startedAt: number;
  /** Whether pinholes are possible (false: 702 FirewallDisabled... as GetFirewallStatus reports). */
  readonly firewallEnabled?: boolean;
}

/** The answer to a refused open: the engine's decision through the UPnP table; a malformed need is 402. */
function refusalOf(outcome: OpenRefused | OpenInvalid, operation: DecidedOperation): ControlRefusal {
  if ('invalid' in outcome) return refuse(402, outcome.invalid);
  const answer = upnpAnswerOf(outcome.decision, operation);
  const why = answer.reason ? `${answer.reason.rule}/${answer.reason.code}${answer.reason.detail ? ` (${answer.reason.detail})` : ''}` : 'no reason';
  return refuse(answer.code, `${outcome.decision.verdict}: ${why}`, outcome.decision.reasons, answer.description);
}

/**
 * Whether `requester` may change `need`'s entry: the requester-owns-target rule's refusal (through the
 * table), or undefined. An entry the admin opened belongs to no UPnP client.
 */
function notOwned(need: LiveNeed, label: string, requester: Requester, operation: DecidedOperation): ControlRefusal | undefined {
  const entry = need.source !== 'upnp'
    ? { label: `${label} (opened by the admin)`, needId: need.id }
    : {
        label,
        needId: need.id,
        ...(need.request.requester.address !== undefined ? { requesterAddress: need.request.requester.address } : {}),
        ...(need.request.internalClient !== undefined ? { internalClient: need.request.internalClient } : {}),
      };
  const denial = checkRequesterOwnsEntry(entry, requester.address);
  if (!denial) return undefined;
  const answer = upnpAnswerOfReason(denial, operation);
  return refuse(answer.code, `${denial.rule}/${denial.code} (${denial.detail ?? ''})`, [denial], answer.description);
}

function ownedBy(need: LiveNeed, requester: Requester): boolean {
  return notOwned(need, '', requester, 'pinhole') === undefined;
}

function mappingKeyOf(need: LiveNeed): string {
  return `${need.request.protocol}|${need.grantedExternalPort ?? need.request.externalPort ?? need.request.internalPort}|${need.request.remoteHost ?? ''}`;
}

/** Creates the decider; see the module comment. */
export function createNeedsDecider(options: NeedsDeciderOptions): GatewayDecider {
  const { needs } = options;
  const now = options.now ?? Date.now;

  const portMappings = (): LiveNeed[] => needs.list().filter((n) => n.request.family === 'ipv4' && n.grantedExternalPort !== undefined);
  const findMapping = (key: PortMappingKey): LiveNeed | undefined => {
    const want = `${key.protocol}|${key.externalPort}|${key.remoteHost}`;
    return portMappings().find((n) => mappingKeyOf(n) === want);
  };
  const entryOf = (n: LiveNeed): ServedPortMapping => ({
    remoteHost: n.request.remoteHost ?? '',
    externalPort: n.grantedExternalPort as number,
    protocol: n.request.protocol as 'udp' | 'tcp',
    internalPort: n.request.internalPort,
    internalClient: n.request.internalClient as string,
    enabled: true,
    description: n.description ?? '',
    leaseSeconds: Math.max(0, Math.ceil((n.deadline - now()) / 1000)),
  });
  const pinholeOf = (uniqueId: number, requester: Requester): Answer<LiveNeed> => {
    const need = needs.byUnique(uniqueId);
    if (!need) return refuse(402, `no pinhole with UniqueID ${uniqueId}`);
    const refused = notOwned(need, `pinhole ${uniqueId}`, requester, 'pinhole');
    if (refused) return refused;
    return accept(need);
  };

  return {
    firewallStatus: () => accept({ firewallEnabled: options.firewallEnabled ?? true, inboundPinholeAllowed: true }),

    async addPinhole(request, requester) {
      const outcome = await needs.open({
        source: 'upnp',
        family: 'ipv6',
        protocol: request.protocol,
        internalClient: request.internalClient,
        internalPort: request.internalPort,
        remoteHost: request.remoteHost,
        remotePort: request.remotePort,
        leaseSeconds: request.leaseSeconds,
        requesterAddress: requester.address,
      });
      if (!outcome.ok) return refusalOf(outcome, 'pinhole');
      return accept({ uniqueId: outcome.uniqueId as number });
    },

    async updatePinhole(request, requester) {
      const found = pinholeOf(request.uniqueId, requester);
      if (!found.ok) return found;
      await needs.renew(found.value.id, request.leaseSeconds);
      return accept(undefined);
    },

    async deletePinhole(request, requester) {
      const found = pinholeOf(request.uniqueId, requester);
      if (!found.ok) return found;
      await needs.close(found.value.id, 'deleted');
      return accept(undefined);
    },

    pinholePackets(request, requester) {
      const found = pinholeOf(request.uniqueId, requester);
      if (!found.ok) return found;
      // Per-element packet counters are not kept (as miniupnpd's nftables build): 0, so CheckPinholeWorking answers 709.
      return accept({ packets: 0 });
    },

    externalIpv4: () => accept({ address: options.externalIpv4() }),

    connectionStatus: () =>
      accept({ status: options.externalIpv4() ? 'Connected' : 'Disconnected', lastError: 'ERROR_NONE', uptimeSeconds: Math.floor((now() - options.startedAt) / 1000) }),

    async addPortMapping(request, requester) {
      // A port held by another client is the engine's call: AddPortMapping does not accept another port, so the
      // exact-external-port rule denies it (718 from the table), naming the holder.
      const outcome = await needs.open({
        source: 'upnp',
        family: 'ipv4',
        protocol: request.protocol,
        internalClient: request.internalClient,
        internalPort: request.internalPort,
        externalPort: request.externalPort,
        remoteHost: request.remoteHost,
        remotePort: 0,
        leaseSeconds: request.leaseSeconds,
        requesterAddress: requester.address,
        description: request.description,
      });
      if (!outcome.ok) return refusalOf(outcome, 'add-port-mapping');
      return accept(undefined);
    },

    async addAnyPortMapping(request, requester) {
      const outcome = await needs.open({
        source: 'upnp',
        family: 'ipv4',
        protocol: request.protocol,
        internalClient: request.internalClient,
        internalPort: request.internalPort,
        ...(request.externalPort ? { externalPort: request.externalPort } : {}),
        remoteHost: request.remoteHost,
        remotePort: 0,
        leaseSeconds: request.leaseSeconds,
        requesterAddress: requester.address,
        description: request.description,
        acceptOtherExternalPort: true,
      });
      if (!outcome.ok) return refusalOf(outcome, 'add-any-port-mapping');
      return accept({ reservedPort: outcome.externalPort as number });
    },

    async deletePortMapping(request, requester) {
      const held = findMapping(request);
      if (!held) return accept(undefined); // miniupnpd answers 200 for a mapping that does not exist
      const refused = notOwned(held, `port ${request.externalPort}/${request.protocol}`, requester, 'delete-port-mapping');
      if (refused) return refused;
      await needs.close(held.id, 'deleted');
      return accept(undefined);
    },

    async deletePortMappingRange(request, requester) {
      const inRange = portMappings().filter(
        (n) => n.request.protocol === request.protocol && (n.grantedExternalPort as number) >= request.startPort && (n.grantedExternalPort as number) <= request.endPort && ownedBy(n, requester),
      );
      if (inRange.length === 0) return refuse(730, `no port mapping of yours in ${request.startPort}-${request.endPort}`);
      for (const n of inRange) await needs.close(n.id, 'deleted');
      return accept(undefined);
    },

    getPortMapping(request) {
      const held = findMapping(request);
      return held ? accept(entryOf(held)) : refuse(714, `no mapping for ${request.externalPort}/${request.protocol}`);
    },

    getPortMappingAt(index) {
      const list = portMappings();
      return index < list.length ? accept(entryOf(list[index])) : refuse(713, `index ${index} is past the ${list.length} mappings`);
    },

    listPortMappings(request) {
      const list = portMappings()
        .filter((n) => n.request.protocol === request.protocol && (n.grantedExternalPort as number) >= request.startPort && (n.grantedExternalPort as number) <= request.endPort)
        .slice(0, request.maxEntries > 0 ? request.maxEntries : undefined)
        .map(entryOf);
      return accept(list); // an empty range is an empty list, as miniupnpd answers
    },
  };
}
