/**
 * The LAN devices as the gateway knows them: the ones the configuration names
 * (a Matter plug by its MAC or addresses), and every host the kernel's
 * neighbour table shows. A neighbour whose MAC a configured device has takes
 * that device's id and kind, so a Matter plug asking from a fresh RFC 8981
 * temporary address is still the Matter plug.
 *
 * Every change is submitted to the engine as a `device-seen` event; owner
 * allows from the configuration as `owner-allow` events.
 *
 * @example
 * ```ts
 * const directory = new DeviceDirectory({ submit: (e) => engine.submit(e), known: config.devices.known,
 *   allow: config.devices.allow, readNeighbours: async () => parseIpNeighJson(await ipNeighJson()) });
 * directory.seed();
 * const deviceId = await directory.resolve('2001:db8:77::20'); // 'plug' (or 'host:2001:db8:77::20')
 * ```
 */
import type { Neighbour } from '../../adapters/observe/neighbour-table';
import { canonicalAddress } from '../../policies/model/address';
import { DeviceSeen, PolicyEvent } from '../../policies/model/event';
import { ConfiguredDevice } from './gateway-config';

export interface DeviceDirectoryOptions {
  readonly submit: (event: PolicyEvent) => unknown;
  readonly known: readonly ConfiguredDevice[];
  readonly allow: readonly string[];
  /** Reads the neighbour table now (absent: requesters are only known by address). */
  readonly readNeighbours?: () => Promise<Neighbour[]>;
  readonly now?: () => number;
  /** An address not found is looked up again at most this often (default 1000 ms). */
  readonly missRetryMs?: number;
  /**
   * Whether a learned device is one the engine protects (e.g. the fusion
   * linked it to a Matter device: `LanObservation.isProtected('directory', id)`):
   * its lookups are kept while unprotected ones can go instead.
   */
  readonly isProtected?: (deviceId: string) => boolean;
}

interface Entry {
  readonly id: string;
  readonly configured?: ConfiguredDevice;
  mac?: string;
  addresses: Set<string>;
  signature: string;
}

/** Learned (not configured) devices the directory keeps lookups for, at most; the least recently seen are forgotten first. */
export const MAX_LEARNED_DEVICES = 4096;
/** How many of the least recently seen learned devices an eviction looks at for one that is not protected. */
export const EVICTION_SCAN = 64;

