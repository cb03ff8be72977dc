/**
 * The Home Assistant bridge: keeps the broker's retained discovery configs
 * and states equal to what the engine decided, publishes notable decisions
 * to the "Decision" event entity, and turns the "Allow port opening" switch
 * into the owner's policy input. Runs in the daemon (gateway and hub mode)
 * when the config has an `mqtt` section.
 *
 * - Every daemon event (decision, need opened / renewed / ended, device
 *   seen, port opening switched) and every engine step schedules a sync
 *   `debounceMs` later (default 20 ms); a timer syncs every `refreshMs` too
 *   (facts outside the engine: the enforcement). A sync publishes only what changed since the last one, and an
 *   empty retained payload for topics that are gone.
 * - On every (re)connect everything is published again (a restarted broker
 *   without persistence has lost it all); when Home Assistant says `online`
 *   on `<discoveryPrefix>/status`, every config is re-sent.
 * - `ON` / `OFF` on `<base>/device/<slug>/port_opening/set` switches the
 *   device's port opening (persisted; decided by the engine's
 *   owner-port-opening rule, recorded as `home-assistant`).
 *
 * @example
 * ```ts
 * const bridge = startHomeAssistantBridge({ services, settings: config.mqtt!, log: log.child('homeassistant') });
 * await bridge.stop();
 * ```
 */
import { Subscription } from 'rxjs';
import { MqttConnection, MqttConnectionOptions, startMqttConnection } from '../../adapters/mqtt/mqtt-connection';
import type { Decision } from '../../policies/model/decision';
import type { GatewayDaemonServices } from '../gateway/gateway-daemon';
import { readMqttPassword, type MqttSettings } from '../gateway/gateway-config';
import type { Logger } from '../gateway/structured-log';
import { availabilityTopic, DiscoveryTopics, homeAssistantStatusTopic } from './discovery-config';
import { homeViewOf, HomeView } from './home-view';
import { notableEventOf, RebootCoalescer } from './notable-decision';
import { ControllerIdentity, homeTopic, isDiscoveryTopic, portOpeningCommandFilter, retainedMessagesOf } from './retained-messages';

/** The engine id of the router the daemon runs on (gateway-daemon's LOCAL_GATEWAY_ID). */
const LOCAL_GATEWAY_ID = 'local';

export interface HomeAssistantBridgeOptions {
  readonly services: GatewayDaemonServices;
  readonly settings: MqttSettings;
  readonly log: Logger;
  /** Opens the broker connection (default: the real one). */
  readonly connect?: (options: MqttConnectionOptions) => MqttConnection;
  readonly debounceMs?: number;
  readonly refreshMs?: number;
  readonly version?: string;
  /** Reconnect backoff (default 1 s .. 30 s). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

export interface HomeAssistantBridge {
  /** Syncs now (normally event driven). */
  sync(): void;
  /** The last view published (tests, diagnostics). */
  view(): HomeView | undefined;
  stop(): Promise<void>;
}

