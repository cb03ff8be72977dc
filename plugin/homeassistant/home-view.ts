/**
 * What Home Assistant is shown, worked out from the engine's snapshot (pure):
 * per LAN device whether it is reachable from the Internet and through which
 * grants, whether it is a protected (isolated) Matter / IoT device, whether it
 * asks for ports and may; and for the home its IPv6-mostly state, the router's
 * grade, the WAN IPv4 kind and whether decisions are enforced.
 *
 * A grant belongs to the device holding its internal client address (else to
 * its need's requester). A device "asks for ports" once it requested a need,
 * is a game console, or was switched off by the owner. A host known only by
 * its address (`host:<address>`) is shown while it holds or asks for ports or
 * is switched off.
 *
 * @example
 * ```ts
 * const view = homeViewOf({ snapshot: engine.snapshot(), enforcement: 'enforced', switchedOff: new Map(), askedForPorts: new Set() });
 * view.devices.find((d) => d.id === 'console')?.reachable; // true while it holds a pinhole
 * ```
 */
import type { EngineSnapshot } from '../../policies/engine';
import { toDeviceAddress, type DeviceAddress } from '../../policies/model/address';
import { isIsolatedKind, type Device, type DeviceKind } from '../../policies/model/device';
import type { GatewayGrade } from '../../policies/model/gateway';
import type { WanIpv4Kind } from '../../policies/model/network';
import { topicSlug } from './discovery-config';

/** One open port (a grant), as an attribute. */
export interface OpenPort {
  readonly need_id: string;
  readonly table: 'pinhole' | 'port-mapping';
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: string;
  readonly internal_client: string;
  readonly internal_port: number;
  readonly external_port?: number;
  readonly lease_seconds: number;
}

export interface DeviceView {
  readonly id: string;
  /** Topic level and object id part (unique among the devices shown). */
  readonly slug: string;
  readonly mac?: string;
  readonly kinds: readonly { readonly kind: DeviceKind; readonly evidence: string }[];
  readonly addresses: readonly string[];
  readonly openPorts: readonly OpenPort[];
  readonly reachable: boolean;
  /** Present for isolated kinds (Matter, Thread border router, IoT). */
  readonly isolation?: { readonly protected: boolean; readonly rule: 'matter-isolation'; readonly kind: DeviceKind; readonly evidence: string; readonly ownerAllowed: boolean };
  readonly asksForPorts: boolean;
  readonly portOpening: { readonly allowed: boolean; readonly by?: string };
}

export interface HomeFacts {
  readonly ipv6Mostly: boolean;
  readonly pref64?: string;
  readonly ipv6OnlyDevices: readonly string[];
  readonly gatewayGrade: GatewayGrade | 'unknown';
  readonly wanIpv4: WanIpv4Kind;
  readonly enforcement: 'enforced' | 'advised';
}

export interface HomeView {
  readonly devices: readonly DeviceView[];
  readonly home: HomeFacts;
}

export interface HomeViewInput {
  readonly snapshot: EngineSnapshot;
  readonly enforcement: 'enforced' | 'advised';
  /** The owner's switched-off devices (port-opening-settings). */
  readonly switchedOff: ReadonlyMap<string, { readonly by: string }>;
  /** Devices that requested a need at some point (kept by the bridge). */
  readonly askedForPorts: ReadonlySet<string>;
  /** The router's engine id (default: the first gateway). */
  readonly gatewayId?: string;
}

export function homeViewOf(input: HomeViewInput): HomeView {
  const { snapshot } = input;
  const byAddress = new Map<string, string>();
  for (const d of snapshot.devices) for (const a of d.addresses) byAddress.set(a.address, d.id);
  const requesterOf = new Map(snapshot.needs.map((n) => [n.need.id, n.need.requester.deviceId]));
  const ports = new Map<string, OpenPort[]>();
  for (const g of snapshot.grants) {
    const owner = byAddress.get(g.internalClient) ?? requesterOf.get(g.needId);
    if (owner === undefined) continue;
    const list = ports.get(owner) ?? [];
    list.push({
      need_id: g.needId,
      table: g.table,
      family: g.family,
      protocol: g.protocol,
      internal_client: g.internalClient,
      internal_port: g.internalPort,
      ...(g.externalPort !== undefined ? { external_port: g.externalPort } : {}),
      lease_seconds: g.leaseSeconds,
    });
    ports.set(owner, list);
  }
  // Hosts the engine knows only by address (`host:<address>`, no neighbour entry yet) that hold ports,
  // ask for them, or were switched off are shown too; the admin API's own needs (`admin:`) are not a device.
  const known = new Set(snapshot.devices.map((d) => d.id));
  const hosts = new Set<string>();
  for (const id of [...ports.keys(), ...input.switchedOff.keys(), ...snapshot.needs.map((n) => n.need.requester.deviceId)]) {
    if (!known.has(id) && !id.startsWith('admin:')) hosts.add(id);
  }
  const addressOf = (id: string): DeviceAddress[] => {
    const a = id.startsWith('host:') ? toDeviceAddress({ address: id.slice('host:'.length) }) : undefined;
    return a ? [a] : [];
  };
  const shown: Device[] = [...snapshot.devices, ...[...hosts].map((id): Device => ({ id, identities: {}, kinds: [], addresses: addressOf(id), ownerAllowed: false, firstSeenAt: 0 }))];
  const slugs = new Set<string>();
  const devices = [...shown]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((d): DeviceView => {
      let slug = topicSlug(d.id);
      for (let n = 2; slugs.has(slug); n++) slug = `${topicSlug(d.id)}_${n}`;
      slugs.add(slug);
      const open = ports.get(d.id) ?? [];
      const iso = isIsolatedKind(d.kinds);
      const off = input.switchedOff.get(d.id);
      return {
        id: d.id,
        slug,
        ...(d.identities.mac ? { mac: d.identities.mac.toLowerCase() } : {}),
        kinds: d.kinds.map((k) => ({ kind: k.kind, evidence: k.evidence })),
        addresses: d.addresses.map((a) => a.address),
        openPorts: open,
        reachable: open.length > 0,
        ...(iso ? { isolation: { protected: !d.ownerAllowed, rule: 'matter-isolation' as const, kind: iso.kind, evidence: iso.evidence, ownerAllowed: d.ownerAllowed } } : {}),
        asksForPorts: !iso && (input.askedForPorts.has(d.id) || off !== undefined || d.kinds.some((k) => k.kind === 'game-console')),
        portOpening: off ? { allowed: false, by: off.by } : { allowed: true },
      };
    });
  const gateway = (input.gatewayId !== undefined ? snapshot.gateways.find((g) => g.id === input.gatewayId) : undefined) ?? snapshot.gateways[0];
  const ipv6OnlyDevices = snapshot.devices.filter((d) => d.ipv6Only !== undefined).map((d) => d.id);
  return {
    devices,
    home: {
      ipv6Mostly: snapshot.network.pref64 !== undefined,
      ...(snapshot.network.pref64 !== undefined ? { pref64: snapshot.network.pref64 } : {}),
      ipv6OnlyDevices,
      gatewayGrade: gateway?.grade ?? 'unknown',
      wanIpv4: snapshot.network.wanIpv4,
      enforcement: input.enforcement,
    },
  };
}
