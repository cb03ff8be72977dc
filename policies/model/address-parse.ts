/**
 * The memoised address parser behind {@link canonicalAddress} and
 * {@link toDeviceAddress}. Internal (not exported from `policies/index.ts`):
 * the inventory uses it to compare a device's reported addresses with the
 * ones it has without building new records.
 */
import ipaddr from 'ipaddr.js';
import { AddressScope, Family, familyOf, scopeOf } from './address';
import { flat } from '../util/flat';

/** An address literal parsed: canonical text, family and scope. */
export interface Parsed {
  readonly address: string;
  readonly family: Family;
  readonly scope: AddressScope;
}
const cache = new Map<string, Parsed | null>();
const CACHE_LIMIT = 1 << 16;

/** Parses (memoised, bounded) an address literal into canonical text, family and scope. */
export function parseAddress(text: string): Parsed | undefined {
  // A literal built by concatenation is compared piece by piece on every
  // lookup; flattened once, it compares (and is kept as a key) as one string.
  const hit = cache.get(flat(text));
  if (hit !== undefined) return hit ?? undefined;
  let result: Parsed | null = null;
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (ipaddr.isValid(bare) && !(bare.includes('.') && !bare.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(bare))) {
    const address = ipaddr.parse(bare).toString();
    result = { address, family: familyOf(address), scope: scopeOf(address) };
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, result);
  return result ?? undefined;
}

