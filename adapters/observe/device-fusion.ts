import { Observable, merge } from 'rxjs';
import { AddressInput, canonicalAddress } from '../../policies/model/address';
import { DeviceIdentities, identityKeys, isIsolatedKind, KindEvidence } from '../../policies/model/device';
import type { DeviceSeen } from '../../policies/model/event';

/** One observer's events, tagged with the observer's name. */
export interface FusionSource {
  readonly name: string;
  readonly events: Observable<DeviceSeen>;
}

interface Part {
  readonly source: string;
  readonly deviceId: string;
  identities: DeviceIdentities;
  kinds: KindEvidence[];
  addresses: AddressInput[];
  ipv6Only?: DeviceSeen['ipv6Only'];
  order: number;
  /** In a protected group (see {@link DeviceFusion}): out of the unprotected LRU. */
  protected: boolean;
}

/** A part's keys: the model's identity keys, and its addresses in canonical form. */
function partKeys(identities: DeviceIdentities, addresses: readonly AddressInput[]): string[] {
  return [...identityKeys(identities), ...addresses.map(addressKey)];
}

function addressKey(a: AddressInput): string {
  return `addr:${canonicalAddress(a.address) ?? a.address.toLowerCase()}`;
}

/**
 * Joins what several observers say about the same device into one engine
 * view. Each observer names devices its own way (`mac:…` from the neighbour
 * table, `mdns:<host>` from the passive Matter watcher, `matter:<fabric>-<node>`
 * from the controller) and sees only some of its addresses, while a
 * `device-seen` replaces the engine's address list. The fusion links parts
 * that share an identity (MAC, Matter node, mDNS host) or an address, and
 * emits, for the whole group, the union of every part's latest addresses, all
 * kinds and identities, under the group's first device id (stable: a device
 * first seen as an unknown neighbour keeps its id when it is revealed as
 * Matter, so the engine re-checks its grants in that same event).
 *
 * Groups only grow: a part that joins a group is never emitted under its own
 * id again, and nothing here emits `device-left` (a device that goes quiet
 * keeps its protection). The state is bounded all the same: each source
 * holds at most its quota of parts, evicting its own parts fairly (see
 * {@link DeviceFusion}: never a configured device, never a device protected
 * before a flood); and a part of an `unconfirmedSources` observer that no
 * other observer backs up is forgotten past a bound
 * ({@link DeviceFusionOptions}): made-up MACs in spoofed DHCP packets.
 *
 * @example
 * ```ts
 * fuseDevices([
 *   { name: 'neighbours', events: watchNeighbours({ interfaceName: 'eth0' }) },
 *   { name: 'matter-mdns', events: watchMatterMdns({ transport }) },
 * ]).subscribe((event) => engineInput.next(event));
 * ```
 */
