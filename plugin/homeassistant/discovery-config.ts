/**
 * Home Assistant MQTT discovery configs: one retained JSON message per entity
 * on `<discoveryPrefix>/<component>/<nodeId>/<objectId>/config`, following
 * Home Assistant's MQTT discovery conventions: a stable `unique_id`, a
 * `device` with `identifiers` (so entities group under a device), the
 * controller's availability topic (its last will says `offline`), and the
 * fields each entity type requires ({@link REQUIRED_DISCOVERY_FIELDS}).
 * Pure: topics and JSON only.
 *
 * @example
 * ```ts
 * const topics = discoveryTopics({ baseTopic: 'homenet', discoveryPrefix: 'homeassistant' });
 * const { topic, config } = binarySensorConfig(topics, { device: { identifiers: ['homenet_console'], name: 'console' } },
 *   { objectId: 'console_reachable', name: 'Reachable from the Internet', stateTopic: 'homenet/device/console/state', valueKey: 'reachable' });
 * topic; // 'homeassistant/binary_sensor/homenet/console_reachable/config'
 * ```
 */

/** The fields Home Assistant's MQTT integration requires per entity type (beyond `unique_id` and `device` for a device-bound entity). */
export const REQUIRED_DISCOVERY_FIELDS = {
  binary_sensor: ['state_topic'],
  sensor: ['state_topic'],
  switch: ['command_topic'],
  event: ['state_topic', 'event_types'],
} as const;

export type DiscoveryComponent = keyof typeof REQUIRED_DISCOVERY_FIELDS;

/** The fields every config here carries (so that the entity has a device, a stable id, and availability). */
export const COMMON_DISCOVERY_FIELDS = ['name', 'unique_id', 'device', 'availability_topic', 'payload_available', 'payload_not_available', 'origin'] as const;

/** Where the controller publishes, from the `mqtt` config section. */
export interface DiscoveryTopics {
  readonly baseTopic: string;
  readonly discoveryPrefix: string;
}

/** The `device` block: `identifiers` (required by HA for a device), a name, optionally MAC connections and the parent device. */
export interface DiscoveryDevice {
  readonly identifiers: readonly string[];
  readonly name: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly sw_version?: string;
  readonly connections?: readonly (readonly [string, string])[];
  readonly via_device?: string;
}

