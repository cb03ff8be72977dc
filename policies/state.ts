/**
 * The engine's mutable, indexed state. Internal: nothing here is exported from
 * `policies/index.ts`; the engine hands out immutable views only.
 */
import { DeviceAddress, Family } from './model/address';
import { ActionOp } from './model/action';
import { Change, Verdict } from './model/decision';
import { Device, DeviceIdentities, Ipv6OnlyEvidence, KindEvidence } from './model/device';
import { Gateway, Table } from './model/gateway';
import { Need, NeedClass, Protocol } from './model/need';
import { NetworkFacts } from './model/network';
import { Rank, outranks } from './model/rank';
import { Reason } from './model/reason';
import { IndexedHeap } from './util/indexed-heap';

export interface DeviceRecord {
  id: string;
  identities: DeviceIdentities;
  kinds: KindEvidence[];
  addresses: DeviceAddress[];
  ipv6Only?: Ipv6OnlyEvidence;
  ownerAllowed: boolean;
  firstSeenAt: number;
}

/** `shared`: another need's pinhole has the very same 5-tuple; the router keeps one entry for both. */
export type LegState = 'none' | 'granted' | 'not-needed' | 'shared' | 'queued' | 'denied';

export interface GrantRecord {
  id: string;
  serial: number;
  needId: string;
  owner: LegRecord;
  class: NeedClass;
  rank: Rank;
  gatewayId: string;
  table: Table;
  family: Family;
  protocol: Protocol;
  internalClient: string;
  internalPort: number;
  /** Port mappings only (always present as a field, so every grant has one shape). */
  externalPort: number | undefined;
  remoteHost: string;
  remotePort: number;
  leaseSeconds: number;
  leaseStartedAt: number;
  expiresAt: number;
  renewAt: number;
  generation: number;
  state: 'pending' | 'active';
  uniqueId: number | undefined;
  renewals: number;
  addKey: string | undefined;
  renewKey: string | undefined;
  /** Live in the engine (false once released). */
  live: boolean;
  /** Index key: pinhole 5-tuple or `gateway|proto|externalPort`, computed once. */
  indexKey: string;
  tablePos: number;
  renewPos: number;
}

export interface LegRecord {
  family: Family;
  need: NeedRecord;
  state: LegState;
  grant: GrantRecord | undefined;
  /** Generation of the last grant this leg held, so re-adds get fresh keys. */
  lastGeneration: number;
  reasons: readonly Reason[];
  changes: readonly Change[];
  /** A router denial that sticks until the need is submitted again. */
  sticky: Reason | undefined;
  queuedIn: TableRecord | undefined;
  /** Pinhole 5-tuple this leg shares with another need's grant. */
  sharedKey: string | undefined;
  /** The address the leg will use when admitted from the queue. */
  queuedAddr: string | undefined;
  queuePos: number;
}

export interface NeedRecord {
  need: Need;
  rank: Rank;
  status: 'active' | 'closed';
  ipv6: LegRecord | undefined;
  ipv4: LegRecord | undefined;
  /** Need-level denial (hygiene, ownership, isolation). */
  denial: Reason | undefined;
  /** Reasons and changes of the family plan and informational notes. */
  notes: readonly Reason[];
  planChanges: readonly Change[];
  ineffective: readonly Reason[];
  /** Final verdict and reasons when closed by withdrawal. */
  closing: { verdict: Verdict; reasons: Reason[] } | undefined;
  /** Last emitted decision's signature (to emit only on change). */
  signature: string;
  /** The index entries (by address, by device id) this need is registered in (lists replaced, never mutated). */
  addressKeys: readonly NeedSet[];
  deviceKeys: readonly NeedSet[];
  submittedAt: number;
  firstGrantAt: number | undefined;
  /** Output step in which the need was last touched / forced to emit (see OutputBuffer). */
  touchedIn: number;
  forcedIn: number;
}

/**
 * The needs registered under one key of an index (a device id or an
 * address). A need keeps the sets it is in, so leaving them needs no lookup;
 * a set stays in its index for as long as it has members.
 */
export class NeedSet extends Set<NeedRecord> {
  constructor(readonly key: string) {
    super();
  }
}

/** True when one of the sets is the one for `key`. */
export function hasKey(sets: readonly NeedSet[], key: string): boolean {
  for (let i = 0; i < sets.length; i++) if (sets[i].key === key) return true;
  return false;
}