export function startHomeAssistantBridge(options: HomeAssistantBridgeOptions): HomeAssistantBridge {
  const { services, settings, log } = options;
  const topics: DiscoveryTopics = { baseTopic: settings.baseTopic, discoveryPrefix: settings.discoveryPrefix };
  const deployment = services.deploymentInfo().deployment;
  const identity: ControllerIdentity = { name: `homenet ${deployment}`, deployment, version: options.version ?? '0.1.0' };
  const debounceMs = options.debounceMs ?? 20;
  const published = new Map<string, string>();
  const askedForPorts = new Set<string>();
  const reboots = new RebootCoalescer();
  let last: HomeView | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const commandPrefix = `${settings.baseTopic}/device/`;

  const sync = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    const snapshot = services.engine.snapshot();
    for (const n of snapshot.needs) askedForPorts.add(n.need.requester.deviceId);
    const view = homeViewOf({
      snapshot,
      enforcement: services.deploymentInfo().enforcement,
      switchedOff: services.portOpening?.switchedOff() ?? new Map(),
      askedForPorts,
      gatewayId: LOCAL_GATEWAY_ID,
    });
    last = view;
    if (!mqtt.connected) return;
    const desired = retainedMessagesOf(view, topics, identity);
    for (const [topic, payload] of desired) {
      if (published.get(topic) === payload) continue;
      if (!mqtt.publish(topic, payload)) return;
      published.set(topic, payload);
    }
    for (const topic of [...published.keys()]) {
      if (desired.has(topic)) continue;
      if (!mqtt.publish(topic, '')) return;
      published.delete(topic);
    }
  };
  const schedule = () => {
    if (timer || stopped) return;
    timer = setTimeout(sync, debounceMs);
    timer.unref();
  };

  const onCommand = (topic: string, payload: string) => {
    const slug = topic.slice(commandPrefix.length, -'/port_opening/set'.length);
    const device = last?.devices.find((d) => d.slug === slug);
    const word = payload.trim().toUpperCase();
    if (!device || (word !== 'ON' && word !== 'OFF')) {
      log.warn('home assistant command ignored', { topic, payload: payload.slice(0, 32), why: device ? 'payload is not ON or OFF' : 'no such device' });
      return;
    }
    if (!services.portOpening) {
      log.warn('home assistant command ignored', { topic, why: 'this daemon has no port opening settings' });
      return;
    }
    const changed = services.portOpening.set(device.id, word === 'ON', 'home-assistant');
    log.info('port opening switched', { deviceId: device.id, allowed: word === 'ON', by: 'home-assistant', changed });
    sync();
  };

  const mqtt = (options.connect ?? startMqttConnection)({
    url: settings.url,
    clientId: settings.clientId,
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(settings.passwordFile !== undefined ? { password: readMqttPassword(settings.passwordFile) } : {}),
    ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
    ...(settings.cert !== undefined ? { cert: settings.cert } : {}),
    ...(settings.key !== undefined ? { key: settings.key } : {}),
    statusTopic: availabilityTopic(topics),
    subscriptions: [homeAssistantStatusTopic(topics), portOpeningCommandFilter(topics)],
    onConnect: () => {
      // Whatever the broker held may be gone (a restart without persistence): everything again.
      published.clear();
      sync();
    },
    onMessage: (topic, payload) => {
      if (topic === homeAssistantStatusTopic(topics)) {
        if (payload.trim() !== 'online') return;
        for (const t of [...published.keys()]) if (isDiscoveryTopic(topics, t)) published.delete(t);
        sync();
        return;
      }
      if (topic.startsWith(commandPrefix) && topic.endsWith('/port_opening/set')) onCommand(topic, payload);
    },
    log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });

  const subs = new Subscription();
  subs.add(
    services.events$.subscribe((e) => {
      if (e.event === 'decision') {
        const d = e.data as Decision;
        // Bounded: addresses of hosts without a neighbour entry come and go (temporary addresses).
        if (askedForPorts.size >= 4096 && !askedForPorts.has(d.deviceId)) askedForPorts.clear();
        askedForPorts.add(d.deviceId);
        const notable = notableEventOf(d);
        if (notable && reboots.admit(notable, Date.now())) mqtt.publish(homeTopic(topics, 'decision'), JSON.stringify(notable), { retain: false });
      }
      schedule();
    }),
  );
  // Any engine step (a device seen or gone, the network's facts, a lease timer) may change what is shown.
  subs.add(services.engine.state$.subscribe(() => schedule()));
  const refresh = setInterval(schedule, options.refreshMs ?? 5000);
  refresh.unref();
  sync();

  return {
    sync,
    view: () => last,
    async stop() {
      stopped = true;
      subs.unsubscribe();
      clearInterval(refresh);
      if (timer) clearTimeout(timer);
      await mqtt.close();
    },
  };
}
