/**
 * Rogue-router hygiene for SSDP answers: a LOCATION is followed only when its host is the
 * address that sent the answer, or, over IPv6, an address on-link for the interface the
 * answer arrived on. miniupnpd answers IPv6 searches from its link-local address while its
 * LOCATION names its global address (`http://[2001:db8:77::1]:5000/rootDesc.xml`): that is
 * accepted when 2001:db8:77::/64 is on-link on the receiving interface. Host names are
 * refused (they cannot be tied to the sender without trusting DNS).
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
  if (!isOnLinkIpv6(table, name, parsed.host)) reject(`${parsed.host} is not on-link for ${name}`);
  const out: CheckedLocation = { ...base, acceptedBecause: 'on-link' };
  if (isLinkLocalIpv6(parsed.host)) out.zone = name;
  return out;
}