/**
 * The grants of one gateway table: a set (O(1) add/remove, insertion-order
 * iteration) plus a weakest-first heap that is only built the first time a
 * full table needs a pre-emption candidate, so unbounded tables never pay
 * for it.
 */
export class GrantTable {
  private readonly members = new Set<GrantRecord>();
  private heap?: IndexedHeap<GrantRecord, 'tablePos'>;

  get size(): number {
    return this.members.size;
  }

  push(g: GrantRecord): void {
    this.members.add(g);
    this.heap?.push(g);
  }

  remove(g: GrantRecord): boolean {
    if (!this.members.delete(g)) return false;
    this.heap?.remove(g);
    return true;
  }

  /** The weakest grant (lowest rank, then youngest). */
  peek(): GrantRecord | undefined {
    if (!this.heap) {
      this.heap = new IndexedHeap<GrantRecord, 'tablePos'>((a, b) => outranks(b.rank, a.rank), 'tablePos');
      for (const g of this.members) this.heap.push(g);
    }
    return this.heap.peek();
  }

  values(): IterableIterator<GrantRecord> {
    return this.members.values();
  }
}

export class TableRecord {
  /** Grants the router confirmed (state active). */
  active = 0;
  readonly grants = new GrantTable();
  /** Strongest queued leg on top: the next to admit. */
  readonly queue = new IndexedHeap<LegRecord, 'queuePos'>((a, b) => outranks(a.need.rank, b.need.rank), 'queuePos');
  constructor(
    readonly gatewayId: string,
    readonly table: Table,
  ) {}
}

export interface GatewayRecord {
  facts: { -readonly [K in keyof Gateway]: Gateway[K] };
  pinhole: TableRecord;
  'port-mapping': TableRecord;
  /** External ports the router reported held by someone else (718): `proto|port`. */
  routerHeld: Set<string>;
  order: number;
}

export class HomeState {
  readonly devices = new Map<string, DeviceRecord>();
  /** Identity key (`mac:…`) -> device id. */
  readonly identities = new Map<string, string>();
  /** Address -> device id that last claimed it. */
  readonly addressOwner = new Map<string, string>();
  readonly needs = new Map<string, NeedRecord>();
  readonly needsByDevice = new Map<string, NeedSet>();
  readonly needsByAddress = new Map<string, NeedSet>();
  readonly gateways = new Map<string, GatewayRecord>();
  /** `gateway|proto|externalPort` -> grant. */
  readonly ports = new Map<string, GrantRecord>();
  /** Current add/renew action key -> grant. */
  readonly grantsByKey = new Map<string, GrantRecord>();
  /** Pinhole 5-tuple (`gateway|proto|client|port|remoteHost|remotePort`) -> the grant holding it. */
  readonly pinholes = new Map<string, GrantRecord>();
  /** Pinhole 5-tuple -> legs of other needs sharing it. */
  readonly pinholeSharers = new Map<string, Set<LegRecord>>();
  /** Needs waiting for a gateway to appear. */
  readonly waitingForGateway = new Set<NeedRecord>();
  /** Devices whose port opening the owner switched off -> who switched it off (rule owner-port-opening). */
  readonly portOpeningDisabled = new Map<string, string>();
  network: NetworkFacts;
  needOrder = 0;
  /** Engine-wide generation counter: every add gets a new one, so action keys never repeat. */
  generation = 0;
  grantSerial = 0;
  grantCount = 0;
  pendingCount = 0;
  queuedCount = 0;

  constructor(network: NetworkFacts) {
    this.network = network;
  }

  static pinholeKey(gatewayId: string, protocol: Protocol, client: string, port: number, remoteHost: string, remotePort: number): string {
    return [gatewayId, protocol, client, port, remoteHost, remotePort].join('|');
  }

  static portKey(gatewayId: string, protocol: Protocol, port: number): string {
    return `${gatewayId}|${protocol}|${port}`;
  }

  /** Adds the need under `key`; returns the set it is now in (keep it to leave without a lookup). */
  register(index: Map<string, NeedSet>, key: string, need: NeedRecord): NeedSet {
    let set = index.get(key);
    if (!set) index.set(key, (set = new NeedSet(key)));
    set.add(need);
    return set;
  }

  /** Takes the need out of a set `register` returned; the set leaves its index when it empties. */
  unregister(index: Map<string, NeedSet>, set: NeedSet, need: NeedRecord): void {
    if (set.delete(need) && set.size === 0 && index.get(set.key) === set) index.delete(set.key);
  }

  deviceView(record: DeviceRecord | undefined): Device | undefined {
    return record;
  }
}

export type { ActionOp };
