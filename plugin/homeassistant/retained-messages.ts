/**
 * Every retained message the controller wants on the broker, as one map
 * topic -> payload (pure): the discovery configs of every entity and the
 * JSON states and attributes they read. The bridge publishes what differs
 * from what it last published, and an empty retained payload for a topic
 * that is gone (a removed device's configs and states are cleared).
 *
 * Topics under `<baseTopic>`:
 * - `status`: `online` / `offline` (availability; the last will)
 * - `device/<slug>/state`: `{"reachable":"ON","open_ports":1,"protected":"OFF","port_opening":"ON"}`
 * - `device/<slug>/ports`: `{"grants":[...]}`; `device/<slug>/protection`: `{"rule","kind","evidence","owner_allowed"}`
 * - `device/<slug>/port_opening/set`: the switch's command topic (`ON` / `OFF`)
 * - `home/state`: `{"ipv6_mostly":"ON","gateway_grade":"A","wan_ipv4":"public","enforcement":"enforced"}`; `home/ipv6_mostly`: `{"pref64":...}`
 * - `home/decision`: the event entity's messages (not retained; see notable-decision.ts)
 *
 * @example
 * ```ts
 * const messages = retainedMessagesOf(view, { baseTopic: 'homenet', discoveryPrefix: 'homeassistant' }, { name: 'homenet gateway', deployment: 'gateway', version: '0.1.0' });
 * messages.get('homenet/home/state'); // '{"ipv6_mostly":"OFF","gateway_grade":"A","wan_ipv4":"public","enforcement":"enforced"}'
 * ```
 */
import {
  binarySensorConfig,
  DiscoveryDevice,
  DiscoveryMessage,
  DiscoveryTopics,
  discoveryNodeId,
  eventConfig,
  sensorConfig,
  switchConfig,
} from './discovery-config';
import type { DeviceView, HomeView } from './home-view';
import { NOTABLE_EVENT_TYPES } from './notable-decision';

/** The controller itself, as Home Assistant's parent device. */
export interface ControllerIdentity {
  readonly name: string;
  readonly deployment: 'gateway' | 'hub';
  readonly version: string;
}

export const WAN_IPV4_OPTIONS = ['public', 'private', 'cgnat', 'none'] as const;
export const ENFORCEMENT_OPTIONS = ['enforced', 'advised'] as const;
export const GRADE_OPTIONS = ['A', 'B', 'C', 'D', 'unknown'] as const;

const onOff = (b: boolean) => (b ? 'ON' : 'OFF');

export function deviceTopic(topics: DiscoveryTopics, slug: string, leaf: string): string {
  return `${topics.baseTopic}/device/${slug}/${leaf}`;
}

export function homeTopic(topics: DiscoveryTopics, leaf: string): string {
  return `${topics.baseTopic}/home/${leaf}`;
}

/** The switch's command topic filter (subscribed by the bridge). */
export function portOpeningCommandFilter(topics: DiscoveryTopics): string {
  return `${topics.baseTopic}/device/+/port_opening/set`;
}

/** The controller's own device block (the parent of every LAN device). */
export function controllerDevice(topics: DiscoveryTopics, identity: ControllerIdentity): DiscoveryDevice {
  return { identifiers: [`${discoveryNodeId(topics)}_controller`], name: identity.name, manufacturer: 'homenet-controller', model: `homenet ${identity.deployment}`, sw_version: identity.version };
}

/** The discovery configs of one LAN device's entities. */
export function deviceDiscovery(topics: DiscoveryTopics, d: DeviceView, parent: DiscoveryDevice): DiscoveryMessage[] {
  const device: DiscoveryDevice = {
    identifiers: [`${discoveryNodeId(topics)}_${d.slug}`],
    name: d.id,
    ...(d.mac ? { connections: [['mac', d.mac] as const] } : {}),
    via_device: parent.identifiers[0],
    ...(d.kinds[0] ? { model: d.kinds[0].kind } : {}),
  };
  const owner = { device };
  const state = deviceTopic(topics, d.slug, 'state');
  const out: DiscoveryMessage[] = [
    binarySensorConfig(topics, owner, { objectId: `${d.slug}_reachable`, name: 'Reachable from the Internet', stateTopic: state, valueKey: 'reachable', attributesTopic: deviceTopic(topics, d.slug, 'ports'), icon: 'mdi:earth-arrow-right' }),
    sensorConfig(topics, owner, { objectId: `${d.slug}_open_ports`, name: 'Open ports', stateTopic: state, valueKey: 'open_ports', attributesTopic: deviceTopic(topics, d.slug, 'ports'), stateClass: 'measurement', icon: 'mdi:door-open' }),
  ];
  if (d.isolation) {
    out.push(binarySensorConfig(topics, owner, { objectId: `${d.slug}_protected`, name: 'Protected', stateTopic: state, valueKey: 'protected', attributesTopic: deviceTopic(topics, d.slug, 'protection'), icon: 'mdi:shield-lock' }));
  }
  if (d.asksForPorts) {
    out.push(switchConfig(topics, owner, { objectId: `${d.slug}_port_opening`, name: 'Allow port opening', stateTopic: state, valueKey: 'port_opening', commandTopic: deviceTopic(topics, d.slug, 'port_opening/set'), icon: 'mdi:lan-connect', entityCategory: 'config' }));
  }
  return out;
}

