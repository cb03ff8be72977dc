/**
 * The bridge in a daemon (in-memory journal and firewall, virtual time for the
 * engine) against a real mosquitto on loopback, watched by a real MQTT
 * subscriber: discovery and states, decisions as events, the switch as the
 * owner's policy input, Home Assistant's birth message, a removed device.
 */
import { connect, MqttClient } from 'mqtt';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { startHomeAssistantBridge } from '../../../plugin/homeassistant/home-assistant-bridge';
import { startMqttConnection } from '../../../adapters/mqtt/mqtt-connection';
import { missingDiscoveryFields, DiscoveryComponent } from '../../../plugin/homeassistant/discovery-config';
import { PortOpeningSettings } from '../../../plugin/gateway/port-opening-settings';
import { runAdminCommand } from '../../../plugin/gateway/admin/admin-commands';
import { MosquittoBroker, retainedOn, startMosquitto, watchEverything } from '../../integration/homeassistant/mosquitto-broker';
import { until } from '../../support/until';
import { CONSOLE, PLUG, startTestDaemon, testConfig, testWorld } from '../gateway/support';

jest.setTimeout(30_000);

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

describe('plugin/homeassistant: the bridge in a daemon, real mosquitto', () => {
  let broker: MosquittoBroker;
  let daemon: GatewayDaemon | undefined;
  let sub: MqttClient;
  const seen: Seen[] = [];
  const last = new Map<string, string>();
  const state = (topic: string) => (last.get(topic) ? (JSON.parse(last.get(topic)!) as Record<string, unknown>) : undefined);

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await watchEverything(broker.url, (topic, payload, packet) => {
      seen.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() });
      last.set(topic, payload.toString());
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    sub.end(true);
    await broker.stop();
  });

  it('publishes every config with the fields HA requires, the states, and runs the switch and the events', async () => {
    const world = testWorld();
    const config = testConfig({
      mqtt: { url: broker.url },
      devices: { known: [{ id: 'plug', kind: 'matter', addresses: [PLUG] }, { id: 'console', kind: 'game-console', addresses: [CONSOLE] }], watchNeighbours: false },
    });
    daemon = await startTestDaemon(world, config);

    await until('online', () => last.get('homenet/status') === 'online');
    const configs = await until('every config', () => {
      const c = [...last].filter(([t, p]) => t.startsWith('homeassistant/') && t.endsWith('/config') && p !== '');
      return c.length >= 11 ? c : undefined;
    });
    for (const [topic, payload] of configs) {
      const component = topic.split('/')[1] as DiscoveryComponent;
      expect({ topic, missing: missingDiscoveryFields(component, JSON.parse(payload) as Record<string, unknown>) }).toEqual({ topic, missing: [] });
    }
    expect(configs.map(([t]) => t).sort()).toEqual(
      [
        'homeassistant/binary_sensor/homenet/console_reachable/config',
        'homeassistant/binary_sensor/homenet/homenet_ipv6_mostly/config',
        'homeassistant/binary_sensor/homenet/plug_protected/config',
        'homeassistant/binary_sensor/homenet/plug_reachable/config',
        'homeassistant/event/homenet/homenet_decision/config',
        'homeassistant/sensor/homenet/console_open_ports/config',
        'homeassistant/sensor/homenet/homenet_enforcement/config',
        'homeassistant/sensor/homenet/homenet_gateway_grade/config',
        'homeassistant/sensor/homenet/homenet_wan_ipv4/config',
        'homeassistant/sensor/homenet/plug_open_ports/config',
        'homeassistant/switch/homenet/console_port_opening/config',
      ],
    );
    // Retained: a subscriber that comes later gets them all.
    const held = await retainedOn(broker.url);
    expect([...held.keys()].filter((t) => t.endsWith('/config')).sort()).toEqual(configs.map(([t]) => t).sort());
    expect(held.get('homenet/status')).toBe('online');
    expect(state('homenet/home/state')).toEqual({ ipv6_mostly: 'OFF', gateway_grade: 'A', wan_ipv4: 'public', enforcement: 'enforced' });
    await until('console state', () => state('homenet/device/console/state')?.reachable === 'OFF');
    expect(state('homenet/device/plug/state')).toEqual({ reachable: 'OFF', open_ports: 0, protected: 'ON' });

    // A grant: reachable within a second.
    const t0 = Date.now();
    daemon.engine.submit({ type: 'need-submitted', need: { id: 'game', requester: { deviceId: 'console', address: CONSOLE }, protocol: 'udp', internalPort: 3074, internalClient: CONSOLE, family: 'ipv6', class: 'game-session', leaseSeconds: 300 } });
    await until('reachable ON', () => state('homenet/device/console/state')?.reachable === 'ON', 1000);
    const reachableMs = Date.now() - t0;
    expect(state('homenet/device/console/state')).toEqual({ reachable: 'ON', open_ports: 1, port_opening: 'ON' });
    expect((state('homenet/device/console/ports')!.grants as unknown[]).length).toBe(1);

    // The plug's refusal arrives as an event (not retained).
    daemon.engine.submit({ type: 'need-submitted', need: { id: 'plug-port', requester: { deviceId: 'plug', address: PLUG }, protocol: 'udp', internalPort: 40420, internalClient: PLUG, family: 'ipv6', class: 'game-session' } });
    const refusal = await until('matter-refused event', () => seen.find((s) => s.topic === 'homenet/home/decision' && s.payload.includes('matter-refused')), 1000);
    expect(refusal.retain).toBe(false);
    expect(JSON.parse(refusal.payload)).toMatchObject({ event_type: 'matter-refused', reason_code: 'matter-device-isolation', rule: 'matter-isolation', device_id: 'plug', need_id: 'plug-port' });

    // The switch OFF from Home Assistant: the grant withdrawn, the next need refused with the owner's reason.
    const t1 = Date.now();
    sub.publish('homenet/device/console/port_opening/set', 'OFF', { qos: 1 });
    await until('switch OFF and reachable OFF', () => state('homenet/device/console/state')?.port_opening === 'OFF' && state('homenet/device/console/state')?.reachable === 'OFF', 1000);
    const switchMs = Date.now() - t1;
    expect(daemon.engine.snapshot().grants).toEqual([]);
    expect(daemon.portOpening!.switchedOff().get('console')).toMatchObject({ by: 'home-assistant' });
    daemon.engine.submit({ type: 'need-submitted', need: { id: 'game-2', requester: { deviceId: 'console', address: CONSOLE }, protocol: 'udp', internalPort: 3075, internalClient: CONSOLE, family: 'ipv6', class: 'game-session' } });
    const owner = await until('port-opening-refused', () => seen.find((s) => s.topic === 'homenet/home/decision' && s.payload.includes('"need_id":"game-2"')), 1000);
    expect(JSON.parse(owner.payload)).toMatchObject({ event_type: 'port-opening-refused', reason_code: 'port-opening-disabled', rule: 'owner-port-opening', text: expect.stringContaining('switched off by the owner (home-assistant)') });

    // The admin API's command: on again.
    await expect(runAdminCommand(daemon, { message_id: 1, command: 'set_port_opening', args: { device_id: 'console', allowed: true } }, { actor: 'test' })).resolves.toEqual({ device_id: 'console', allowed: true, changed: true });
    await until('switch ON', () => state('homenet/device/console/state')?.port_opening === 'ON', 1000);
    await expect(runAdminCommand(daemon, { message_id: 2, command: 'set_port_opening', args: { device_id: 'console', allowed: 'no' } }, { actor: 'test' })).rejects.toThrow(/args.allowed: expected true or false/);

    // Home Assistant restarts: every config again.
    const before = seen.length;
    sub.publish('homeassistant/status', 'online', { qos: 1 });
    await until('configs re-sent', () => seen.slice(before).filter((s) => s.topic.endsWith('/config')).length >= configs.length, 1000);

    // A device that left: its configs and states cleared (empty retained payloads).
    daemon.engine.submit({ type: 'device-left', deviceId: 'plug' });
    await until('plug cleared', () => last.get('homeassistant/binary_sensor/homenet/plug_protected/config') === '' && last.get('homenet/device/plug/state') === '', 1000);
    process.stdout.write(`home assistant bridge (unit, loopback): reachable ${reachableMs} ms, switch ${switchMs} ms\n`);
  });

  it('bad credentials (the password file) in the daemon: one clear log line, retried quietly, nothing published', async () => {
    const guarded = await startMosquitto({ users: { homenet: 'right-password' } });
    const dir = mkdtempSync(join(tmpdir(), 'homenet-mqtt-pw-'));
    let other: GatewayDaemon | undefined;
    try {
      writeFileSync(join(dir, 'pw'), 'wrong-password\n', { mode: 0o600 });
      const world = testWorld();
      let attempts = 0;
      other = await startTestDaemon(world, testConfig({ mqtt: { url: guarded.url, username: 'homenet', passwordFile: join(dir, 'pw'), clientId: 'bad-creds' } }), {
        startHomeAssistant: (services, config, log) =>
          Promise.resolve(startHomeAssistantBridge({ services, settings: config.mqtt!, log, backoff: { initialMs: 20, maxMs: 80 }, connect: (o) => startMqttConnection({ ...o, connect: (url, opts) => (attempts++, connect(url, opts)) }) })),
      });
      await until('five attempts', () => attempts >= 5, 5000);
      const mqttLines = world.lines.filter((l) => l.component === 'homeassistant');
      expect(mqttLines).toEqual([expect.objectContaining({ level: 'warn', msg: 'mqtt broker not reachable', error: expect.stringMatching(/refused the (credentials|connection \(not authorized).*mqtt\.passwordFile/) })]);
      expect(JSON.stringify(mqttLines)).not.toContain('wrong-password');
    } finally {
      await other?.stop();
      await guarded.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('persists the switch beside the journal, 0600, and submits it before the needs at the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'homenet-owner-'));
    try {
      const journal = join(dir, 'gateway.db');
      const a = PortOpeningSettings.besideJournal(journal);
      expect(a.set('console', false, 'home-assistant', 1)).toBe(true);
      expect(a.set('console', false, 'home-assistant', 2)).toBe(false);
      const file = `${journal}.owner-settings.json`;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, portOpeningOff: { console: { by: 'home-assistant', at: 1 } } });
      const b = PortOpeningSettings.besideJournal(journal);
      expect(b.events()).toEqual([{ type: 'owner-port-opening', deviceId: 'console', allowed: false, by: 'home-assistant' }]);
      expect(b.set('console', true, 'admin:x', 3)).toBe(true);
      expect(PortOpeningSettings.besideJournal(journal).events()).toEqual([]);
      expect(PortOpeningSettings.besideJournal(null).set('x', false, 'y', 1)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