export class DeviceDirectory {
  private readonly byId = new Map<string, Entry>();
  private readonly byAddress = new Map<string, string>();
  private readonly byMac = new Map<string, string>();
  private readonly misses = new Map<string, number>();
  /** Entries learned from the neighbour table and observers (not configured). */
  private learned = 0;
  private reading?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: DeviceDirectoryOptions) {
    this.now = options.now ?? Date.now;
    for (const dev of options.known) {
      const entry: Entry = { id: dev.id, configured: dev, addresses: new Set(dev.addresses), signature: '' };
      if (dev.mac) {
        entry.mac = dev.mac;
        this.byMac.set(dev.mac, dev.id);
      }
      this.byId.set(dev.id, entry);
      for (const a of dev.addresses) this.byAddress.set(a, dev.id);
    }
  }

  /** Submits the configured devices and the owner's allows. */
  seed(): void {
    for (const entry of this.byId.values()) this.publish(entry);
    for (const id of this.options.allow) this.options.submit({ type: 'owner-allow', deviceId: id, allowed: true });
  }

  /** The device holding `address`, if known. */
  deviceOf(address: string): string | undefined {
    const canonical = canonicalAddress(address) ?? address;
    return this.byAddress.get(canonical);
  }

  /**
   * The device id for a requester: the known device, or after one read of the
   * neighbour table, or `host:<address>` for a host nobody knows.
   */
  async resolve(address: string): Promise<string> {
    const canonical = canonicalAddress(address) ?? address;
    const known = this.byAddress.get(canonical);
    if (known) return known;
    const missedAt = this.misses.get(canonical);
    if (this.options.readNeighbours && (missedAt === undefined || this.now() - missedAt >= (this.options.missRetryMs ?? 1000))) {
      await this.refresh();
      const found = this.byAddress.get(canonical);
      if (found) return found;
      if (this.misses.size > 4096) this.misses.clear();
      this.misses.set(canonical, this.now());
    }
    return `host:${canonical}`;
  }

  /** Reads the neighbour table once (concurrent callers share the read). */
  refresh(): Promise<void> {
    if (!this.options.readNeighbours) return Promise.resolve();
    this.reading ??= this.options
      .readNeighbours()
      .then((list) => this.neighbours(list))
      .catch(() => undefined)
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  /** Folds a neighbour-table snapshot in (all entries, grouped by MAC). */
  neighbours(list: readonly Neighbour[]): void {
    const byMac = new Map<string, string[]>();
    for (const n of list) byMac.set(n.mac, [...(byMac.get(n.mac) ?? []), n.address]);
    for (const [mac, addresses] of byMac) this.observe({ type: 'device-seen', deviceId: `mac:${mac}`, identities: { mac }, addresses: addresses.map((address) => ({ address })) });
  }

  /**
   * Folds in a `device-seen` from an observer. One whose MAC a configured
   * device has is renamed to that device (keeping the configured addresses
   * and kind); the event is submitted when it changes what the engine knows.
   */
  observe(event: DeviceSeen): void {
    const mac = event.identities?.mac?.toLowerCase();
    const id = (mac && this.byMac.get(mac)) ?? event.deviceId;
    let entry = this.byId.get(id);
    if (entry && !entry.configured) {
      // Seen again: the most recently seen (a host rotating MACs pushes out its own old MACs, not a device that is still there).
      this.byId.delete(id);
      this.byId.set(id, entry);
    }
    if (!entry) {
      entry = { id, addresses: new Set(), signature: '' };
      if (mac) {
        entry.mac = mac;
        this.byMac.set(mac, id);
      }
      this.byId.set(id, entry);
      if (++this.learned > MAX_LEARNED_DEVICES) this.forgetOldestLearned();
    }
    const seen = (event.addresses ?? []).map((a) => canonicalAddress(a.address)).filter((a): a is string => a !== undefined);
    const next = new Set([...(entry.configured?.addresses ?? []), ...seen]);
    for (const old of entry.addresses) if (!next.has(old) && this.byAddress.get(old) === id) this.byAddress.delete(old);
    entry.addresses = next;
    for (const a of next) {
      this.byAddress.set(a, id);
      this.misses.delete(a);
    }
    this.publish(entry, event);
  }

  /**
   * Forgets the least recently seen learned (not configured) entry that is
   * not protected (among the {@link EVICTION_SCAN} least recently seen; if
   * all of those are, the least recently seen of them): its address and MAC
   * lookups only. The engine and the fusion keep the device (and any
   * protection it has); a later request from it reads the neighbours again.
   */
  private forgetOldestLearned(): void {
    let fallback: Entry | undefined;
    let looked = 0;
    let victim: Entry | undefined;
    for (const entry of this.byId.values()) {
      if (entry.configured) continue;
      fallback ??= entry;
      if (!this.options.isProtected?.(entry.id)) {
        victim = entry;
        break;
      }
      if (++looked >= EVICTION_SCAN) break;
    }
    victim ??= fallback;
    if (!victim) return;
    this.byId.delete(victim.id);
    for (const a of victim.addresses) if (this.byAddress.get(a) === victim.id) this.byAddress.delete(a);
    if (victim.mac && this.byMac.get(victim.mac) === victim.id) this.byMac.delete(victim.mac);
    this.learned--;
  }

  private publish(entry: Entry, from?: DeviceSeen): void {
    const kinds = entry.configured ? [{ kind: entry.configured.kind, evidence: 'config:devices.known' }] : (from?.kinds ?? []);
    const identities = entry.mac ? { ...(from?.identities ?? {}), mac: entry.mac } : from?.identities;
    const event: DeviceSeen = {
      type: 'device-seen',
      deviceId: entry.id,
      ...(identities ? { identities } : {}),
      kinds: [...kinds],
      addresses: [...entry.addresses].sort().map((address) => ({ address })),
    };
    const signature = JSON.stringify(event);
    if (signature === entry.signature) return;
    entry.signature = signature;
    this.options.submit(event);
  }
}
