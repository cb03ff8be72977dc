import type { Action } from '../../policies/model/action';
import { canonicalAddress, familyOf, isWildcardAddress, type Family } from '../../policies/model/address';
import type { Table } from '../../policies/model/gateway';
import type { Grant, GrantTarget } from '../../policies/model/grant';
import type { Protocol } from '../../policies/model/need';
import { NftInvalidEntryError } from './nft-errors';

/**
 * One firewall permission as the router's kernel holds it: an IPv6 (or IPv4)
 * pinhole, or an IPv4 port mapping (DNAT + forward permission). Addresses are
 * canonical (RFC 5952 for IPv6); `remoteHost: ''` and `remotePort: 0` mean
 * "any remote".
 */
export interface FirewallEntry {
  readonly kind: Table;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly internalClient: string;
  readonly internalPort: number;
  /** Port mappings only: the port on the router's WAN address. */
  readonly externalPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Who owns it (the grant id); stored as the element's comment. */
  readonly owner?: string;
}

/** An entry that should exist, with its lease. */
export interface DesiredEntry extends FirewallEntry {
  /** The whole lease in seconds (0 = permanent). */
  readonly leaseSeconds: number;
  /** When it must be gone, in the adapter clock's ms; absent = now + lease. */
  readonly expiresAt?: number;
}

/** A grant as the engine, the journal and the daemon hold it: what the firewall needs of it. */
export type GrantLike = GrantTarget & Pick<Grant, 'id' | 'leaseSeconds'>;

/**
 * The firewall entry a grant wants, owned by the grant's id, ending at
 * `expiresAt` (ms) when given.
 *
 * @example
 * ```ts
 * await fw.reconcile(engine.snapshot().grants.map((g) => desiredEntryOf(g)));
 * ```
 */
export function desiredEntryOf(g: GrantLike, expiresAt?: number): DesiredEntry {
  return {
    kind: g.table,
    family: g.family,
    protocol: g.protocol,
    internalClient: g.internalClient,
    internalPort: g.internalPort,
    ...(g.externalPort !== undefined ? { externalPort: g.externalPort } : {}),
    remoteHost: g.remoteHost,
    remotePort: g.remotePort,
    owner: g.id,
    leaseSeconds: g.leaseSeconds,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}

/** An entry read back from the kernel. */
export interface ActualEntry extends FirewallEntry {
  /** Set or map it lives in. */
  readonly set: string;
  /** The element's timeout in seconds; 0 = permanent. */
  readonly timeoutSeconds: number;
  /** Seconds until the kernel removes it (absent for permanent elements). */
  readonly expiresInSeconds?: number;
}

/** The entry's address in the one canonical form, checked for its family; no zone id. */
function entryAddress(subject: string, field: string, value: unknown, family: Family): string {
  const address = typeof value === 'string' && !value.includes('%') ? canonicalAddress(value) : undefined;
  if (address === undefined) throw new NftInvalidEntryError(subject, field, value, 'not an IP address');
  if (familyOf(address) !== family) throw new NftInvalidEntryError(subject, field, value, `not an ${family} address`);
  return address;
}

function port(subject: string, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw new NftInvalidEntryError(subject, field, value, `must be an integer ${min}..65535`);
  }
  return value;
}

/** Characters an nft comment may carry here (printable ASCII without quotes or backslash), at most 120 of them. */
export function commentText(owner: string): string {
  return owner.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 120);
}

/**
 * Checks an entry and returns it in canonical form, or throws
 * {@link NftInvalidEntryError} naming the bad field.
 *
 * @example
 * ```ts
 * normalizeEntry({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:DB8::0010',
 *   internalPort: 3074, remoteHost: '', remotePort: 0 }).internalClient; // '2001:db8::10'
 * ```
 */
export function normalizeEntry<T extends FirewallEntry>(entry: T, subject = 'entry'): T & FirewallEntry {
  const { kind, family, protocol } = entry;
  if (kind !== 'pinhole' && kind !== 'port-mapping') throw new NftInvalidEntryError(subject, 'table', kind, "must be 'pinhole' or 'port-mapping'");
  if (family !== 'ipv4' && family !== 'ipv6') throw new NftInvalidEntryError(subject, 'family', family, "must be 'ipv4' or 'ipv6'");
  if (protocol !== 'udp' && protocol !== 'tcp') throw new NftInvalidEntryError(subject, 'protocol', protocol, "must be 'udp' or 'tcp'");
  if (kind === 'port-mapping' && family !== 'ipv4') throw new NftInvalidEntryError(subject, 'family', family, 'port mappings are IPv4 only');
  const out: { -readonly [K in keyof FirewallEntry]: FirewallEntry[K] } = {
    kind,
    family,
    protocol,
    internalClient: entryAddress(subject, 'internalClient', entry.internalClient, family),
    internalPort: port(subject, 'internalPort', entry.internalPort, 1),
    remoteHost: isWildcardAddress(entry.remoteHost) ? '' : entryAddress(subject, 'remoteHost', entry.remoteHost, family),
    remotePort: port(subject, 'remotePort', entry.remotePort ?? 0, 0),
  };
  if (kind === 'port-mapping') out.externalPort = port(subject, 'externalPort', entry.externalPort ?? entry.internalPort, 1);
  if (entry.owner !== undefined) out.owner = commentText(entry.owner);
  return { ...entry, ...out };
}

/**
 * The entry an engine action adds, renews or deletes; `owner` is the grant id.
 *
 * @example
 * ```ts
 * const entry = entryFromAction(action); // { kind: 'pinhole', family: 'ipv6', ..., leaseSeconds: 3600 }
 * ```
 */
export function entryFromAction(action: Action): DesiredEntry {
  return normalizeEntry<DesiredEntry>(
    {
      kind: action.table,
      family: action.family,
      protocol: action.protocol,
      internalClient: action.internalClient,
      internalPort: action.internalPort,
      ...(action.externalPort !== undefined ? { externalPort: action.externalPort } : {}),
      remoteHost: action.remoteHost,
      remotePort: action.remotePort,
      owner: action.grantId,
      leaseSeconds: leaseOf(action.key, action.leaseSeconds),
    },
    action.key,
  );
}

function leaseOf(subject: string, lease: unknown): number {
  if (typeof lease !== 'number' || !Number.isInteger(lease) || lease < 0 || lease > 86400 * 365) {
    throw new NftInvalidEntryError(subject, 'leaseSeconds', lease, 'must be an integer 0..31536000 (0 = permanent)');
  }
  return lease;
}
