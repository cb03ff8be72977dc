/**
 * The device inventory: applies device observations to the indexed state
 * (devices by id, by identity, by address) and tells which needs they affect.
 */
import { AddressInput, DeviceAddress, toDeviceAddress } from './model/address';
import { parseAddress } from './model/address-parse';
import { identityKeys } from './model/device';
import { DeviceSeen } from './model/event';
import { DeviceRecord, HomeState, NeedRecord } from './state';

function sameAddresses(a: readonly DeviceAddress[], b: readonly DeviceAddress[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.address !== y.address || x.deprecated !== y.deprecated || x.stable !== y.stable || x.scope !== y.scope) return false;
  }
  return true;
}

/**
 * True when `inputs` would turn into exactly `old` (what {@link sameAddresses}
 * would say about the list `toDeviceAddress` builds from them, invalid
 * literals dropped, repeats kept once), without building that list: a
 * device seen again with the same addresses is the common case.
 */
function unchangedAddresses(old: readonly DeviceAddress[], inputs: readonly AddressInput[]): boolean {
  let j = 0;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    const parsed = parseAddress(input.address);
    if (parsed === undefined) continue;
    const address = parsed.address;
    // Listed before: toDeviceAddress's list would keep only the first one.
    let repeated = false;
    for (let k = 0; k < j; k++) {
      if (old[k].address === address) {
        repeated = true;
        break;
      }
    }
    if (repeated) continue;
    if (j >= old.length) return false;
    const x = old[j];
    if (x.address !== address || x.deprecated !== (input.deprecated === true) || x.stable !== (input.temporary !== true) || x.scope !== (input.scope ?? parsed.scope)) {
      return false;
    }
    j++;
  }
  return j === old.length;
}

const NO_NEEDS: readonly NeedRecord[] = Object.freeze([]);
const NO_KEYS: readonly string[] = Object.freeze([]);

export class Inventory {
  constructor(private readonly home: HomeState) {}

  /** The device id an observation refers to: a known identity wins over a new id. */
  resolve(deviceId: string, keys: readonly string[]): string {
    if (this.home.devices.has(deviceId)) return deviceId;
    for (const key of keys) {
      const known = this.home.identities.get(key);
      if (known !== undefined) return known;
    }
    return deviceId;
  }

  /**
   * Applies a `device-seen`. Returns the needs to re-settle (requested by the
   * device, or targeting any of its old or new addresses), or an empty list
   * when nothing that matters to a rule changed.
   */
  seen(ev: DeviceSeen, now: number): readonly NeedRecord[] {
    const home = this.home;
    const keys = ev.identities ? identityKeys(ev.identities) : NO_KEYS;
    let rec = home.devices.get(ev.deviceId);
    // rec.id is the very string the indexes hold (equal to ev.deviceId): comparisons with it are by reference.
    const id = rec !== undefined ? rec.id : this.resolve(ev.deviceId, keys);
    if (rec === undefined && id !== ev.deviceId) rec = home.devices.get(id);
    let changed = false;
    if (!rec) {
      rec = { id, identities: {}, kinds: [], addresses: [], ownerAllowed: false, firstSeenAt: now };
      home.devices.set(id, rec);
      changed = true;
    }
    if (ev.identities) {
      rec.identities = { ...rec.identities, ...ev.identities };
      for (const key of keys) home.identities.set(key, id);
    }
    if (ev.kinds) {
      for (const k of ev.kinds) {
        const kinds = rec.kinds;
        let known = -1;
        for (let i = 0; i < kinds.length; i++) {
          if (kinds[i].kind === k.kind) {
            known = i;
            break;
          }
        }
        if (known < 0) {
          rec.kinds = [...kinds, { kind: k.kind, evidence: k.evidence }];
          changed = true;
        } else if (evidenceStrength(k.evidence) > evidenceStrength(kinds[known].evidence)) {
          // A stronger observation of the same kind replaces the weaker one, so
          // reasons quote the best evidence (a Matter read names vendor and product).
          const next = kinds.slice();
          next[known] = { kind: k.kind, evidence: k.evidence };
          rec.kinds = next;
          changed = true;
        }
      }
    }
    const old = rec.addresses;
    if (ev.addresses && unchangedAddresses(old, ev.addresses)) {
      for (let i = 0; i < old.length; i++) {
        const address = old[i].address;
        if (home.addressOwner.get(address) !== id) {
          home.addressOwner.set(address, id);
          changed = true;
        }
      }
    } else if (ev.addresses) {
      const next: DeviceAddress[] = [];
      for (const input of ev.addresses) {
        const a = toDeviceAddress(input);
        if (a && !next.some((x) => x.address === a.address)) next.push(a);
      }
      if (!sameAddresses(old, next)) {
        changed = true;
        rec.addresses = next;
        for (const a of old) {
          if (!next.some((x) => x.address === a.address) && home.addressOwner.get(a.address) === id) home.addressOwner.delete(a.address);
        }
        for (const a of next) home.addressOwner.set(a.address, id);
      } else {
        for (const a of next) if (home.addressOwner.get(a.address) !== id) {
          home.addressOwner.set(a.address, id);
          changed = true;
        }
      }
    }
    if (ev.ipv6Only !== undefined) {
      const v = ev.ipv6Only ?? undefined;
      if (v !== rec.ipv6Only) {
        changed = true;
        if (v === undefined) delete rec.ipv6Only;
        else rec.ipv6Only = v;
      }
    }
    return changed ? this.affected(rec, old) : NO_NEEDS;
  }

  /** Needs requested by the device or targeting one of its (old or current) addresses. */
  affected(rec: DeviceRecord, oldAddresses: readonly DeviceAddress[] = []): NeedRecord[] {
    const home = this.home;
    const out = new Set<NeedRecord>();
    const own = home.needsByDevice.get(rec.id);
    if (own) for (const n of own) out.add(n);
    for (const list of [oldAddresses, rec.addresses]) {
      for (const a of list) {
        const set = home.needsByAddress.get(a.address);
        if (set) for (const n of set) out.add(n);
      }
    }
    return [...out];
  }

  /** Forgets a device; returns the needs it requested or that targeted it. */
  left(deviceId: string): NeedRecord[] {
    const home = this.home;
    const rec = home.devices.get(deviceId);
    if (!rec) {
      const own = home.needsByDevice.get(deviceId);
      return own ? [...own] : [];
    }
    const needs = this.affected(rec);
    for (const a of rec.addresses) if (home.addressOwner.get(a.address) === rec.id) home.addressOwner.delete(a.address);
    for (const key of identityKeys(rec.identities)) if (home.identities.get(key) === rec.id) home.identities.delete(key);
    home.devices.delete(rec.id);
    return needs;
  }
}

/**
 * How strong an observation is: what the device said when asked (a Matter
 * read of BasicInformation / Descriptor) beats what it advertises (mDNS),
 * which beats anything else (configuration, heuristics).
 */
function evidenceStrength(evidence: string): number {
  if (evidence.startsWith('matter-read:')) return 2;
  if (evidence.startsWith('mdns:')) return 1;
  return 0;
}
