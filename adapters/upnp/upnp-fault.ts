/**
 * UPnP faults (HTTP 500 + `s:Fault/detail/UPnPError/{errorCode,errorDescription}`), decoded
 * per service: the same number means different things in different services (708 is
 * WildCardNotPermittedInSrcIP in WANIPv6FirewallControl but InvalidLayer2Address in
 * WANIPConnection). Each fault carries the standard name and a sentence for the user: the
 * router's own errorDescription when it says more than the standard text for the code (a
 * policy-enforcing gateway names its reason there), else our guess at what the code means.
 *
 * @example
 * ```ts
 * try { await firewall.addPinhole({...}); }
 * catch (e) {
 *   if (e instanceof UpnpFault && e.code === 606) console.log(e.faultName, e.explanation);
 *   // 'ActionNotAuthorized', 'The router says: Action not authorized: matter-device-isolation — ...' (or our guess, 'The router refused: ...')
 * }
 * ```
 */
import { UpnpError } from './upnp-errors';
import { splitUrnVersion } from './upnp-urns';

interface FaultInfo {
  name: string;
  meaning: string;
}

const COMMON: Record<number, FaultInfo> = {
  401: { name: 'InvalidAction', meaning: 'The router does not offer this action on this service; treat the feature as unsupported.' },
  402: { name: 'InvalidArgs', meaning: 'The router rejected an argument (missing, badly formed or out of range); fix the request. On a renewal, the entry may be gone: add it again.' },
  403: { name: 'OutOfSync', meaning: 'The router reports its state changed underneath the request; retry once.' },
  501: { name: 'ActionFailed', meaning: 'The router failed to carry out the action; back off and retry later, or treat an optional action as unsupported.' },
  600: { name: 'ArgumentValueInvalid', meaning: 'An argument value is invalid for the router; check the address and port values.' },
  601: { name: 'ArgumentValueOutOfRange', meaning: 'An argument value is out of the range the router accepts.' },
  602: { name: 'OptionalActionNotImplemented', meaning: 'The router does not implement this optional action; skip it.' },
  603: { name: 'OutOfMemory', meaning: 'The router ran out of memory; retry later.' },
  604: { name: 'HumanInterventionRequired', meaning: 'The router needs someone to act on its administration page before this can work.' },
  605: { name: 'StringArgumentTooLong', meaning: 'A text argument (such as the description) is too long for the router; shorten it.' },
  606: { name: 'ActionNotAuthorized', meaning: 'The router refused: only the device that receives the traffic may ask, from its own address, for a port of 1024 or more. Send the request from that device (bind to the InternalClient address) and use a port >= 1024.' },
  607: { name: 'SignatureFailure', meaning: 'The router rejected the request signature.' },
  608: { name: 'SignatureMissing', meaning: 'The router requires a signed request (DeviceProtection); this client cannot provide one.' },
  609: { name: 'NotEncrypted', meaning: 'The router requires an encrypted (TLS) session for this action.' },
  610: { name: 'InvalidSequence', meaning: 'The router rejected the request sequence number.' },
  611: { name: 'InvalidControlURL', meaning: 'The control URL is not valid on this router; rediscover it.' },
  612: { name: 'NoSuchSession', meaning: 'The router knows no such session.' },
};