export function fuseDevices(sources: readonly FusionSource[], options: DeviceFusionOptions = {}): Observable<DeviceSeen> {
  return new Observable<DeviceSeen>((subscriber) => {
    const fusion = new DeviceFusion(options);
    const subscription = merge(...sources.map((s) => new Observable<[string, DeviceSeen]>((sub) => s.events.subscribe({
      next: (e) => sub.next([s.name, e]),
      error: (e) => sub.error(e),
      complete: () => sub.complete(),
    })))).subscribe({
      next: ([source, event]) => {
        for (const out of fusion.add(source, event)) subscriber.next(out);
      },
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => subscription.unsubscribe();
  });
}

/** Bounds on what one LAN host can make the fusion remember (see {@link DeviceFusion}). */
export interface DeviceFusionOptions {
  /**
   * Sources whose parts are second-hand claims about a MAC (the DHCP side of
   * the IPv6-mostly detector: any host can send a DHCP packet for a made-up
   * MAC). Such a part that no other source has seen (alone in its group:
   * no neighbour entry, no mDNS, no configured device) is *unconfirmed*: at
   * most {@link maxUnconfirmed} are kept, the oldest forgotten first. Default: none.
   */
  readonly unconfirmedSources?: readonly string[];
  /** Default {@link DEFAULT_MAX_UNCONFIRMED}. */
  readonly maxUnconfirmed?: number;
  /**
   * Called with the device id of a forgotten part that had been emitted: an
   * unconfirmed one (no address, no kind, no need), or a protected claim
   * nothing backs past its source's quota (see {@link DeviceFusion}). The
   * daemon tells the engine `device-left`.
   */
  readonly onForget?: (deviceId: string) => void;
  /**
   * Most parts one source may have (default {@link DEFAULT_PARTS_PER_SOURCE});
   * see {@link partQuotas} for one source's own bound. A host that rotates its
   * MAC, its addresses or its mDNS host name makes a new part each time:
   * past the quota, that source's own parts are evicted (never another
   * source's), see {@link DeviceFusion}.
   */
  readonly partsPerSource?: number;
  /** Most parts of one source in one fused device (default {@link MAX_PARTS_PER_GROUP}). */
  readonly partsPerGroup?: number;
  /** Per-source quotas that replace {@link partsPerSource} for the sources named. */
  readonly partQuotas?: Readonly<Record<string, number>>;
  /**
   * Called with the device id of a group the fusion dropped because of a
   * quota (its last part was evicted). The engine is *not* told
   * `device-left`: it keeps what it was told (a protection, a need), so a
   * flood never ends another device's grant; the caller forgets its own
   * per-device memory.
   */
  readonly onDrop?: (deviceId: string) => void;
  /**
   * Most protected claims nothing backs forgotten per second to make room
   * for new ones (default: no limit). Past it, a *new* such claim is not
   * admitted at all (not emitted): a flood of made-up Matter hosts then costs
   * the engine nothing, while after the flood new claims get in again.
   * Needs {@link now}.
   */
  readonly claimTurnoverPerSecond?: number;
  /** The clock for {@link claimTurnoverPerSecond} (ms). */
  readonly now?: () => number;
  /** Called with the device id of an emitted group that joined an older one (it is not emitted again: forget it). */
  readonly onMerge?: (deviceId: string) => void;
}

export const DEFAULT_MAX_UNCONFIRMED = 1024;
/** Parts one source may hold unless {@link DeviceFusionOptions.partQuotas} says otherwise. */
export const DEFAULT_PARTS_PER_SOURCE = 2048;
/**
 * Parts of one source in one fused device, at most: a real device has one
 * MAC (a few with Wi-Fi MAC randomisation over time) and one or two mDNS
 * host names; each event costs a pass over its group, so this also bounds
 * what a spoofer joining a device's group makes every event cost.
 */
export const MAX_PARTS_PER_GROUP = 32;
/** What a group keeps of its evicted parts: at most this many kind evidences (one per kind always) and addresses. */
export const MAX_RESIDUE_KINDS = 16;
export const MAX_RESIDUE_ADDRESSES = 16;

/** Tallies of the bounds at work. */
export interface DeviceFusionStats {
  /** Parts evicted past a source quota. */
  evicted: number;
  /** ...of which were in a protected group (the newest such part of the source goes first). */
  evictedProtected: number;
  /** Groups dropped (their last part evicted). */
  dropped: number;
  /** Unconfirmed parts forgotten. */
  forgotten: number;
  /** Times a source stayed over its quota because every part of it was pinned (configured). */
  overQuota: number;
  /** Protected claims nothing backs (alone in their device), forgotten oldest first past a quota (the engine is told `device-left`). */
  forgottenClaims: number;
  /** New claims nothing backs not admitted: the source was full and the claim turnover of this second spent. */
  refusedClaims: number;
}

interface Group {
  readonly deviceId: string;
  readonly order: number;
  readonly members: Set<string>;
  /** Engine-protected (an isolated kind) or configured: only ever turns true. */
  protected: boolean;
  /** Kinds, identities, addresses and the IPv6-only mark of evicted parts: a group never loses a kind to a quota. */
  residueKinds: KindEvidence[];
  residueIdentities: Record<string, string>;
  residueAddresses: AddressInput[];
  residueIpv6Only?: DeviceSeen['ipv6Only'];
}

/** A part's kinds make it a configured device (`config:…` evidence): never evicted. */
function isConfigured(kinds: readonly KindEvidence[]): boolean {
  return kinds.some((k) => k.evidence.startsWith('config:'));
}

function isProtecting(kinds: readonly KindEvidence[]): boolean {
  return isIsolatedKind(kinds) !== undefined || isConfigured(kinds);
}

/**
 * The synchronous core of {@link fuseDevices}, usable on its own (tests, replays).
 *
 * Nothing one observer says removes what another said: kinds and identities
 * accumulate over the group, addresses are the union of every part's latest
 * list, and a part's own event can only change that part. So an mDNS goodbye
 * (or a DHCP packet) about host X never takes the Matter kind, or an address,
 * away from a device Y another observer reported.
 *
 * Parts are found by an index of their keys (identities and addresses), so
 * one event costs what it shares, not the number of parts.
 *
 * **Bounded against MAC-rotating hosts.** Each source (neighbours, mDNS,
 * DHCP, the directory) holds at most its quota of parts. Past it, one of
 * *that source's* parts is evicted — a flood of neighbour entries never
 * evicts an mDNS record or a configured device — chosen fairly:
 * 1. the least recently updated part of an unprotected group (no isolated
 *    kind, not configured): a host rotating MACs evicts its own old MACs
 *    first, as they are the ones that stop being updated;
 * 2. then the oldest protected *claim nothing backs*: a part alone in its
 *    device (no neighbour entry, no configuration, no other observer), e.g.
 *    one of an mDNS flood's made-up Matter hosts. It is forgotten and the
 *    engine is told `device-left` ({@link DeviceFusionOptions.onForget}), so
 *    the engine's device list does not grow with the flood either; at most
 *    `claimTurnoverPerSecond` such claims a second are replaced, the rest of
 *    a flood is not admitted at all (so it costs the engine nothing). A real
 *    Matter device is such a claim only until its neighbour entry links it
 *    (the gateway nudges every address a Matter host advertises, so the
 *    kernel resolves it within a round trip); from then on it is backed;
 * 3. then, when every part of the source is in a backed protected group,
 *    the part that *became* protected last: a device protected before a
 *    flood is never evicted by it;
 * 4. a configured device's own part is pinned: never evicted.
 * One fused device holds at most {@link MAX_PARTS_PER_GROUP} parts of one
 * source (the newest beyond go): a host spoofing another device's address
 * with rotating MACs cannot make that device's every event cost more.
 * An evicted part's kinds, identities, IPv6-only mark and (a few) addresses
 * stay with its group as a residue, so eviction never lifts a protection.
 * A group whose last part goes is dropped from the fusion only: the engine
 * is not told `device-left` ({@link DeviceFusionOptions.onDrop}).
 *
 * @example
 * ```ts
 * const fusion = new DeviceFusion({ partQuotas: { neighbours: 4096, 'matter-mdns': 1024 } });
 * fusion.add('neighbours', { type: 'device-seen', deviceId: 'mac:02:00:00:00:00:10', identities: { mac: '02:00:00:00:00:10' }, addresses: [{ address: '192.168.77.10' }] });
 * fusion.partsOf('neighbours'); // 1
 * ```
 */
export class DeviceFusion {
  readonly #parts = new Map<string, Part>();
  /** part key -> group root part key (union-find parent). */
  readonly #parent = new Map<string, string>();
  /** group root -> the group. */
  readonly #groups = new Map<string, Group>();
  /** identity/address key -> part keys holding it. */
  readonly #index = new Map<string, Set<string>>();
  /** part key -> its current identity/address keys. */
  readonly #keysOf = new Map<string, string[]>();
  readonly #emitted = new Map<string, string>();
  /** Unconfirmed part keys, oldest first. */
  readonly #unconfirmed = new Set<string>();
  /** source -> its parts in unprotected groups, least recently updated first. */
  readonly #unprotected = new Map<string, Set<string>>();
  /** source -> its parts in protected groups, in the order they became protected (newest last; lazily cleaned). */
  readonly #protected = new Map<string, [string, Part][]>();
  /** source -> its protected parts that are alone in their device and not configured (claims nothing backs), oldest first. */
  readonly #unbacked = new Map<string, Set<string>>();
  /** source -> how many parts it holds. */
  readonly #count = new Map<string, number>();
  readonly #unconfirmedSources: ReadonlySet<string>;
  readonly #maxUnconfirmed: number;
  readonly #onForget: ((deviceId: string) => void) | undefined;
  readonly #onDrop: ((deviceId: string) => void) | undefined;
  readonly #onMerge: ((deviceId: string) => void) | undefined;
  readonly #partsPerSource: number;
  readonly #quotas: Readonly<Record<string, number>>;
  readonly #partsPerGroup: number;
  readonly #claimTurnover: number;
  readonly #now: (() => number) | undefined;
  #turnoverWindow = { start: -Infinity, count: 0 };
  #order = 0;
  readonly stats: DeviceFusionStats = { evicted: 0, evictedProtected: 0, dropped: 0, forgotten: 0, overQuota: 0, forgottenClaims: 0, refusedClaims: 0 };

  constructor(options: DeviceFusionOptions = {}) {
    this.#unconfirmedSources = new Set(options.unconfirmedSources ?? []);
    this.#maxUnconfirmed = options.maxUnconfirmed ?? DEFAULT_MAX_UNCONFIRMED;
    this.#onForget = options.onForget;
    this.#onDrop = options.onDrop;
    this.#onMerge = options.onMerge;
    this.#partsPerSource = options.partsPerSource ?? DEFAULT_PARTS_PER_SOURCE;
    this.#quotas = options.partQuotas ?? {};
    this.#partsPerGroup = options.partsPerGroup ?? MAX_PARTS_PER_GROUP;
    this.#claimTurnover = options.claimTurnoverPerSecond ?? Infinity;
    this.#now = options.now;
    if (options.claimTurnoverPerSecond !== undefined && !options.now) throw new RangeError('device fusion: claimTurnoverPerSecond needs a clock (now)');
    for (const [name, q] of [['partsPerSource', this.#partsPerSource], ['partsPerGroup', this.#partsPerGroup], ...Object.entries(this.#quotas)] as [string, number][]) {
      if (!Number.isInteger(q) || q < 1) throw new RangeError(`device fusion quota ${name} must be a positive integer, got ${String(q)}`);
    }
  }

  /** How many parts (one per observer and device) are held. */
  get size(): number {
    return this.#parts.size;
  }

  /**
   * Entries of every internal structure (parts, union-find nodes, groups, key
   * index, emitted signatures, eviction orders): what the caps bound, for
   * tests and diagnostics.
   */
  footprint(): Record<string, number> {
    let lru = 0;
    for (const set of this.#unprotected.values()) lru += set.size;
    let stacks = 0;
    for (const stack of this.#protected.values()) stacks += stack.length;
    let unbacked = 0;
    for (const set of this.#unbacked.values()) unbacked += set.size;
    return { unbacked, parts: this.#parts.size, nodes: this.#parent.size, groups: this.#groups.size, index: this.#index.size, keysOf: this.#keysOf.size, emitted: this.#emitted.size, unconfirmed: this.#unconfirmed.size, lru, stacks };
  }

  /** How many fused devices (groups) are held. */
  get groups(): number {
    return this.#groups.size;
  }

  /** How many parts one source holds. */
  partsOf(source: string): number {
    return this.#count.get(source) ?? 0;
  }

  /** The device id a part (source and the observer's device id) is fused under, if it is held. */
  deviceOf(source: string, deviceId: string): string | undefined {
    const key = `${source}|${deviceId}`;
    return this.#parts.has(key) ? this.#groups.get(this.#find(key))!.deviceId : undefined;
  }

  /** Whether the part's group is protected (an isolated kind or a configured device); false for a part not held. */
  isProtected(source: string, deviceId: string): boolean {
    return this.#parts.get(`${source}|${deviceId}`)?.protected ?? false;
  }

  /** The fused device a part belongs to, as it would be emitted now (undefined for a part not held). */
  viewOf(source: string, deviceId: string): DeviceSeen | undefined {
    const key = `${source}|${deviceId}`;
    return this.#parts.has(key) ? this.#fused(this.#find(key)) : undefined;
  }

  #quotaOf(source: string): number {
    return this.#quotas[source] ?? this.#partsPerSource;
  }

  #find(key: string): string {
    let root = key;
    while (this.#parent.get(root) !== root) root = this.#parent.get(root)!;
    let node = key;
    while (node !== root) {
      const next = this.#parent.get(node)!;
      this.#parent.set(node, root);
      node = next;
    }
    return root;
  }

  #union(a: string, b: string): void {
    const ra = this.#find(a);
    const rb = this.#find(b);
    if (ra === rb) return;
    const ga = this.#groups.get(ra)!;
    const gb = this.#groups.get(rb)!;
    // The older group's root stays the root: its device id is the stable one.
    const [root, child, into, from] = ga.order <= gb.order ? [ra, rb, ga, gb] : [rb, ra, gb, ga];
    this.#parent.set(child, root);
    for (const m of into.members) this.#unbacked.get(this.#parts.get(m)!.source)?.delete(m);
    for (const m of from.members) {
      this.#unbacked.get(this.#parts.get(m)!.source)?.delete(m);
      into.members.add(m);
      // A part that joins another source's device is confirmed.
      this.#unconfirmed.delete(m);
    }
    into.residueKinds = mergeKinds(into.residueKinds, from.residueKinds);
    for (const [k, v] of Object.entries(from.residueIdentities)) if (into.residueIdentities[k] === undefined) into.residueIdentities[k] = v;
    into.residueAddresses = mergeAddresses(into.residueAddresses, from.residueAddresses);
    into.residueIpv6Only ??= from.residueIpv6Only;
    const wasProtected = into.protected;
    into.protected ||= from.protected;
    if (into.protected && !wasProtected) this.#markProtected(into.members);
    else if (into.protected && !from.protected) this.#markProtected(from.members);
    this.#groups.delete(child);
    // The absorbed group's id is not emitted again.
    if (this.#emitted.delete(child)) this.#onMerge?.(from.deviceId);
  }

  /** Moves parts of a group that just became protected out of the unprotected LRU. */
  #markProtected(members: Iterable<string>): void {
    for (const m of members) {
      const part = this.#parts.get(m)!;
      if (part.protected) continue;
      part.protected = true;
      this.#unprotected.get(part.source)?.delete(m);
      if (isConfigured(part.kinds)) continue; // pinned
      let stack = this.#protected.get(part.source);
      if (!stack) this.#protected.set(part.source, (stack = []));
      stack.push([m, part]);
      // Entries of parts removed since (a per-device bound, a refusal) are dropped once they could outnumber the live ones.
      if (stack.length > 2 * (this.#count.get(part.source) ?? 0) + 64) {
        stack = stack.filter(([k, p]) => this.#parts.get(k) === p);
        this.#protected.set(part.source, stack);
      }
    }
  }

  #reindex(key: string, keys: readonly string[]): void {
    for (const k of this.#keysOf.get(key) ?? []) {
      const set = this.#index.get(k);
      if (!set) continue;
      set.delete(key);
      if (set.size === 0) this.#index.delete(k);
    }
    this.#keysOf.set(key, [...keys]);
    for (const k of keys) {
      let set = this.#index.get(k);
      if (!set) this.#index.set(k, (set = new Set()));
      set.add(key);
    }
  }

  /**
   * Removes one part. Its group keeps the part's kinds, identities, IPv6-only
   * mark and addresses as a residue; a group left empty is dropped.
   * Returns the dropped group's device id, if any, and whether it had been emitted.
   */
  #remove(key: string): { deviceId: string; emitted: boolean } | undefined {
    const part = this.#parts.get(key)!;
    const root = this.#find(key);
    const group = this.#groups.get(root)!;
    this.#reindex(key, []);
    this.#keysOf.delete(key);
    this.#parts.delete(key);
    this.#unconfirmed.delete(key);
    this.#unprotected.get(part.source)?.delete(key);
    this.#unbacked.get(part.source)?.delete(key);
    this.#count.set(part.source, (this.#count.get(part.source) ?? 1) - 1);
    group.members.delete(key);
    // Every member points at the root directly, so the part's node can go.
    for (const m of group.members) this.#parent.set(m, root);
    this.#parent.delete(key);
    if (group.members.size === 0) {
      this.#groups.delete(root);
      const emitted = this.#emitted.delete(root);
      return { deviceId: group.deviceId, emitted };
    }
    group.residueKinds = mergeKinds(group.residueKinds, part.kinds);
    for (const [k, v] of Object.entries(part.identities) as [string, string | undefined][]) if (v !== undefined && group.residueIdentities[k] === undefined) group.residueIdentities[k] = v;
    group.residueAddresses = mergeAddresses(group.residueAddresses, part.addresses);
    if (part.ipv6Only) group.residueIpv6Only = part.ipv6Only;
    if (root === key) {
      // The root part went: another member carries the group (same device id).
      const next = group.members.values().next().value as string;
      for (const m of group.members) this.#parent.set(m, next);
      this.#groups.delete(root);
      this.#groups.set(next, group);
      const emitted = this.#emitted.get(root);
      this.#emitted.delete(root);
      if (emitted !== undefined) this.#emitted.set(next, emitted);
    }
    return undefined;
  }

  /** Forgets the oldest unconfirmed parts beyond the bound (each is alone in its group). */
  #boundUnconfirmed(): void {
    for (const key of this.#unconfirmed) {
      if (this.#unconfirmed.size <= this.#maxUnconfirmed) break;
      const dropped = this.#remove(key);
      this.stats.forgotten++;
      if (dropped?.emitted) this.#onForget?.(dropped.deviceId);
    }
  }

  /**
   * A group holds at most {@link MAX_PARTS_PER_GROUP} parts of one source
   * (a host answering ARP/ND for another device's address with rotating
   * MACs joins that device's group): past it, the newest of them goes
   * (never a configured part), leaving its kinds and addresses as residue.
   */
  #boundGroup(root: string, source: string): string {
    const group = this.#groups.get(root)!;
    if (group.members.size <= this.#partsPerGroup) return root;
    const mine = [...group.members].map((k) => [k, this.#parts.get(k)!] as const).filter(([, p]) => p.source === source && !isConfigured(p.kinds));
    if (mine.length <= this.#partsPerGroup) return root;
    mine.sort(([, a], [, b]) => b.order - a.order);
    for (const [key, part] of mine.slice(0, mine.length - this.#partsPerGroup)) {
      this.stats.evicted++;
      if (part.protected) this.stats.evictedProtected++;
      this.#remove(key);
    }
    // Never empty: the oldest parts of this source stay.
    return this.#find(group.members.values().next().value as string);
  }

  /** One claim forgotten to make room, if this second's turnover allows it. */
  #takeTurnover(): boolean {
    if (this.#claimTurnover === Infinity || !this.#now) return true;
    const now = this.#now();
    if (now - this.#turnoverWindow.start >= 1000) this.#turnoverWindow = { start: now, count: 0 };
    if (this.#turnoverWindow.count >= this.#claimTurnover) return false;
    this.#turnoverWindow.count++;
    return true;
  }

  /** Evicts parts of `source` past its quota (see the class comment for the order). */
  #boundSource(source: string): void {
    const quota = this.#quotaOf(source);
    while ((this.#count.get(source) ?? 0) > quota) {
      let victim: string | undefined = this.#unprotected.get(source)?.values().next().value;
      const claim: string | undefined = victim === undefined ? this.#unbacked.get(source)?.values().next().value : undefined;
      if (claim !== undefined) {
        // The oldest protected claim nothing backs: forgotten, engine included.
        this.stats.evicted++;
        this.stats.evictedProtected++;
        this.stats.forgottenClaims++;
        const dropped = this.#remove(claim);
        if (dropped?.emitted) this.#onForget?.(dropped.deviceId);
        continue;
      }
      if (victim === undefined) {
        const stack = this.#protected.get(source) ?? [];
        while (stack.length > 0) {
          const [candidate, part] = stack.pop()!;
          if (this.#parts.get(candidate) === part) {
            victim = candidate;
            break;
          }
        }
        if (victim === undefined) {
          this.stats.overQuota++;
          return;
        }
        this.stats.evictedProtected++;
      }
      this.stats.evicted++;
      const dropped = this.#remove(victim);
      if (dropped) {
        this.stats.dropped++;
        if (dropped.emitted) this.#onDrop?.(dropped.deviceId);
      }
    }
  }

  /** Adds one observer event; returns the fused events to emit (zero or one). */
  add(source: string, event: DeviceSeen): DeviceSeen[] {
    const key = `${source}|${event.deviceId}`;
    let part = this.#parts.get(key);
    const isNew = part === undefined;
    if (!part) {
      part = { source, deviceId: event.deviceId, identities: {}, kinds: [], addresses: [], order: this.#order++, protected: false };
      this.#parts.set(key, part);
      this.#parent.set(key, key);
      this.#groups.set(key, { deviceId: event.deviceId, order: part.order, members: new Set([key]), protected: false, residueKinds: [], residueIdentities: {}, residueAddresses: [] });
      this.#count.set(source, (this.#count.get(source) ?? 0) + 1);
      let lru = this.#unprotected.get(source);
      if (!lru) this.#unprotected.set(source, (lru = new Set()));
      lru.add(key);
      if (this.#unconfirmedSources.has(source)) this.#unconfirmed.add(key);
    } else {
      if (this.#unconfirmed.has(key)) {
        // Seen again: the youngest of the unconfirmed.
        this.#unconfirmed.delete(key);
        this.#unconfirmed.add(key);
      }
      const lru = this.#unprotected.get(source);
      if (lru?.delete(key)) lru.add(key); // recently updated
    }
    if (event.identities) part.identities = { ...part.identities, ...event.identities };
    for (const k of event.kinds ?? []) if (!part.kinds.some((x) => x.kind === k.kind && x.evidence === k.evidence)) part.kinds.push(k);
    if (event.addresses) part.addresses = event.addresses.map((a) => ({ ...a }));
    if (event.ipv6Only !== undefined) {
      if (event.ipv6Only === null) delete part.ipv6Only;
      else part.ipv6Only = event.ipv6Only;
    }
    // Link to every part that shares an identity key or an address.
    const keys = [...new Set(partKeys(part.identities, part.addresses))];
    this.#reindex(key, keys);
    for (const k of keys) for (const other of this.#index.get(k)!) if (other !== key) this.#union(key, other);
    const root = this.#find(key);
    const group = this.#groups.get(root)!;
    if (group.members.size > 1) this.#unconfirmed.delete(key);
    if (!group.protected && isProtecting(part.kinds)) {
      group.protected = true;
      this.#markProtected(group.members);
    } else if (group.protected && !part.protected) {
      this.#markProtected([key]);
    }
    if (isNew && group.members.size === 1 && group.protected && !isConfigured(part.kinds) && (this.#count.get(source) ?? 0) > this.#quotaOf(source) && (this.#unprotected.get(source)?.size ?? 0) === 0 && !this.#takeTurnover()) {
      // A new claim nothing backs, its source full, this second's turnover spent: not admitted, not emitted.
      this.#remove(key);
      this.stats.refusedClaims++;
      return [];
    }
    if (group.members.size === 1 && group.protected && !isConfigured(part.kinds)) {
      if (!this.#unbacked.get(source)?.has(key)) {
        let set = this.#unbacked.get(source);
        if (!set) this.#unbacked.set(source, (set = new Set()));
        set.add(key);
      }
    }
    // (The bound may evict this very part, or the root: the group lives on in a surviving member.)
    const rootNow = this.#boundGroup(root, source);
    const fused = this.#fused(rootNow);
    const signature = JSON.stringify(fused);
    const out: DeviceSeen[] = [];
    if (this.#emitted.get(rootNow) !== signature) {
      this.#emitted.set(rootNow, signature);
      out.push(fused);
    }
    this.#boundUnconfirmed();
    // An eviction changes nothing the engine was told: a dropped part's kinds and addresses stay in its group's residue.
    this.#boundSource(source);
    return out;
  }

  #fused(root: string): DeviceSeen {
    const group = this.#groups.get(root)!;
    const members = [...group.members].map((k) => this.#parts.get(k)!).sort((a, b) => a.order - b.order);
    const identities: Record<string, string> = {};
    const kinds: KindEvidence[] = [];
    const addresses = new Map<string, AddressInput>();
    let ipv6Only: DeviceSeen['ipv6Only'];
    const fold = (ids: Readonly<Record<string, string | undefined>>, ks: readonly KindEvidence[], as: readonly AddressInput[]) => {
      for (const [k, v] of Object.entries(ids)) if (v !== undefined && identities[k] === undefined) identities[k] = v;
      for (const k of ks) if (!kinds.some((x) => x.kind === k.kind && x.evidence === k.evidence)) kinds.push(k);
      for (const a of as) {
        const existing = addresses.get(a.address);
        // A temporary/deprecated mark from any observer that knows it wins over a bare address.
        addresses.set(a.address, existing ? { ...a, ...existing, ...(a.temporary ? { temporary: true } : {}), ...(a.deprecated ? { deprecated: true } : {}) } : a);
      }
    };
    for (const m of members) {
      fold(m.identities as Record<string, string | undefined>, m.kinds, m.addresses);
      if (m.ipv6Only) ipv6Only = m.ipv6Only;
    }
    fold(group.residueIdentities, group.residueKinds, group.residueAddresses);
    ipv6Only ??= group.residueIpv6Only;
    return {
      type: 'device-seen',
      deviceId: group.deviceId,
      identities,
      kinds,
      addresses: [...addresses.values()].sort((a, b) => a.address.localeCompare(b.address)),
      ...(ipv6Only ? { ipv6Only } : {}),
    };
  }
}

/** Kind evidences of both, deduplicated; past {@link MAX_RESIDUE_KINDS}, only a kind not yet present is added. */
function mergeKinds(into: readonly KindEvidence[], more: readonly KindEvidence[]): KindEvidence[] {
  const out = [...into];
  for (const k of more) {
    if (out.some((x) => x.kind === k.kind && x.evidence === k.evidence)) continue;
    if (out.length >= MAX_RESIDUE_KINDS && out.some((x) => x.kind === k.kind)) continue;
    out.push(k);
  }
  return out;
}

/** Addresses of both, deduplicated, the most recent {@link MAX_RESIDUE_ADDRESSES} kept. */
function mergeAddresses(into: readonly AddressInput[], more: readonly AddressInput[]): AddressInput[] {
  const byAddress = new Map<string, AddressInput>();
  for (const a of [...into, ...more]) {
    byAddress.delete(a.address);
    byAddress.set(a.address, a);
  }
  return [...byAddress.values()].slice(-MAX_RESIDUE_ADDRESSES);
}
