import { VirtualTimeScheduler } from 'rxjs';
import { createPolicyEngine } from '../../../policies';
import { missingDiscoveryFields, REQUIRED_DISCOVERY_FIELDS, topicSlug, DiscoveryComponent } from '../../../plugin/homeassistant/discovery-config';
import { homeViewOf } from '../../../plugin/homeassistant/home-view';
import { discoveryMessagesOf, retainedMessagesOf, stateMessagesOf } from '../../../plugin/homeassistant/retained-messages';
import { notableEventOf, RebootCoalescer } from '../../../plugin/homeassistant/notable-decision';
import type { Decision } from '../../../policies/model/decision';

const topics = { baseTopic: 'homenet', discoveryPrefix: 'homeassistant' };
const identity = { name: 'homenet gateway', deployment: 'gateway' as const, version: '0.1.0' };

/** A small home in a real engine: a console holding a pinhole, a Matter plug, a laptop. */
function home(extra: { switchedOff?: Map<string, { by: string }>; pref64?: string } = {}) {
  const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler(), config: { defaultGatewayId: 'local' } });
  engine.submit({ type: 'gateway-seen', gatewayId: 'local', grade: 'B' });
  engine.submit({ type: 'network-changed', wanIpv4: 'cgnat', ...(extra.pref64 ? { pref64: extra.pref64 } : {}) });
  engine.submit({ type: 'device-seen', deviceId: 'mac:02:00:00:00:00:10', identities: { mac: '02:00:00:00:00:10' }, kinds: [{ kind: 'game-console', evidence: 'config:console' }], addresses: [{ address: '2001:db8:77::10' }] });
  engine.submit({ type: 'device-seen', deviceId: 'plug', kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp X-Y' }], addresses: [{ address: '2001:db8:77::20' }] });
  engine.submit({ type: 'device-seen', deviceId: 'laptop', kinds: [{ kind: 'computer', evidence: 'dhcp' }], addresses: [{ address: '2001:db8:77::30' }] });
  engine.submit({ type: 'need-submitted', need: { id: 'n1', requester: { deviceId: 'mac:02:00:00:00:00:10' }, protocol: 'udp', internalPort: 3074, internalClient: '2001:db8:77::10', family: 'ipv6', class: 'game-session', leaseSeconds: 300 } });
  const snapshot = engine.snapshot();
  engine.dispose();
  return homeViewOf({ snapshot, enforcement: 'enforced', switchedOff: extra.switchedOff ?? new Map(), askedForPorts: new Set(), gatewayId: 'local' });
}

describe('Home Assistant discovery configs', () => {
  it('every config carries the fields Home Assistant requires for its entity type, a unique unique_id and a device with identifiers', () => {
    const messages = discoveryMessagesOf(home(), topics, identity);
    const byComponent = new Map<DiscoveryComponent, number>();
    for (const m of messages) {
      expect({ topic: m.topic, missing: missingDiscoveryFields(m.component, m.config) }).toEqual({ topic: m.topic, missing: [] });
      expect(m.topic).toMatch(new RegExp(`^homeassistant/${m.component}/homenet/[a-z0-9_-]+/config$`));
      expect(m.config.availability_topic).toBe('homenet/status');
      byComponent.set(m.component, (byComponent.get(m.component) ?? 0) + 1);
    }
    expect(Object.keys(REQUIRED_DISCOVERY_FIELDS).every((c) => (byComponent.get(c as DiscoveryComponent) ?? 0) > 0)).toBe(true);
    const ids = messages.map((m) => m.config.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
    const event = messages.find((m) => m.component === 'event')!;
    expect(event.config.event_types).toEqual(['matter-refused', 'port-opening-refused', 'conflict-settled', 'router-reboot-recovered']);
  });

  it('the checker catches a config lacking a required field', () => {
    expect(missingDiscoveryFields('switch', { name: 'x', unique_id: 'u', device: { identifiers: ['d'] }, availability_topic: 'a', payload_available: 'online', payload_not_available: 'offline', origin: {} })).toEqual(['command_topic']);
    expect(missingDiscoveryFields('event', { state_topic: 's', event_types: [] })).toEqual(expect.arrayContaining(['event_types', 'unique_id', 'device']));
    expect(missingDiscoveryFields('sensor', { state_topic: 's', device: { identifiers: [] } })).toContain('device.identifiers');
  });

  it('per device: reachable and open ports for every device, Protected for Matter only, the switch for the console only', () => {
    const names = (slug: string) => discoveryMessagesOf(home(), topics, identity).filter((m) => m.topic.includes(`/${slug}_`)).map((m) => `${m.component}:${m.config.name as string}`).sort();
    const consoleSlug = topicSlug('mac:02:00:00:00:00:10');
    expect(consoleSlug).toBe('mac_02_00_00_00_00_10');
    expect(names(consoleSlug)).toEqual(['binary_sensor:Reachable from the Internet', 'sensor:Open ports', 'switch:Allow port opening']);
    expect(names('plug')).toEqual(['binary_sensor:Protected', 'binary_sensor:Reachable from the Internet', 'sensor:Open ports']);
    expect(names('laptop')).toEqual(['binary_sensor:Reachable from the Internet', 'sensor:Open ports']);
    const sw = discoveryMessagesOf(home(), topics, identity).find((m) => m.component === 'switch')!;
    expect(sw.config).toMatchObject({ command_topic: `homenet/device/${consoleSlug}/port_opening/set`, state_topic: `homenet/device/${consoleSlug}/state`, value_template: '{{ value_json.port_opening }}' });
    expect((sw.config.device as { connections: unknown }).connections).toEqual([['mac', '02:00:00:00:00:10']]);
  });

  it('states: the console reachable with its grant as an attribute, the plug protected with rule and evidence, the home facts', () => {
    const states = stateMessagesOf(home({ pref64: '64:ff9b::/96' }), topics);
    const consoleSlug = topicSlug('mac:02:00:00:00:00:10');
    expect(JSON.parse(states.get(`homenet/device/${consoleSlug}/state`)!)).toEqual({ reachable: 'ON', open_ports: 1, port_opening: 'ON' });
    expect(JSON.parse(states.get(`homenet/device/${consoleSlug}/ports`)!).grants).toEqual([
      { need_id: 'n1', table: 'pinhole', family: 'ipv6', protocol: 'udp', internal_client: '2001:db8:77::10', internal_port: 3074, lease_seconds: expect.any(Number) },
    ]);
    expect(JSON.parse(states.get('homenet/device/plug/state')!)).toEqual({ reachable: 'OFF', open_ports: 0, protected: 'ON' });
    expect(JSON.parse(states.get('homenet/device/plug/protection')!)).toEqual({ rule: 'matter-isolation', kind: 'matter', evidence: 'mdns:_matter._tcp X-Y', owner_allowed: false });
    expect(JSON.parse(states.get('homenet/home/state')!)).toEqual({ ipv6_mostly: 'ON', gateway_grade: 'B', wan_ipv4: 'cgnat', enforcement: 'enforced' });
    expect(JSON.parse(states.get('homenet/home/ipv6_mostly')!)).toMatchObject({ pref64: '64:ff9b::/96' });
    expect(JSON.parse(stateMessagesOf(home(), topics).get('homenet/home/state')!).ipv6_mostly).toBe('OFF');
  });

  it('a switched-off console shows the switch OFF and who switched it', () => {
    const states = stateMessagesOf(home({ switchedOff: new Map([['mac:02:00:00:00:00:10', { by: 'home-assistant' }]]) }), topics);
    expect(JSON.parse(states.get('homenet/device/mac_02_00_00_00_00_10/state')!).port_opening).toBe('OFF');
    expect(JSON.parse(states.get('homenet/device/mac_02_00_00_00_00_10/ports')!).port_opening_switched_off_by).toBe('home-assistant');
  });

  it('retained messages are configs and states, every payload JSON', () => {
    const all = retainedMessagesOf(home(), topics, identity);
    expect(all.size).toBeGreaterThan(15);
    for (const payload of all.values()) expect(() => JSON.parse(payload) as unknown).not.toThrow();
  });
});

describe('notable decisions (the Decision event entity)', () => {
  const decision = (verdict: Decision['verdict'], reasons: Decision['reasons']): Decision =>
    ({ type: 'decision', seq: 1, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'plug', verdict, reasons, changes: [], grants: [] });

  it('a Matter refusal, an owner refusal, a settled conflict and a reboot recovery are events with reason code and text; routine grants are not', () => {
    expect(notableEventOf(decision('denied', [{ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: 'plug' }, detail: 'plug is matter (mdns)' }]))).toEqual({
      event_type: 'matter-refused', reason_code: 'matter-device-isolation', rule: 'matter-isolation', text: 'matter-isolation/matter-device-isolation (device plug): plug is matter (mdns)', device_id: 'plug', need_id: 'n', verdict: 'denied',
    });
    expect(notableEventOf(decision('denied', [{ rule: 'owner-port-opening', code: 'port-opening-disabled', detail: 'x' }]))?.event_type).toBe('port-opening-refused');
    expect(notableEventOf(decision('withdrawn', [{ rule: 'capacity', code: 'preempted', conflictsWith: { kind: 'need', id: 'other' } }]))?.event_type).toBe('conflict-settled');
    expect(notableEventOf(decision('granted', [{ rule: 'router-feedback', code: 'gateway-rebooted' }]))?.event_type).toBe('router-reboot-recovered');
    expect(notableEventOf(decision('granted', [{ rule: 'capacity', code: 'admitted' }]))).toBeUndefined();
    expect(notableEventOf(decision('granted', [{ rule: 'matter-isolation', code: 'owner-allowed' }]))).toBeUndefined();
  });

  it('one reboot event per reboot burst', () => {
    const c = new RebootCoalescer(5000);
    const e = notableEventOf(decision('granted', [{ rule: 'router-feedback', code: 'gateway-rebooted' }]))!;
    expect([c.admit(e, 0), c.admit(e, 10), c.admit(e, 4999), c.admit(e, 6000)]).toEqual([true, false, false, true]);
  });
});
