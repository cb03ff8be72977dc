import type { DeviceSeen } from '../../policies/model/event';
import type { KindEvidence } from '../../policies/model/device';
import { MatterHost, MatterServiceInstance } from './matter-advertisement';

/** The device id the passive watcher uses for a host: `mdns:<host>`. */
export function mdnsDeviceId(host: string): string {
  return `mdns:${host.toLowerCase()}`;
}

/** The identity a commissioned Matter node is known by on every observer: `<CFID>-<NODEID>` (hex). */
export function matterNodeIdentity(compressedFabricId: string, nodeId: string): string {
  return `${compressedFabricId.toUpperCase()}-${nodeId.toUpperCase()}`;
}

function evidenceOf(service: MatterServiceInstance): KindEvidence {
  switch (service.kind) {
    case 'operational':
      return { kind: 'matter', evidence: `mdns:_matter._tcp ${service.instance}` };
    case 'commissionable': {
      const c = service.commissionable ?? {};
      const parts = [`mdns:_matterc._udp ${service.instance}`];
      if (c.vendorId !== undefined) parts.push(`VP=${c.vendorId}${c.productId !== undefined ? `+${c.productId}` : ''}`);
      if (c.deviceType !== undefined) parts.push(`DT=${c.deviceType}`);
      if (c.commissioningMode !== undefined) parts.push(`CM=${c.commissioningMode}`);
      return { kind: 'matter', evidence: parts.join(' ') };
    }
    case 'threadBorderRouter':
      return { kind: 'thread-border-router', evidence: `mdns:_meshcop._udp ${service.instance}` };
  }
}

/**
 * The engine event for a Matter host seen over mDNS: kinds with the record
 * that proves them, the host name (and the Matter node identity of an
 * operational instance) as identities, and every address it advertises.
 *
 * @example
 * ```ts
 * const event = matterHostEvent(host); // { type: 'device-seen', deviceId: 'mdns:d2a1....local', kinds: [{ kind: 'matter', ... }], ... }
 * ```
 */
export function matterHostEvent(host: MatterHost): DeviceSeen {
  const operational = host.services.find((s) => s.operational)?.operational;
  const kinds: KindEvidence[] = [];
  for (const service of host.services) {
    const evidence = evidenceOf(service);
    if (!kinds.some((k) => k.evidence === evidence.evidence)) kinds.push(evidence);
  }
  return {
    type: 'device-seen',
    deviceId: mdnsDeviceId(host.host),
    identities: {
      mdnsHost: host.host,
      ...(operational ? { matterNodeId: matterNodeIdentity(operational.compressedFabricId, operational.nodeId) } : {}),
    },
    kinds,
    addresses: host.addresses.map((a) => ({ address: a.address })),
  };
}
