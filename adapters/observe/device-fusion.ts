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
 * keeps its protection).
 *
 * @example
 * ```ts
 * fuseDevices([
 *   { name: 'neighbours', events: watchNeighbours({ interfaceName: 'eth0' }) },
 *   { name: 'matter-mdns', events: watchMatterMdns({ transport }) },
 * ]).subscribe((event) => engineInput.next(event));
 * ```
 */
export function fuseDevices(sources: readonly FusionSource[]): Observable<DeviceSeen> {
  return new Observable<DeviceSeen>((subscriber) => {
    const fusion = new DeviceFusion();
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

/** The synchronous core of {@link fuseDevices}, usable on its own (tests, replays). */
export class DeviceFusion {
  readonly #parts = new Map<string, Part>();
  /** part key -> group root part key (union-find parent). */
  readonly #parent = new Map<string, string>();
  readonly #emitted = new Map<string, string>();
  #order = 0;

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
    if (this.#parts.get(ra)!.order <= this.#parts.get(rb)!.order) this.#parent.set(rb, ra);
    else this.#parent.set(ra, rb);
  }

  /** Adds one observer event; returns the fused events to emit (zero or one). */
  add(source: string, event: DeviceSeen): DeviceSeen[] {
    const key = `${source}|${event.deviceId}`;
    let part = this.#parts.get(key);
    if (!part) {
      part = { source, deviceId: event.deviceId, identities: {}, kinds: [], addresses: [], order: this.#order++ };
      this.#parts.set(key, part);
      this.#parent.set(key, key);
    }
    if (event.identities) part.identities = { ...part.identities, ...event.identities };
    for (const k of event.kinds ?? []) if (!part.kinds.some((x) => x.kind === k.kind && x.evidence === k.evidence)) part.kinds.push(k);
    if (event.addresses) part.addresses = event.addresses.map((a) => ({ ...a }));
    if (event.ipv6Only !== undefined) {
      if (event.ipv6Only === null) delete part.ipv6Only;
      else part.ipv6Only = event.ipv6Only;
    }
    // Link to every part that shares an identity key or an address.
    const keys = new Set(partKeys(part.identities, part.addresses));
    for (const [otherKey, other] of this.#parts) {
      if (otherKey === key) continue;
      const shared = partKeys(other.identities, other.addresses).some((k) => keys.has(k));
      if (shared) this.#union(key, otherKey);
    }
    const root = this.#find(key);
    const fused = this.#fused(root);
    const signature = JSON.stringify(fused);
    if (this.#emitted.get(root) === signature) return [];
    this.#emitted.set(root, signature);
    return [fused];
  }

  #fused(root: string): DeviceSeen {
    const members = [...this.#parts.entries()].filter(([k]) => this.#find(k) === root).map(([, p]) => p).sort((a, b) => a.order - b.order);
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
