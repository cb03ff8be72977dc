/**
 * One MQTT broker connection behind a small port of our own: the `mqtt`
 * library underneath, none of its types above.
 *
 * - A last will: `statusTopic` = `offline`, retained, QoS 1 (the broker
 *   publishes it when we vanish); `online`, retained, on every connect.
 * - Publishes are QoS 1; retained unless said. While disconnected a publish
 *   is refused (`false`): the caller republishes its whole state from
 *   `onConnect`, which runs after every (re)connect.
 * - Reconnects with capped exponential backoff (1 s, 2 s, 4 s ... 30 s by
 *   default; back to 1 s after a connect). Each attempt is a fresh client, so
 *   no half-closed library state survives a failure.
 * - A failure is logged once (one line, the broker's words, e.g. "refused the
 *   credentials"), not once per attempt and never as a stack trace; the next
 *   line is the reconnect.
 *
 * @example
 * ```ts
 * const mqtt = startMqttConnection({ url: 'mqtt://127.0.0.1:1883', clientId: 'homenet', statusTopic: 'homenet/status',
 *   subscriptions: ['homeassistant/status'], onConnect: () => mqtt.publish('homenet/hello', 'hi'), onMessage: (t, p) => console.log(t, p), log: console });
 * await mqtt.close();
 * ```
 */
import { readFileSync } from 'node:fs';
import { connect as mqttConnect, IClientOptions, MqttClient } from 'mqtt';

/** Where a connection logs (a structured logger fits). */
export interface MqttLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface MqttConnectionOptions {
  /** `mqtt://host[:port]` or `mqtts://host[:port]`. */
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM file paths (mqtts://): the broker's CA; a client certificate and its key. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Availability topic: the last will says `offline`, a connect `online` (both retained). */
  readonly statusTopic: string;
  /** Topic filters subscribed on every connect. */
  readonly subscriptions: readonly string[];
  /** After every (re)connect, once `online` is published and the subscriptions are asked for. */
  onConnect(): void;
  onMessage(topic: string, payload: string): void;
  readonly log: MqttLog;
  /** Reconnect backoff: first delay and cap (default 1000 / 30000 ms). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** The library's connect (tests may wrap it). */
  readonly connect?: (url: string, options: IClientOptions) => MqttClient;
}

/** A running connection. */
export interface MqttConnection {
  /** True between a connect and the next loss. */
  readonly connected: boolean;
  /** QoS 1, retained unless `retain: false`; `false` when not connected (nothing is queued). */
  publish(topic: string, payload: string, options?: { readonly retain?: boolean }): boolean;
  /** Publishes `offline` (retained) when connected, then disconnects; no reconnect after. */
  close(): Promise<void>;
}

/** The words of a connection failure, for one log line. */
export function describeMqttFailure(error: Error & { code?: unknown }): string {
  const code = error.code;
  if (code === 4 || code === 134 || /bad user ?name or password/i.test(error.message)) return 'the broker refused the credentials (bad user name or password): check mqtt.username and mqtt.passwordFile';
  if (code === 5 || code === 135 || /not authori[sz]ed/i.test(error.message)) return 'the broker refused the connection (not authorized; mosquitto says this for a wrong password too): check mqtt.username, mqtt.passwordFile or the client certificate';
  if (code === 'ECONNREFUSED') return 'nothing listens at the broker address (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the broker host name does not resolve';
  return error.message.split('\n')[0];
}

/** Starts connecting (in the background) and returns the port. */
export function startMqttConnection(options: MqttConnectionOptions): MqttConnection {
  const initialMs = options.backoff?.initialMs ?? 1000;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const connect = options.connect ?? mqttConnect;
  const tls = {
    ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
    ...(options.cert ? { cert: readFileSync(options.cert) } : {}),
    ...(options.key ? { key: readFileSync(options.key) } : {}),
  };
  let client: MqttClient | undefined;
  let connected = false;
  let closed = false;
  let delay = initialMs;
  let timer: NodeJS.Timeout | undefined;
  /** The failure last logged: the same one again is not logged again until a connect succeeds. */
  let lastLogged: string | undefined;
  let everConnected = false;

  const attempt = () => {
    timer = undefined;
    if (closed) return;
    const c = connect(options.url, {
      clientId: options.clientId,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...tls,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0,
      will: { topic: options.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    client = c;
    let lost = false;
    const onLost = (error?: Error) => {
      if (error) {
        const words = describeMqttFailure(error);
        if (words !== lastLogged) {
          lastLogged = words;
          options.log.warn(connected ? 'mqtt connection lost' : 'mqtt broker not reachable', { url: options.url, error: words, retryInMs: delay });
        }
      }
      if (lost) return;
      lost = true;
      const was = connected;
      connected = false;
      if (was && !error) options.log.warn('mqtt connection lost', { url: options.url, retryInMs: delay });
      c.removeAllListeners('connect');
      c.removeAllListeners('message');
      c.end(true);
      if (client === c) client = undefined;
      if (closed) return;
      timer = setTimeout(attempt, delay);
      timer.unref();
      delay = Math.min(delay * 2, maxMs);
    };
    c.on('connect', () => {
      connected = true;
      delay = initialMs;
      lastLogged = undefined;
      options.log.info(everConnected ? 'mqtt reconnected' : 'mqtt connected', { url: options.url, clientId: options.clientId });
      everConnected = true;
      c.publish(options.statusTopic, 'online', { qos: 1, retain: true });
      if (options.subscriptions.length > 0) c.subscribe([...options.subscriptions], { qos: 1 });
      try {
        options.onConnect();
      } catch (error) {
        options.log.warn('mqtt onConnect failed', { error: (error as Error).message });
      }
    });
    c.on('message', (topic, payload) => {
      try {
        options.onMessage(topic, payload.toString('utf8'));
      } catch (error) {
        options.log.warn('mqtt message handler failed', { topic, error: (error as Error).message });
      }
    });
    // A refused CONNACK, a socket error: one line (see onLost), then the close schedules the next attempt.
    c.on('error', (error) => onLost(error));
    c.on('close', () => onLost());
  };
  attempt();

  return {
    get connected() {
      return connected;
    },
    publish(topic, payload, publishOptions) {
      if (!connected || !client) return false;
      client.publish(topic, payload, { qos: 1, retain: publishOptions?.retain ?? true });
      return true;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (!c) return;
      const wasConnected = connected;
      connected = false;
      c.removeAllListeners('close');
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      // Bounded: a stalled broker does not hold the daemon's stop.
      const within = (ms: number, work: (done: () => void) => void) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          work(() => {
            clearTimeout(t);
            resolve();
          });
        });
      if (wasConnected) await within(1000, (done) => c.publish(options.statusTopic, 'offline', { qos: 1, retain: true }, () => done()));
      await within(1000, (done) => c.end(false, {}, () => done()));
      c.end(true);
    },
  };
}
