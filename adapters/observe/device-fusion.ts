import { Observable, merge } from 'rxjs';
import { AddressInput, canonicalAddress } from '../../policies/model/address';
import { DeviceIdentities, identityKeys, KindEvidence } from '../../policies/model/device';
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
 * keeps its protection). The one thing forgotten is a part of an
 * `unconfirmedSources` observer that no other observer backs up, past a
 * bound ({@link DeviceFusionOptions}): made-up MACs in spoofed DHCP packets.
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
   * Called with the device id of a forgotten unconfirmed part that had been
   * emitted (the daemon tells the engine `device-left`: such a device has no
   * address, no kind and no need, so nothing it was protecting is lost).
   */
  readonly onForget?: (deviceId: string) => void;
}

export const DEFAULT_MAX_UNCONFIRMED = 1024;

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
 */
export class DeviceFusion {
  readonly #parts = new Map<string, Part>();
  /** part key -> group root part key (union-find parent). */
  readonly #parent = new Map<string, string>();
  /** group root -> its member part keys. */
  readonly #members = new Map<string, Set<string>>();
  /** identity/address key -> part keys holding it. */
  readonly #index = new Map<string, Set<string>>();
  /** part key -> its current identity/address keys. */
  readonly #keysOf = new Map<string, string[]>();
  readonly #emitted = new Map<string, string>();
  /** Unconfirmed part keys, oldest first. */
  readonly #unconfirmed = new Set<string>();
  readonly #unconfirmedSources: ReadonlySet<string>;
  readonly #maxUnconfirmed: number;
  readonly #onForget: ((deviceId: string) => void) | undefined;
  #order = 0;

  constructor(options: DeviceFusionOptions = {}) {
    this.#unconfirmedSources = new Set(options.unconfirmedSources ?? []);
    this.#maxUnconfirmed = options.maxUnconfirmed ?? DEFAULT_MAX_UNCONFIRMED;
    this.#onForget = options.onForget;
  }

  /** How many parts (one per observer and device) are held. */
  get size(): number {
    return this.#parts.size;
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
    // The older group's root stays the root: its device id is the stable one.
    const [root, child] = this.#parts.get(ra)!.order <= this.#parts.get(rb)!.order ? [ra, rb] : [rb, ra];
    this.#parent.set(child, root);
    const into = this.#members.get(root)!;
    for (const m of this.#members.get(child)!) {
      into.add(m);
      // A part that joins another source's device is confirmed.
      this.#unconfirmed.delete(m);
    }
    this.#members.delete(child);
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

  /** Forgets the oldest unconfirmed parts beyond the bound (each is alone in its group). */
  #bound(): void {
    for (const key of this.#unconfirmed) {
      if (this.#unconfirmed.size <= this.#maxUnconfirmed) break;
      this.#unconfirmed.delete(key);
      const part = this.#parts.get(key)!;
      this.#reindex(key, []);
      this.#keysOf.delete(key);
      this.#parts.delete(key);
      this.#parent.delete(key);
      this.#members.delete(key);
      if (this.#emitted.delete(key)) this.#onForget?.(part.deviceId);
    }
  }

  /** Adds one observer event; returns the fused events to emit (zero or one). */
  add(source: string, event: DeviceSeen): DeviceSeen[] {
    const key = `${source}|${event.deviceId}`;
    let part = this.#parts.get(key);
    if (!part) {
      part = { source, deviceId: event.deviceId, identities: {}, kinds: [], addresses: [], order: this.#order++ };
      this.#parts.set(key, part);
      this.#parent.set(key, key);
      this.#members.set(key, new Set([key]));
      if (this.#unconfirmedSources.has(source)) this.#unconfirmed.add(key);
    } else if (this.#unconfirmed.has(key)) {
      // Seen again: the youngest of the unconfirmed.
      this.#unconfirmed.delete(key);
      this.#unconfirmed.add(key);
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
    if (this.#members.get(root)!.size > 1) this.#unconfirmed.delete(key);
    const fused = this.#fused(root);
    const signature = JSON.stringify(fused);
    if (this.#emitted.get(root) === signature) {
      this.#bound();
      return [];
    }
    this.#emitted.set(root, signature);
    this.#bound();
    return [fused];
  }

  #fused(root: string): DeviceSeen {
    const members = [...this.#members.get(root)!].map((k) => this.#parts.get(k)!).sort((a, b) => a.order - b.order);
    const identities: Record<string, string> = {};
    const kinds: KindEvidence[] = [];
    const addresses = new Map<string, AddressInput>();
    let ipv6Only: DeviceSeen['ipv6Only'];
    for (const m of members) {
      for (const [k, v] of Object.entries(m.identities) as [string, string | undefined][]) if (v !== undefined && identities[k] === undefined) identities[k] = v;
      for (const k of m.kinds) if (!kinds.some((x) => x.kind === k.kind && x.evidence === k.evidence)) kinds.push(k);
      for (const a of m.addresses) {
        const existing = addresses.get(a.address);
        // A temporary/deprecated mark from any observer that knows it wins over a bare address.
        addresses.set(a.address, existing ? { ...a, ...existing, ...(a.temporary ? { temporary: true } : {}), ...(a.deprecated ? { deprecated: true } : {}) } : a);
      }
      if (m.ipv6Only) ipv6Only = m.ipv6Only;
    }
    return {
      type: 'device-seen',
      deviceId: this.#parts.get(root)!.deviceId,
      identities,
      kinds,
      addresses: [...addresses.values()].sort((a, b) => a.address.localeCompare(b.address)),
      ...(ipv6Only ? { ipv6Only } : {}),
    };
  }
}
