/**
 * The MQTT port against a real mosquitto on loopback (never a mock broker):
 * online/offline availability, reconnect with backoff after the broker is
 * killed and restarted, and bad credentials as one clear log line.
 */
import { connect, MqttClient } from 'mqtt';
import { describeMqttFailure, MqttConnection, startMqttConnection } from '../../../adapters/mqtt/mqtt-connection';
import { MosquittoBroker, startMosquitto } from '../../integration/homeassistant/mosquitto-broker';

jest.setTimeout(30_000);

interface Line {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}
const logInto = (lines: Line[]) => ({
  info: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: 'info', msg, ...(fields ? { fields } : {}) }),
  warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
});

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A subscriber that records the last payload seen per topic. */
async function watcher(url: string, filter: string, auth: { username?: string; password?: string } = {}): Promise<{ client: MqttClient; last: Map<string, string> }> {
  const client = connect(url, { ...auth, reconnectPeriod: 100 });
  const last = new Map<string, string>();
  client.on('message', (topic, payload) => last.set(topic, payload.toString()));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('connect', () => client.subscribe(filter, { qos: 1 }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, last };
}

describe('adapters/mqtt: the connection', () => {
  let broker: MosquittoBroker | undefined;
  let mqtt: MqttConnection | undefined;
  let sub: MqttClient | undefined;
  afterEach(async () => {
    await mqtt?.close();
    sub?.end(true);
    await broker?.stop();
    mqtt = undefined;
    sub = undefined;
    broker = undefined;
  });

  it('publishes online (retained) on connect, subscribes, reconnects after the broker is killed and restarted, and says offline when closed', async () => {
    broker = await startMosquitto({ users: { homenet: 'right-password' } });
    const lines: Line[] = [];
    const received: string[] = [];
    let connects = 0;
    mqtt = startMqttConnection({
      url: broker.url, clientId: 'test-conn', username: 'homenet', password: 'right-password', statusTopic: 'hn/status', subscriptions: ['hn/cmd/#'],
      onConnect: () => {
        connects++;
        mqtt?.publish('hn/state', `state-${connects}`);
      },
      onMessage: (topic, payload) => received.push(`${topic}=${payload}`), log: logInto(lines), backoff: { initialMs: 50, maxMs: 400 },
    });
    const w = await watcher(broker.url, 'hn/#', { username: 'homenet', password: 'right-password' });
    sub = w.client;
    await until('online and the first state', () => w.last.get('hn/status') === 'online' && w.last.get('hn/state') === 'state-1');
    sub.publish('hn/cmd/x', 'ON');
    await until('the command delivered', () => received.includes('hn/cmd/x=ON'));

    await broker.kill();
    await until('the loss noticed', () => !mqtt!.connected);
    expect(mqtt.publish('hn/state', 'dropped')).toBe(false);
    await broker.start();
    await until('reconnected and the state published again', () => connects === 2 && w.last.get('hn/state') === 'state-2' && w.last.get('hn/status') === 'online', 10_000);
    expect(lines.filter((l) => l.msg === 'mqtt reconnected')).toHaveLength(1);

    await mqtt.close();
    await until('offline', () => w.last.get('hn/status') === 'offline');
  });

  it('bad credentials give one clear log line, not one per attempt, and it keeps trying quietly', async () => {
    broker = await startMosquitto({ users: { homenet: 'right-password' } });
    const lines: Line[] = [];
    let attempts = 0;
    mqtt = startMqttConnection({
      url: broker.url, clientId: 'test-bad', username: 'homenet', password: 'wrong', statusTopic: 'hn/status', subscriptions: [],
      onConnect: () => undefined, onMessage: () => undefined, log: logInto(lines), backoff: { initialMs: 20, maxMs: 80 },
      connect: (url, options) => {
        attempts++;
        return connect(url, options);
      },
    });
    await until('several attempts', () => attempts >= 5);
    expect(mqtt.connected).toBe(false);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: 'mqtt broker not reachable', fields: { error: expect.stringMatching(/refused the (credentials|connection)/) } });
    expect(JSON.stringify(lines)).not.toMatch(/\n\s+at /);
  });

  it('names common failures in words', () => {
    expect(describeMqttFailure(Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }))).toMatch(/refused the credentials/);
    expect(describeMqttFailure(Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }))).toMatch(/not authorized/);
    expect(describeMqttFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toMatch(/nothing listens/);
    expect(describeMqttFailure(new Error('first line\nsecond'))).toBe('first line');
  });
});
