/**
 * Issue 12's MQTT acceptance in the lab: the lab router runs
 * `homenet serve --mode gateway` with an `mqtt` section; a real mosquitto
 * runs in the lab's `hub` namespace (the LAN host a home hub would be), and a
 * real MQTT subscriber (the `mqtt` library, in a child process in that same
 * namespace) watches everything. Unmodified `upnpc` in the console and the
 * plug.
 *
 * - every discovery config is there, retained, with the fields Home Assistant
 *   requires for its entity type;
 * - the console's "Reachable from the Internet" turns ON within 1 s of
 *   `upnpc -6 -A` and OFF after `upnpc -6 -D`;
 * - the plug's own request is refused and arrives as a `matter-refused` event;
 * - "Allow port opening" OFF for the console: its next request is refused
 *   (606) with owner-port-opening/port-opening-disabled;
 * - mosquitto killed and restarted: discovery and states back, the change
 *   made while it was down included.
 *
 * The measured numbers are printed at the end.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { runCommand } from '../../../adapters/system/run-command';
import { DiscoveryComponent, missingDiscoveryFields } from '../../../plugin/homeassistant/discovery-config';
import { adminGet, temporaryAddress, upnpc } from '../gateway/gateway-lab-support';
import { MosquittoBroker, startMosquitto } from './mosquitto-broker';
import { until } from '../../support/until';

jest.setTimeout(180_000);

const REPO = join(__dirname, '../../..');

interface Message {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly at: number;
}

/**
 * A real MQTT client (the `mqtt` library) in a lab namespace: prints every
 * message as a JSON line, publishes what it is given on stdin.
 */
const WATCHER = `
const mqtt = require('mqtt');
const c = mqtt.connect(process.argv[1], { reconnectPeriod: 200, clientId: 'lab-watcher-' + process.pid });
c.on('connect', () => { c.subscribe('#', { qos: 1 }); process.stdout.write(JSON.stringify({ connected: true, at: Date.now() }) + '\\n'); });
c.on('message', (topic, payload, packet) => process.stdout.write(JSON.stringify({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }) + '\\n'));
c.on('error', () => undefined);
require('readline').createInterface({ input: process.stdin }).on('line', (l) => { const m = JSON.parse(l); c.publish(m.topic, m.payload, { qos: 1, retain: !!m.retain }); });
`;

/** What a fresh subscriber gets retained, printed once as JSON. */
const RETAINED = `
const mqtt = require('mqtt');
const c = mqtt.connect(process.argv[1], { reconnectPeriod: 0, clientId: 'lab-retained-' + process.pid });
const held = {};
c.on('message', (topic, payload, packet) => { if (packet.retain) held[topic] = payload.toString(); });
c.on('connect', () => c.subscribe('#', { qos: 1 }, () => setTimeout(() => { process.stdout.write(JSON.stringify(held)); c.end(true); process.exit(0); }, 500)));
c.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });
`;

class Watcher {
  readonly messages: Message[] = [];
  readonly last = new Map<string, string>();
  private readonly proc: ChildProcess;

  constructor(namespace: string, url: string) {
    this.proc = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', WATCHER, url], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Message & { connected?: boolean };
      if (m.connected) return;
      this.messages.push(m);
      this.last.set(m.topic, m.payload);
    });
  }

  publish(topic: string, payload: string): void {
    this.proc.stdin!.write(`${JSON.stringify({ topic, payload })}\n`);
  }

  json(topic: string): Record<string, unknown> | undefined {
    const p = this.last.get(topic);
    return p ? (JSON.parse(p) as Record<string, unknown>) : undefined;
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

async function retainedIn(namespace: string, url: string): Promise<Map<string, string>> {
  const { stdout } = await runCommand('ip', ['netns', 'exec', namespace, process.execPath, '-e', RETAINED, url], { cwd: REPO, timeoutMs: 15_000 });
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, string>));
}

interface ApiDecision {
  needId: string;
  verdict: string;
  reasons: { rule: string; code: string; detail?: string }[];
}