const FIREWALL_CONTROL: Record<number, FaultInfo> = {
  701: { name: 'PinholeSpaceExhausted', meaning: 'The router has no room for another pinhole; stop asking and fall back (relay), do not retry in a loop.' },
  702: { name: 'FirewallDisabled', meaning: 'The router\'s IPv6 firewall is off: inbound traffic already flows and no pinhole is needed.' },
  703: { name: 'InboundPinholeNotAllowed', meaning: 'The router\'s administrator disabled inbound pinholes; enable "allow inbound IPv6 pinholes" (UPnP IPv6 firewall control) in the router settings.' },
  704: { name: 'NoSuchEntry', meaning: 'The router has no pinhole with this id (it may have expired or the router restarted); add it again.' },
  705: { name: 'ProtocolNotSupported', meaning: 'The router does not support this protocol for pinholes; only UDP (17) and TCP (6) are portable.' },
  706: { name: 'InternalPortWildcardingNotAllowed', meaning: 'The router refuses a wildcard (0) internal port; name the exact port.' },
  707: { name: 'ProtocolWildcardingNotAllowed', meaning: 'The router refuses a wildcard protocol; open UDP and TCP separately.' },
  708: { name: 'WildCardNotPermittedInSrcIP', meaning: 'The router refuses an empty/wildcard internal client; send the device\'s literal IPv6 address.' },
  709: { name: 'NoTrafficReceived', meaning: 'No packet has gone through this pinhole yet; this means "not seen yet", not "broken".' },
};

const CONNECTION: Record<number, FaultInfo> = {
  703: { name: 'InactiveConnectionStateRequired', meaning: 'The connection must be inactive for this action.' },
  704: { name: 'ConnectionSetupFailed', meaning: 'The router could not set up its WAN connection.' },
  705: { name: 'ConnectionSetupInProgress', meaning: 'The router is still setting up its WAN connection; retry shortly.' },
  706: { name: 'ConnectionNotConfigured', meaning: 'The router\'s WAN connection is not configured.' },
  707: { name: 'DisconnectInProgress', meaning: 'The router is disconnecting its WAN connection.' },
  708: { name: 'InvalidLayer2Address', meaning: 'The router rejected a layer-2 address.' },
  709: { name: 'InternetAccessDisabled', meaning: 'The router\'s Internet access is disabled.' },
  710: { name: 'InvalidConnectionType', meaning: 'The action does not fit the router\'s connection type.' },
  711: { name: 'ConnectionAlreadyTerminated', meaning: 'The router\'s WAN connection is already down.' },
  713: { name: 'SpecifiedArrayIndexInvalid', meaning: 'There is no port mapping at this index: the end of the list was reached.' },
  714: { name: 'NoSuchEntryInArray', meaning: 'The router has no such port mapping.' },
  715: { name: 'WildCardNotPermittedInSrcIP', meaning: 'The router refuses a wildcard remote host; name a specific one or leave it empty if allowed.' },
  716: { name: 'WildCardNotPermittedInExtPort', meaning: 'The router refuses a wildcard (0) external port; name the exact port.' },
  718: { name: 'ConflictInMappingEntry', meaning: 'The external port is already mapped (to another device, or the router forbids mapping for another device); use AddAnyPortMapping or another port.' },
  724: { name: 'SamePortValuesRequired', meaning: 'The router requires the internal and external ports to be equal.' },
  725: { name: 'OnlyPermanentLeasesSupported', meaning: 'The router only supports permanent mappings; retry with a lease of 0 and delete the mapping yourself when done.' },
  726: { name: 'RemoteHostOnlySupportsWildcard', meaning: 'The router only supports an empty (wildcard) remote host.' },
  727: { name: 'ExternalPortOnlySupportsWildcard', meaning: 'The router only supports a wildcard external port.' },
  728: { name: 'NoPortMapsAvailable', meaning: 'The router\'s port mapping table is full; stop asking and fall back.' },
  729: { name: 'ConflictWithOtherMechanisms', meaning: 'The port is in use by another mechanism on the router (PCP, NAT-PMP or a static rule); pick another port.' },
  730: { name: 'PortMappingNotFound', meaning: 'No port mapping in the given range.' },
  731: { name: 'ReadOnly', meaning: 'The router holds this value read-only.' },
  732: { name: 'WildCardNotPermittedInIntPort', meaning: 'The router refuses a wildcard (0) internal port.' },
  733: { name: 'InconsistentParameters', meaning: 'The arguments contradict each other (e.g. start port above end port).' },
};