/** The discovery configs of the home's entities (on the controller's device). */
export function homeDiscovery(topics: DiscoveryTopics, parent: DiscoveryDevice): DiscoveryMessage[] {
  const owner = { device: parent };
  const state = homeTopic(topics, 'state');
  const node = discoveryNodeId(topics);
  return [
    binarySensorConfig(topics, owner, { objectId: `${node}_ipv6_mostly`, name: 'IPv6-mostly', stateTopic: state, valueKey: 'ipv6_mostly', attributesTopic: homeTopic(topics, 'ipv6_mostly'), icon: 'mdi:numeric-6-circle' }),
    sensorConfig(topics, owner, { objectId: `${node}_gateway_grade`, name: 'Gateway grade', stateTopic: state, valueKey: 'gateway_grade', options: GRADE_OPTIONS, icon: 'mdi:router-network' }),
    sensorConfig(topics, owner, { objectId: `${node}_wan_ipv4`, name: 'WAN IPv4', stateTopic: state, valueKey: 'wan_ipv4', options: WAN_IPV4_OPTIONS, icon: 'mdi:wan' }),
    sensorConfig(topics, owner, { objectId: `${node}_enforcement`, name: 'Enforcement', stateTopic: state, valueKey: 'enforcement', options: ENFORCEMENT_OPTIONS, icon: 'mdi:shield-check' }),
    eventConfig(topics, owner, { objectId: `${node}_decision`, name: 'Decision', stateTopic: homeTopic(topics, 'decision'), eventTypes: NOTABLE_EVENT_TYPES, icon: 'mdi:gavel' }),
  ];
}

/** Every discovery config (home first, then the devices in id order). */
export function discoveryMessagesOf(view: HomeView, topics: DiscoveryTopics, identity: ControllerIdentity): DiscoveryMessage[] {
  const parent = controllerDevice(topics, identity);
  return [...homeDiscovery(topics, parent), ...view.devices.flatMap((d) => deviceDiscovery(topics, d, parent))];
}

/** The retained states and attributes (not the configs). */
export function stateMessagesOf(view: HomeView, topics: DiscoveryTopics): Map<string, string> {
  const out = new Map<string, string>();
  const h = view.home;
  out.set(homeTopic(topics, 'ipv6_mostly'), JSON.stringify({ pref64: h.pref64 ?? null, ipv6_only_devices: h.ipv6OnlyDevices }));
  out.set(homeTopic(topics, 'state'), JSON.stringify({ ipv6_mostly: onOff(h.ipv6Mostly), gateway_grade: h.gatewayGrade, wan_ipv4: h.wanIpv4, enforcement: h.enforcement }));
  for (const d of view.devices) {
    // Attributes before the state they explain: whoever sees a state change sees its attributes already.
    out.set(deviceTopic(topics, d.slug, 'ports'), JSON.stringify({ device_id: d.id, addresses: d.addresses, grants: d.openPorts, ...(d.portOpening.by ? { port_opening_switched_off_by: d.portOpening.by } : {}) }));
    if (d.isolation) {
      out.set(deviceTopic(topics, d.slug, 'protection'), JSON.stringify({ rule: d.isolation.rule, kind: d.isolation.kind, evidence: d.isolation.evidence, owner_allowed: d.isolation.ownerAllowed }));
    }
    out.set(
      deviceTopic(topics, d.slug, 'state'),
      JSON.stringify({
        reachable: onOff(d.reachable),
        open_ports: d.openPorts.length,
        ...(d.isolation ? { protected: onOff(d.isolation.protected) } : {}),
        ...(d.asksForPorts ? { port_opening: onOff(d.portOpening.allowed) } : {}),
      }),
    );
  }
  return out;
}

/** Configs and states together: everything retained, topic -> payload. */
export function retainedMessagesOf(view: HomeView, topics: DiscoveryTopics, identity: ControllerIdentity): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of discoveryMessagesOf(view, topics, identity)) out.set(m.topic, JSON.stringify(m.config));
  for (const [topic, payload] of stateMessagesOf(view, topics)) out.set(topic, payload);
  return out;
}

/** True for a discovery config topic (re-sent when Home Assistant comes online). */
export function isDiscoveryTopic(topics: DiscoveryTopics, topic: string): boolean {
  return topic.startsWith(`${topics.discoveryPrefix}/`) && topic.endsWith('/config');
}
