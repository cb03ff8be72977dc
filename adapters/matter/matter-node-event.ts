import type { DeviceSeen } from '../../policies/model/event';
import type { KindEvidence } from '../../policies/model/device';
import { MatterNodeReport } from './matter-controller';
import { THREAD_BORDER_ROUTER_TYPES } from './matter-device-types';
import { matterNodeIdentity } from './matter-host-event';

/** The device id the controller uses for a node: `matter:<CFID>-<NODEID>`. */
export function matterDeviceId(report: Pick<MatterNodeReport, 'compressedFabricId' | 'nodeId'>): string {
  return `matter:${matterNodeIdentity(report.compressedFabricId, report.nodeId)}`;
}

/**
 * The engine event for one controller read of a commissioned node: its stable
 * identity (fabric + node id, and the hardware address of its Ethernet/WiFi
 * interface), `matter` with the read as evidence (plus `thread-border-router`
 * when an endpoint is one), and every address of every interface, so the
 * device is known by all its addresses, not the last one mDNS showed.
 *
 * @example
 * ```ts
 * const event = matterNodeEvent(await controller.read(nodeId));
 * event.kinds[0].evidence; // 'matter-read:BasicInformation vendor="homenet lab" product="homenet lab plug" types=On/Off Plug-in Unit'
 * ```
 */
export function matterNodeEvent(report: MatterNodeReport): DeviceSeen {
  const types = report.endpoints.flatMap((e) => e.deviceTypes).filter((t) => t.id !== 0x0016);
  const names = [...new Set(types.map((t) => t.name))];
  const kinds: KindEvidence[] = [
    {
      kind: 'matter',
      evidence: `matter-read:BasicInformation vendor="${report.vendorName ?? report.vendorId ?? '?'}" product="${report.productName ?? report.productId ?? '?'}"${names.length ? ` types=${names.join(',')}` : ''}`,
    },
  ];
  const tbr = types.find((t) => THREAD_BORDER_ROUTER_TYPES.includes(t.id));
  if (tbr) kinds.push({ kind: 'thread-border-router', evidence: `matter-read:Descriptor device type ${tbr.name}` });
  const mac = report.interfaces.map((i) => i.hardwareAddress).find((h) => h.length === 17);
  const addresses = [...new Set(report.interfaces.flatMap((i) => [...i.ipv6, ...i.ipv4]))];
  return {
    type: 'device-seen',
    deviceId: matterDeviceId(report),
    identities: { matterNodeId: matterNodeIdentity(report.compressedFabricId, report.nodeId), ...(mac ? { mac } : {}) },
    kinds,
    addresses: addresses.map((address) => ({ address })),
  };
}
