import { HostAddress, isOnLink } from '../../adapters/observe/host-address';
import { canonicalAddress, isGlobalScope } from '../../policies/model/address';

/** Why no InternalClient could be chosen; thrown before anything is sent. */
export class InternalClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalClientError';
  }
}

export interface InternalClientRequest {
  readonly family: 'ipv4' | 'ipv6';
  /** An address the caller insists on; it must be one of this host's. */
  readonly address?: string;
  /** The gateway's LAN address (from its LOCATION): the client must be on its link. */
  readonly gateway?: string;
  /** Restrict the choice to one interface. */
  readonly interface?: string;
}

function rank(a: HostAddress): number {
  // Lower is better: stable before temporary, global before anything else.
  return (a.temporary ? 10 : 0) + (isGlobalScope(a.scope) ? 0 : 100);
}

/**
 * Chooses the address a pinhole or port mapping is opened for: the address
 * peers will reach the game on and the one the router must see as the
 * requester (IGD:2 lets a host open a pinhole only for itself).
 *
 * - IPv6: a stable, preferred global address (never a ULA, link-local,
 *   temporary, deprecated or tentative one unless asked for by `address`), on
 *   the gateway's link when the gateway is known.
 * - IPv4: the host's address on the gateway's subnet.
 * - `address`: must belong to this host, else {@link InternalClientError}.
 *
 * @example
 * ```ts
 * const client = chooseInternalClient(await readHostAddresses(), { family: 'ipv6' });
 * ```
 */
export function chooseInternalClient(addresses: readonly HostAddress[], request: InternalClientRequest): HostAddress {
  if (request.address !== undefined) {
    const wanted = canonicalAddress(request.address);
    if (wanted === undefined) throw new InternalClientError(`'${request.address}' is not an IP address`);
    const own = addresses.find((a) => a.address === wanted);
    if (!own) {
      throw new InternalClientError(
        `${wanted} is not an address of this host: a router only opens ports for the host that asks (its own address). This host has ${
          addresses.filter((a) => a.scope !== 'loopback').map((a) => a.address).join(', ') || 'no addresses'
        }`,
      );
    }
    const family = own.family;
    if (family !== request.family) throw new InternalClientError(`${wanted} is an ${family} address, not ${request.family}`);
    return own;
  }
  const candidates = addresses
    .filter((a) => a.family === request.family)
    .filter((a) => request.interface === undefined || a.interface === request.interface)
    .filter((a) => !a.deprecated && !a.tentative && a.scope !== 'loopback' && a.scope !== 'link-local')
    .filter((a) => (request.family === 'ipv6' ? a.scope === 'gua' && !a.temporary : true))
    .filter((a) => request.family === 'ipv6' || request.gateway === undefined || isOnLink(a, request.gateway));
  const onGatewayLink = request.gateway ? candidates.filter((a) => isOnLink(a, request.gateway!)) : [];
  const pool = onGatewayLink.length > 0 ? onGatewayLink : candidates;
  const best = [...pool].sort((x, y) => rank(x) - rank(y) || x.address.localeCompare(y.address))[0];
  if (!best) {
    const why =
      request.family === 'ipv6'
        ? 'no stable, preferred global IPv6 address (temporary, deprecated, ULA and link-local addresses are not used unless named with --address)'
        : `no IPv4 address${request.gateway ? ` on the gateway ${request.gateway}'s subnet` : ''}`;
    throw new InternalClientError(`cannot choose an InternalClient: this host has ${why}`);
  }
  return best;
}