/** A discovery message: its topic and JSON payload. */
export interface DiscoveryMessage {
  readonly component: DiscoveryComponent;
  readonly topic: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** The software that made the configs (HA shows it; `origin.name` is required when `origin` is given). */
export const DISCOVERY_ORIGIN = { name: 'homenet-controller' } as const;

/** Our node id in discovery topics: the base topic with `/` as `_`. */
export function discoveryNodeId(topics: DiscoveryTopics): string {
  return topics.baseTopic.replace(/\//g, '_');
}

/** The controller's availability topic (online / offline; the last will). */
export function availabilityTopic(topics: DiscoveryTopics): string {
  return `${topics.baseTopic}/status`;
}

/** Home Assistant's birth topic: `online` there means it (re)started and wants the configs again. */
export function homeAssistantStatusTopic(topics: DiscoveryTopics): string {
  return `${topics.discoveryPrefix}/status`;
}

/** A string usable as an MQTT topic level and an HA object id: `[a-z0-9_-]`, other runs as `_`. */
export function topicSlug(id: string): string {
  const slug = id.toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return slug === '' ? 'device' : slug.slice(0, 64);
}

interface EntityCommon {
  /** Unique within the controller; with the node id it makes the `unique_id`. */
  readonly objectId: string;
  readonly name: string;
  readonly icon?: string;
  readonly entityCategory?: 'diagnostic' | 'config';
}

interface StateEntity extends EntityCommon {
  /** A JSON state topic, and the key this entity reads from it. */
  readonly stateTopic: string;
  readonly valueKey: string;
  readonly attributesTopic?: string;
}

function base(component: DiscoveryComponent, topics: DiscoveryTopics, owner: { device: DiscoveryDevice }, e: EntityCommon): { topic: string; config: Record<string, unknown> } {
  const node = discoveryNodeId(topics);
  return {
    topic: `${topics.discoveryPrefix}/${component}/${node}/${e.objectId}/config`,
    config: {
      name: e.name,
      unique_id: `${node}_${e.objectId}`,
      device: owner.device,
      availability_topic: availabilityTopic(topics),
      payload_available: 'online',
      payload_not_available: 'offline',
      origin: DISCOVERY_ORIGIN,
      ...(e.icon ? { icon: e.icon } : {}),
      ...(e.entityCategory ? { entity_category: e.entityCategory } : {}),
    },
  };
}

function stateFields(e: StateEntity): Record<string, unknown> {
  return {
    state_topic: e.stateTopic,
    value_template: `{{ value_json.${e.valueKey} }}`,
    ...(e.attributesTopic ? { json_attributes_topic: e.attributesTopic } : {}),
  };
}

/** A binary sensor reading `ON` / `OFF` from a JSON state topic. */
export function binarySensorConfig(topics: DiscoveryTopics, owner: { device: DiscoveryDevice }, e: StateEntity & { readonly deviceClass?: string }): DiscoveryMessage {
  const { topic, config } = base('binary_sensor', topics, owner, e);
  return { component: 'binary_sensor', topic, config: { ...config, ...stateFields(e), payload_on: 'ON', payload_off: 'OFF', ...(e.deviceClass ? { device_class: e.deviceClass } : {}) } };
}

/** A sensor: a number (`stateClass: 'measurement'`) or one of `options` (`device_class: enum`). */
export function sensorConfig(topics: DiscoveryTopics, owner: { device: DiscoveryDevice }, e: StateEntity & { readonly stateClass?: 'measurement'; readonly options?: readonly string[] }): DiscoveryMessage {
  const { topic, config } = base('sensor', topics, owner, e);
  return {
    component: 'sensor',
    topic,
    config: { ...config, ...stateFields(e), ...(e.stateClass ? { state_class: e.stateClass } : {}), ...(e.options ? { device_class: 'enum', options: e.options } : {}) },
  };
}

/** A switch: `ON` / `OFF` on `commandTopic`, its state read from a JSON state topic (not optimistic). */
export function switchConfig(topics: DiscoveryTopics, owner: { device: DiscoveryDevice }, e: StateEntity & { readonly commandTopic: string }): DiscoveryMessage {
  const { topic, config } = base('switch', topics, owner, e);
  return {
    component: 'switch',
    topic,
    config: { ...config, ...stateFields(e), command_topic: e.commandTopic, payload_on: 'ON', payload_off: 'OFF', state_on: 'ON', state_off: 'OFF', optimistic: false, retain: false },
  };
}

/** An event entity: JSON messages `{"event_type": ..., ...attributes}` on `stateTopic`. */
export function eventConfig(topics: DiscoveryTopics, owner: { device: DiscoveryDevice }, e: EntityCommon & { readonly stateTopic: string; readonly eventTypes: readonly string[] }): DiscoveryMessage {
  const { topic, config } = base('event', topics, owner, e);
  return { component: 'event', topic, config: { ...config, state_topic: e.stateTopic, event_types: e.eventTypes } };
}

/**
 * What a config lacks of what Home Assistant requires for its entity type
 * (and of the fields every config here carries); empty when complete.
 */
export function missingDiscoveryFields(component: DiscoveryComponent, config: Readonly<Record<string, unknown>>): string[] {
  const missing: string[] = [];
  for (const f of [...COMMON_DISCOVERY_FIELDS, ...REQUIRED_DISCOVERY_FIELDS[component]]) {
    const v = config[f];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) missing.push(f);
  }
  const device = config.device as { identifiers?: unknown } | undefined;
  if (device && (!Array.isArray(device.identifiers) || device.identifiers.length === 0)) missing.push('device.identifiers');
  return missing;
}