describeInLab('Home Assistant over MQTT: real mosquitto, the gateway in the lab router (issue 12)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;
  let broker: MosquittoBroker | undefined;
  let watcher: Watcher | undefined;
  const numbers: Record<string, number> = {};
  let consoleSlug = '';
  const hubNs = () => lab!.plan.hosts.hub.namespace;
  const deviceState = (slug: string) => watcher!.json(`homenet/device/${slug}/state`);
  /** The slug of the device whose `ports` attributes list `address`. */
  const slugOf = (address: string) => {
    for (const [topic, payload] of watcher!.last) {
      const m = /^homenet\/device\/([^/]+)\/ports$/.exec(topic);
      if (m && payload && (JSON.parse(payload) as { addresses: string[] }).addresses.includes(address)) return m[1];
    }
    return undefined;
  };

  beforeAll(async () => {
    lab = await startTestLab('ha');
    const hubIpv4 = lab.plan.hosts.hub.interfaces[0].ipv4[0].address;
    broker = await startMosquitto({ namespace: hubNs(), host: hubIpv4, port: 18830 + (process.pid % 1000) });
    watcher = new Watcher(hubNs(), broker.url);
    const startAt = Date.now();
    router = await useHomenetRouter({ prefix: lab.plan.prefix, config: { mqtt: { url: broker.url } } });
    numbers.daemonStartMs = Date.now() - startAt;
  });
  afterAll(async () => {
    watcher?.stop();
    await broker?.stop();
    await stopTestLab(lab);
    process.stdout.write(`home assistant mqtt lab numbers: ${JSON.stringify(numbers)}\n`);
  });

  it('every discovery config is published, retained, with the fields Home Assistant requires for its entity type', async () => {
    await until('online', () => watcher!.last.get('homenet/status') === 'online', 15_000);
    const configs = await until('home and plug configs', () => {
      const c = [...watcher!.last].filter(([t, p]) => t.endsWith('/config') && p !== '');
      return c.some(([t]) => t.includes('/plug_protected/')) && c.some(([t]) => t.includes('_decision/')) ? c : undefined;
    }, 5000);
    for (const [topic, payload] of configs) {
      const component = topic.split('/')[1] as DiscoveryComponent;
      const config = JSON.parse(payload) as Record<string, unknown>;
      expect({ topic, missing: missingDiscoveryFields(component, config) }).toEqual({ topic, missing: [] });
      expect(config.availability_topic).toBe('homenet/status');
    }
    const held = await retainedIn(hubNs(), broker!.url);
    for (const [topic, payload] of configs) expect(held.get(topic)).toBe(payload);
    const components = new Set(configs.map(([t]) => t.split('/')[1]));
    expect([...components].sort()).toEqual(['binary_sensor', 'event', 'sensor']);
    expect(watcher!.json('homenet/home/state')).toEqual({ ipv6_mostly: 'OFF', gateway_grade: 'A', wan_ipv4: expect.stringMatching(/^(public|private|cgnat|none)$/), enforcement: 'enforced' });
    expect(watcher!.json('homenet/device/plug/state')).toEqual({ reachable: 'OFF', open_ports: 0, protected: 'ON' });
    expect(watcher!.json('homenet/device/plug/protection')).toMatchObject({ rule: 'matter-isolation', kind: 'matter', evidence: 'config:devices.known' });
    numbers.discoveryConfigs = configs.length;
  });

  it("the console's \"Reachable from the Internet\" turns ON within 1 s of upnpc -6 -A, and OFF after upnpc -6 -D", async () => {
    const temporary = await temporaryAddress(lab!, 'console');
    const startedAt = Date.now();
    const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '42300', 'UDP', '300']);
    const answeredAt = Date.now();
    const id = /Pinhole ID = (\d+)/.exec(add.stdout)?.[1];
    expect(id).toBeDefined();
    const on = await until('reachable ON', () => {
      const slug = slugOf(temporary);
      if (!slug) return undefined;
      const m = watcher!.messages.find((x) => x.topic === `homenet/device/${slug}/state` && x.at >= startedAt && (JSON.parse(x.payload) as { reachable: string }).reachable === 'ON');
      return m ? { slug, at: m.at } : undefined;
    }, 1000);
    consoleSlug = on.slug;
    numbers.reachableOnAfterAnswerMs = on.at - answeredAt;
    numbers.reachableOnAfterRequestStartMs = on.at - startedAt;
    expect(on.at - answeredAt).toBeLessThan(1000);
    // From the engine's decision (its time is the daemon's wall clock) to the subscriber.
    const grantedDecision = (await adminGet<(ApiDecision & { at: number })[]>(lab!, router, '/api/decisions?limit=1000')).find((d) => d.needId.includes(temporary) && d.needId.includes('42300') && d.verdict === 'granted');
    expect(grantedDecision).toBeDefined();
    numbers.reachableOnAfterDecisionMs = on.at - grantedDecision!.at;
    expect(on.at - grantedDecision!.at).toBeLessThan(1000);
    expect(deviceState(consoleSlug)).toMatchObject({ reachable: 'ON', open_ports: 1 });
    expect((watcher!.json(`homenet/device/${consoleSlug}/ports`)!.grants as { internal_port: number; internal_client: string }[])).toEqual([
      expect.objectContaining({ internal_port: 42300, internal_client: temporary, family: 'ipv6', table: 'pinhole' }),
    ]);
    // The console asked for ports: its "Allow port opening" switch appears, ON.
    await until('the switch config', () => watcher!.last.get(`homeassistant/switch/homenet/${consoleSlug}_port_opening/config`) || undefined, 1000);
    expect(deviceState(consoleSlug)).toMatchObject({ port_opening: 'ON' });

    const delAt = Date.now();
    const del = await upnpc(lab!, 'console', ['-6', '-D', id!]);
    expect(del.stdout).toContain('UPNP_DeletePinhole() returned : 0');
    const off = await until('reachable OFF', () => watcher!.messages.find((x) => x.topic === `homenet/device/${consoleSlug}/state` && x.at >= delAt && (JSON.parse(x.payload) as { reachable: string }).reachable === 'OFF'), 1000);
    numbers.reachableOffAfterDeleteStartMs = off.at - delAt;
    const withdrawn = (await adminGet<(ApiDecision & { at: number })[]>(lab!, router, '/api/decisions?limit=1000')).find((d) => d.needId.includes(temporary) && d.needId.includes('42300') && d.verdict === 'withdrawn');
    expect(withdrawn).toBeDefined();
    numbers.reachableOffAfterDecisionMs = off.at - withdrawn!.at;
    expect(off.at - withdrawn!.at).toBeLessThan(1000);
    expect(deviceState(consoleSlug)).toMatchObject({ reachable: 'OFF', open_ports: 0 });
  });

  it("the plug's own upnpc request is refused (606) and arrives as a matter-refused event with the reason", async () => {
    const plugTemporary = await temporaryAddress(lab!, 'plug');
    const at = Date.now();
    const refused = await upnpc(lab!, 'plug', ['-6', '-A', '', '0', plugTemporary, '40420', 'UDP', '300']);
    expect(refused.stdout).toContain('failed with code 606');
    const event = await until('matter-refused event', () => watcher!.messages.find((m) => m.topic === 'homenet/home/decision' && m.at >= at && m.payload.includes('matter-refused')), 1000);
    numbers.refusalEventAfterRequestStartMs = event.at - at;
    expect(event.retain).toBe(false);
    expect(JSON.parse(event.payload)).toMatchObject({ event_type: 'matter-refused', rule: 'matter-isolation', reason_code: 'matter-device-isolation', device_id: 'plug', verdict: 'denied', text: expect.stringContaining('plug is matter') });
  });

  it('"Allow port opening" OFF for the console: its next upnpc request is refused with that reason; ON again: granted', async () => {
    expect(consoleSlug).not.toBe('');
    const temporary = await temporaryAddress(lab!, 'console');
    const at = Date.now();
    watcher!.publish(`homenet/device/${consoleSlug}/port_opening/set`, 'OFF');
    await until('switch OFF', () => deviceState(consoleSlug)?.port_opening === 'OFF', 1000);
    numbers.switchOffStateMs = Date.now() - at;
    const refused = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '42301', 'UDP', '300']);
    expect(refused.stdout).toContain('failed with code 606');
    const decision = (await adminGet<ApiDecision[]>(lab!, router, '/api/decisions?limit=1000')).reverse().find((d) => d.needId.includes(temporary) && d.needId.includes('42301'));
    expect(decision).toMatchObject({ verdict: 'denied', reasons: [{ rule: 'owner-port-opening', code: 'port-opening-disabled', detail: expect.stringContaining('switched off by the owner (home-assistant)') }] });
    const event = await until('port-opening-refused event', () => watcher!.messages.find((m) => m.topic === 'homenet/home/decision' && m.at >= at && m.payload.includes('port-opening-refused')), 1000);
    expect(JSON.parse(event.payload)).toMatchObject({ reason_code: 'port-opening-disabled', rule: 'owner-port-opening' });

    watcher!.publish(`homenet/device/${consoleSlug}/port_opening/set`, 'ON');
    await until('switch ON', () => deviceState(consoleSlug)?.port_opening === 'ON', 1000);
    const granted = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '42302', 'UDP', '300']);
    expect(granted.stdout).toMatch(/Pinhole ID = \d+/);
    await until('reachable ON again', () => deviceState(consoleSlug)?.reachable === 'ON', 1000);
  });

  it('mosquitto killed and restarted: discovery and states come back, including a change made while it was down', async () => {
    const before = await retainedIn(hubNs(), broker!.url);
    expect(before.get(`homenet/device/${consoleSlug}/state`)).toContain('"reachable":"ON"');
    await broker!.kill();
    const killedAt = Date.now();
    // While the broker is down, the console's pinhole ends (closed through the admin API).
    const pinhole = (await adminGet<{ id: string; internalPort: number }[]>(lab!, router, '/api/needs')).find((n) => n.internalPort === 42302);
    expect(pinhole).toBeDefined();
    await runCommand('ip', ['netns', 'exec', lab!.plan.hosts.hub.namespace, 'curl', '-s', '-m', '10', '-H', `Authorization: Bearer ${router.admin.token}`, '--data-binary', JSON.stringify({ message_id: 'close', command: 'close_port', args: { need_id: pinhole!.id } }), `${router.admin.url}/api/command`]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await broker!.start();
    const restartedAt = Date.now();
    numbers.brokerDownMs = restartedAt - killedAt;
    await until('status online again', async () => (await retainedIn(hubNs(), broker!.url)).get('homenet/status') === 'online' || undefined, 40_000, 200);
    numbers.backOnlineAfterBrokerRestartMs = Date.now() - restartedAt;
    const after = await until('everything back', async () => {
      const held = await retainedIn(hubNs(), broker!.url);
      return [...before.keys()].every((t) => held.has(t)) ? held : undefined;
    }, 5000, 200);
    for (const [topic, payload] of before) {
      if (topic === `homenet/device/${consoleSlug}/state` || topic === `homenet/device/${consoleSlug}/ports`) continue;
      expect({ topic, payload: after.get(topic) }).toEqual({ topic, payload });
    }
    expect(JSON.parse(after.get(`homenet/device/${consoleSlug}/state`)!)).toMatchObject({ reachable: 'OFF', open_ports: 0, port_opening: 'ON' });
    // The daemon's log about the broker going away and coming back: a few lines, no stack traces.
    const log = (await runCommand('grep', ['mqtt', router.paths.log], { allowFailure: true })).stdout.trim().split('\n');
    process.stdout.write(`daemon mqtt log lines:\n${log.join('\n')}\n`);
    expect(log.length).toBeLessThanOrEqual(6);
    expect(log.join('\n')).not.toMatch(/\n\s+at /);
    numbers.mqttLogLines = log.length;
  });
});

