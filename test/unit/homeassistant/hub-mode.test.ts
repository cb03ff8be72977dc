/**
 * Hub mode runs the same daemon, so the same bridge: a hub with an `mqtt`
 * section, a real mosquitto on loopback, a console asking the hub for a port
 * and the Matter plug refused, the switch refusing the console's next ask.
 */
import type { MqttClient } from 'mqtt';
import type { HubDaemon } from '../../../plugin/hub/hub-daemon';
import { missingDiscoveryFields, DiscoveryComponent } from '../../../plugin/homeassistant/discovery-config';
import { MosquittoBroker, startMosquitto, watchEverything } from '../../integration/homeassistant/mosquitto-broker';
import { until } from '../../support/until';
import { CONSOLE, PLUG, call, hubConfig, startTestHub } from '../hub/hub-support';

jest.setTimeout(30_000);

describe('plugin/homeassistant in hub mode', () => {
  let broker: MosquittoBroker;
  let hub: HubDaemon | undefined;
  let sub: MqttClient;
  const last = new Map<string, string>();
  const events: Record<string, unknown>[] = [];
  const json = (topic: string) => (last.get(topic) ? (JSON.parse(last.get(topic)!) as Record<string, unknown>) : undefined);

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await watchEverything(broker.url, (topic, payload) => {
      last.set(topic, payload.toString());
      if (topic === 'hn/home/decision') events.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
  });
  afterAll(async () => {
    await hub?.stop();
    sub.end(true);
    await broker.stop();
  });

  it('publishes the hub as the controller device, advised, with the same entities; the switch works through the hub', async () => {
    ({ hub } = await startTestHub(hubConfig({ mqtt: { url: broker.url, baseTopic: 'hn', discoveryPrefix: 'ha' } })));
    const decision = await until('the event config', () => last.get('ha/event/hn/hn_decision/config'));
    const config = JSON.parse(decision) as { device: { name: string; model: string } };
    expect(config.device).toMatchObject({ name: 'homenet hub', model: 'homenet hub' });
    expect(missingDiscoveryFields('event', config as unknown as Record<string, unknown>)).toEqual([]);
    await until('home state', () => json('hn/home/state'));
    expect(json('hn/home/state')).toMatchObject({ enforcement: hub.daemon.deploymentInfo().enforcement, gateway_grade: 'A' });

    const asked = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 600 });
    expect(asked.status).toBe(200);
    const consoleState = await until('a device reachable', () => [...last].find(([t, p]) => /^hn\/device\/[^/]+\/state$/.test(t) && p.includes('"reachable":"ON"')), 1000);
    const slug = consoleState[0].split('/')[2];
    await until('the console switch', () => last.get(`ha/switch/hn/${slug}_port_opening/config`), 1000);
    for (const [topic, payload] of last) {
      if (!topic.endsWith('/config') || payload === '') continue;
      expect({ topic, missing: missingDiscoveryFields(topic.split('/')[1] as DiscoveryComponent, JSON.parse(payload) as Record<string, unknown>) }).toEqual({ topic, missing: [] });
    }

    const plug = await call(hub, PLUG, 'POST', '/homenet/v1/needs', { protocol: 'tcp', internalPort: 8080, family: 'ipv4' });
    expect(plug.status).toBe(403);
    await until('matter-refused', () => events.find((e) => e.event_type === 'matter-refused'), 1000);

    sub.publish(`hn/device/${slug}/port_opening/set`, 'OFF', { qos: 1 });
    await until('switch OFF, reachable OFF', () => json(`hn/device/${slug}/state`)?.port_opening === 'OFF' && json(`hn/device/${slug}/state`)?.reachable === 'OFF', 1000);
    const again = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3075, family: 'ipv4', leaseSeconds: 600 });
    expect(again.status).toBe(403);
    expect(JSON.stringify(again.body.reasons)).toContain('port-opening-disabled');
  });
});
