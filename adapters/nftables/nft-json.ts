import { ActualEntry } from './firewall-entry';
import { NftParseError } from './nft-errors';
import { ElementSet, elementSetNamed } from './table-layout';

/** What a read-back found in the adapter's table. */
export interface TableContents {
  /** False when the table does not exist (yet, or someone deleted it). */
  readonly present: boolean;
  readonly entries: readonly ActualEntry[];
  /** Sets/maps in the table this adapter does not know (left alone). */
  readonly unknownSets: readonly string[];
  /** Chains present (`forward`, `prerouting` when installed). */
  readonly chains: readonly string[];
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function values(v: Json, width: number, where: string): Json[] {
  if (width === 1) return [v];
  if (isObject(v) && Array.isArray(v.concat) && v.concat.length === width) return v.concat;
  throw new NftParseError(`${where}: expected a concatenation of ${width} values, got ${JSON.stringify(v)}`);
}

function scalar(v: Json, field: string, where: string): string | number {
  if (typeof v === 'string' || typeof v === 'number') return v;
  throw new NftParseError(`${where}: ${field} is ${JSON.stringify(v)}`);
}

function protocolOf(v: string | number, where: string): 'udp' | 'tcp' {
  if (v === 'udp' || v === 17) return 'udp';
  if (v === 'tcp' || v === 6) return 'tcp';
  throw new NftParseError(`${where}: protocol ${JSON.stringify(v)} is neither udp nor tcp`);
}

function portOf(v: string | number, field: string, where: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new NftParseError(`${where}: ${field} ${JSON.stringify(v)} is not a port`);
  return n;
}

function entryOf(set: ElementSet, item: Json, table: string): ActualEntry {
  const where = `element of ${table}/${set.name}`;
  let keyPart: Json = item;
  let dataPart: Json = undefined;
  if (set.data) {
    if (!Array.isArray(item) || item.length !== 2) throw new NftParseError(`${where}: expected [key, data], got ${JSON.stringify(item)}`);
    [keyPart, dataPart] = item as Json[];
  }
  let timeoutSeconds = 0;
  let expiresInSeconds: number | undefined;
  let owner: string | undefined;
  if (isObject(keyPart) && isObject(keyPart.elem)) {
    const e = keyPart.elem;
    if (typeof e.timeout === 'number') timeoutSeconds = e.timeout;
    if (typeof e.expires === 'number') expiresInSeconds = e.expires;
    if (typeof e.comment === 'string') owner = e.comment;
    keyPart = e.val;
  }
  const fields: Record<string, string | number> = {};
  values(keyPart, set.key.length, where).forEach((v, i) => (fields[set.key[i]] = scalar(v, set.key[i], where)));
  if (set.data) values(dataPart, set.data.length, where).forEach((v, i) => (fields[set.data![i]] = scalar(v, set.data![i], where)));
  const entry: { -readonly [K in keyof ActualEntry]: ActualEntry[K] } = {
    kind: set.kind,
    family: set.family,
    set: set.name,
    protocol: protocolOf(fields.protocol, where),
    internalClient: String(fields.internalClient),
    internalPort: portOf(fields.internalPort, 'internalPort', where),
    remoteHost: set.remoteHost ? String(fields.remoteHost) : '',
    remotePort: set.remotePort ? portOf(fields.remotePort, 'remotePort', where) : 0,
    timeoutSeconds,
  };
  if (set.kind === 'port-mapping') entry.externalPort = portOf(fields.externalPort, 'externalPort', where);
  if (expiresInSeconds !== undefined && timeoutSeconds > 0) entry.expiresInSeconds = expiresInSeconds;
  if (owner !== undefined) entry.owner = owner;
  return entry;
}

/**
 * Reads the output of `nft -j list table inet <table>` into typed entries.
 * Throws {@link NftParseError} on anything it does not understand in a set
 * it owns (never silently drops an element).
 *
 * @example
 * ```ts
 * const { stdout } = await runCommand('nft', ['-j', 'list', 'table', 'inet', 'homenet']);
 * parseTableJson(stdout, 'homenet').entries[0]; // { kind: 'pinhole', internalClient: '2001:db8::10', expiresInSeconds: 3599, ... }
 * ```
 */
export function parseTableJson(text: string, table: string): TableContents {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new NftParseError(`not JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.nftables)) throw new NftParseError('no "nftables" array');
  const entries: ActualEntry[] = [];
  const unknownSets: string[] = [];
  const chains: string[] = [];
  let present = false;
  for (const item of doc.nftables) {
    if (!isObject(item)) continue;
    if (isObject(item.table) && item.table.name === table && item.table.family === 'inet') present = true;
    if (isObject(item.chain) && item.chain.table === table) chains.push(String(item.chain.name));
    const s = isObject(item.set) ? item.set : isObject(item.map) ? item.map : undefined;
    if (!s || s.table !== table || s.family !== 'inet') continue;
    const known = elementSetNamed(String(s.name));
    if (!known || Boolean(known.data) !== isObject(item.map)) {
      unknownSets.push(String(s.name));
      continue;
    }
    if (s.elem === undefined) continue;
    if (!Array.isArray(s.elem)) throw new NftParseError(`${table}/${known.name}: "elem" is not an array`);
    for (const el of s.elem) entries.push(entryOf(known, el, table));
  }
  return { present, entries, unknownSets, chains };
}