function tableFor(serviceType: string): Record<number, FaultInfo> {
  const name = splitUrnVersion(serviceType)?.name ?? serviceType;
  if (name.endsWith(':WANIPv6FirewallControl')) return FIREWALL_CONTROL;
  if (name.endsWith(':WANIPConnection') || name.endsWith(':WANPPPConnection')) return CONNECTION;
  return {};
}

/** Standard name and user sentence of `code` in `serviceType` (generic text for unknown codes). */
export function describeFault(serviceType: string, code: number): FaultInfo {
  const info = tableFor(serviceType)[code] ?? COMMON[code];
  if (info) return info;
  return { name: 'Unknown', meaning: `The router refused with UPnP error ${code}, which this client does not know for this service.` };
}

/** Standard texts routers send that are not the UPnP name (miniupnpd's spellings), normalised. */
const STANDARD_ALIASES: Record<number, readonly string[]> = {
  709: ['nopacketsent'],
};

const normalised = (text: string): string => text.toLowerCase().replace(/wilcard/g, 'wildcard').replace(/[^a-z0-9]/g, '');

/**
 * True when a router's errorDescription says more than the standard text for `code` (its
 * name in any spacing or case, or a known alias): then it is the router's own explanation.
 *
 * @example
 * ```ts
 * saysMoreThanStandard('Action not authorized', SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 606); // false
 * saysMoreThanStandard('Action not authorized: matter-device-isolation — plug is matter', SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 606); // true
 * ```
 */
export function saysMoreThanStandard(description: string, serviceType: string, code: number): boolean {
  const said = normalised(description);
  if (said === '') return false;
  const info = describeFault(serviceType, code);
  if (said === normalised(info.name) || (STANDARD_ALIASES[code] ?? []).includes(said)) return false;
  // Generic texts say nothing about this refusal.
  return !['error', 'unknownerror', 'upnperror', 'failed', 'actionfailed', normalised(`error ${code}`)].includes(said);
}

/** A router's refusal of an action. */
export class UpnpFault extends UpnpError {
  readonly kind = 'fault';
  /** The UPnP errorCode (e.g. 606). */
  readonly code: number;
  /** The router's own errorDescription text (may be empty or non-standard). */
  readonly description: string;
  /** The standard name for this code in this service (e.g. 'ActionNotAuthorized'), or 'Unknown'. */
  readonly faultName: string;
  /** What the code means for the user and what to do (our guess, from the code alone). */
  readonly meaning: string;
  /** Whether the router's description says more than the standard text (see {@link saysMoreThanStandard}). */
  readonly routerExplained: boolean;
  /** What to show: the router's own description when it says more, else {@link meaning}. */
  readonly explanation: string;
  readonly action: string;
  readonly serviceType: string;
  readonly httpStatus: number;

  constructor(init: { code: number; description: string; action: string; serviceType: string; httpStatus?: number }) {
    const info = describeFault(init.serviceType, init.code);
    const routerExplained = saysMoreThanStandard(init.description, init.serviceType, init.code);
    const explanation = routerExplained ? `The router says: ${init.description}` : info.meaning;
    super(`${init.action} refused by the router: UPnP error ${init.code} ${info.name}${
      !routerExplained && init.description && init.description !== info.name ? ` ("${init.description}")` : ''}. ${explanation}`);
    this.routerExplained = routerExplained;
    this.explanation = explanation;
    this.code = init.code;
    this.description = init.description;
    this.faultName = info.name;
    this.meaning = info.meaning;
    this.action = init.action;
    this.serviceType = init.serviceType;
    this.httpStatus = init.httpStatus ?? 500;
  }
}

/** True when `err` is a fault with one of `codes`. */
export function isUpnpFault(err: unknown, ...codes: number[]): err is UpnpFault {
  return err instanceof UpnpFault && (codes.length === 0 || codes.includes(err.code));
}
