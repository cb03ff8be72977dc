/**
 * Rogue-router hygiene for SSDP answers: which LOCATION the client may fetch. Any host on the
 * link can send an SSDP answer, so a LOCATION must not let it point the client somewhere
 * else (another device, the client's own local services). The rule:
 *
 * 1. **The sender's own address** is accepted (`acceptedBecause: 'sender'`), whatever its
 *    text form; a link-local one is bound to the arrival interface (a zone naming another
 *    interface is refused).
 * 2. **Over IPv6 only, a global or ULA address other than the sender's** is accepted
 *    (`'on-link'`) only when all of these hold, which is exactly miniupnpd's case — it
 *    answers searches from its link-local address (`fe80::1`) while its LOCATION names its
 *    global address (`http://[2001:db8:77::1]:5000/rootDesc.xml`):
 *    - the sender is link-local (a router answering on the link; a sender with a global
 *      address has no reason to name another one);
 *    - the LOCATION's address is on-link for the interface the answer arrived on;
 *    - it is **not one of this host's own addresses** (on any interface), so no answer can
 *      aim the client at its own services, on any port.
 * 3. Everything else is refused with a {@link RogueLocationError}: IPv4 LOCATIONs other
 *    than the sender, a link-local LOCATION other than the sender (a redirect to another
 *    neighbour), loopback and off-link addresses, host names (they cannot be tied to the
 *    sender without trusting DNS), non-http URLs.
 *
 * Not covered here: that a link-local sender is the link's router (the client's default
 * route), which needs the routing table (see `adapters/system/route-interfaces.ts`).
 *
 * @example
 * ```ts
 * const loc = checkLocation('http://[2001:db8:77::1]:5000/rootDesc.xml',
 *   { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, systemInterfaceTable());
 * loc.url; // 'http://[2001:db8:77::1]:5000/rootDesc.xml'
 * ```
 */
import { familyOf, isLinkLocalIpv6, sameAddress, splitZone, unmappedAddress } from '../../policies/model/address';
import { parseHttpUrl } from './http-url';
import { InterfaceTable, isOnLinkIpv6 } from './network-interfaces';

/** True when `address` is one of the addresses of the interface table (this host's own). */
function isOwnAddress(table: InterfaceTable, address: string): boolean {
  for (const infos of Object.values(table)) {
    for (const info of infos ?? []) if (sameAddress(splitZone(info.address).address, address)) return true;
  }
  return false;
}
import { RogueLocationError, UpnpProtocolError } from './upnp-errors';

/** Where an SSDP answer came from. */
export interface AnswerOrigin {
  /** Sender address as the socket reported it (may carry `%zone`). */
  remoteAddress: string;
  /** The local interface the answer arrived on, when known. */
  interfaceName?: string;
}

/** A LOCATION that passed the check. */
export interface CheckedLocation {
  /** The URL to fetch (zone-free). */
  url: string;
  host: string;
  port: number;
  family: 'ipv4' | 'ipv6';
  /** Interface to use as zone when `host` is link-local. */
  zone?: string;
  /** Why it was accepted. */
  acceptedBecause: 'sender' | 'on-link';
}

/** Checks a LOCATION against its answer's origin; throws {@link RogueLocationError}. */
export function checkLocation(location: string, origin: AnswerOrigin, table: InterfaceTable): CheckedLocation {
  let parsed;
  try {
    parsed = parseHttpUrl(location);
  } catch (e) {
    throw new RogueLocationError(`LOCATION ${JSON.stringify(location)} is not a usable http URL: ${(e as UpnpProtocolError).message}`,
      location, origin.remoteAddress);
  }
  const sender = splitZone(origin.remoteAddress);
  const ifName = origin.interfaceName ?? sender.zone;
  const reject = (why: string): never => {
    throw new RogueLocationError(`LOCATION ${location} refused: ${why} (answer from ${origin.remoteAddress}${
      ifName ? ` on ${ifName}` : ''})`, location, origin.remoteAddress);
  };
  if (parsed.hostKind === 'name') reject('it names a host, not the address of the device that answered');
  const senderIsV6 = familyOf(unmappedAddress(sender.address) ?? sender.address) === 'ipv6';
  const family = parsed.hostKind === 'ipv6' ? 'ipv6' : 'ipv4';
  const base = { url: parsed.href, host: parsed.host, port: parsed.port, family } as const;

  if (sameAddress(parsed.host, sender.address)) {
    const out: CheckedLocation = { ...base, acceptedBecause: 'sender' };
    if (family === 'ipv6' && isLinkLocalIpv6(parsed.host)) {
      const zone = parsed.zone ?? ifName;
      if (parsed.zone && ifName && parsed.zone !== ifName) reject(`its zone ${parsed.zone} is not the arrival interface`);
      if (zone) out.zone = zone;
    }
    return out;
  }
  if (family === 'ipv4' || !senderIsV6) reject('its host is not the address that answered');
  if (!ifName) reject('the arrival interface is unknown, so on-link cannot be checked');
  const name = ifName as string;
  if (parsed.zone && parsed.zone !== name) reject(`its zone ${parsed.zone} is not the arrival interface ${name}`);
  if (isLinkLocalIpv6(parsed.host)) reject('it names a link-local address other than the sender\'s');
  if (!isLinkLocalIpv6(sender.address)) reject('a sender with a routable address must name its own address');
  if (!isOnLinkIpv6(table, name, parsed.host)) reject(`${parsed.host} is not on-link for ${name}`);
  if (isOwnAddress(table, parsed.host)) reject(`${parsed.host} is this host's own address`);
  return { ...base, acceptedBecause: 'on-link' };
}