describeInLab('Home Assistant over MQTT: the IPv6-mostly lab (PREF64 in the router advertisements)', () => {
  let lab: LabHandle | undefined;
  let broker: MosquittoBroker | undefined;
  let watcher: Watcher | undefined;

  beforeAll(async () => {
    lab = await startTestLab('hm', { profile: 'ipv6-mostly' });
    const hub = lab.plan.hosts.hub;
    broker = await startMosquitto({ namespace: hub.namespace, host: hub.interfaces[0].ipv4[0].address, port: 18830 + (process.pid % 1000) });
    watcher = new Watcher(hub.namespace, broker.url);
    await useHomenetRouter({ prefix: lab.plan.prefix, config: { mqtt: { url: broker.url } } });
  });
  afterAll(async () => {
    watcher?.stop();
    await broker?.stop();
    await stopTestLab(lab);
  });

  it('"IPv6-mostly" is ON with the PREF64 the router advertises as its attribute', async () => {
    const startedAt = Date.now();
    await until('IPv6-mostly ON', () => watcher!.json('homenet/home/state')?.ipv6_mostly === 'ON', 30_000, 50);
    const attributes = watcher!.json('homenet/home/ipv6_mostly')!;
    expect(attributes.pref64).toMatch(/^[0-9a-f:]+\/96$/);
    process.stdout.write(`home assistant mqtt lab (ipv6-mostly): IPv6-mostly ON ${Date.now() - startedAt} ms after the daemon was up, pref64 ${String(attributes.pref64)}\n`);
  });
});
