import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GATEWAY_CONFIG, GatewayConfigError, loadGatewayConfig, parseGatewayConfig, readMqttPassword } from '../../../plugin/gateway/gateway-config';
import { createLogger } from '../../../plugin/gateway/structured-log';
import { main } from '../../../plugin/cli/main';
import { homenetRouterConfig, homenetRouterPaths } from '../../../plugin/lab/homenet-router';
import { labPlan } from '../../../plugin/lab/lab-plan';

const TOKEN = { admin: { token: 'a-token-long-enough' } };

function errorOf(input: unknown, readFile?: (p: string) => string): string {
  try {
    parseGatewayConfig(input, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a GatewayConfigError');
}

describe('gateway configuration', () => {
  it('fills every default', () => {
    const config = parseGatewayConfig(TOKEN);
    expect(config).toMatchObject({ ...DEFAULT_GATEWAY_CONFIG, admin: { ...DEFAULT_GATEWAY_CONFIG.admin, token: 'a-token-long-enough' } });
  });

  it('names the bad key and value', () => {
    expect(errorOf({ ...TOKEN, admin: { ...TOKEN.admin, listen: '8080' } })).toBe(`config key 'admin.listen': expected "host:port" (or "[v6]:port") with a port in 0..65535, got "8080"`);
    expect(errorOf({ ...TOKEN, lan: { interfaces: ['lan0', 'this-name-is-too-long'] } })).toContain(`'lan.interfaces[1]'`);
    expect(errorOf({ ...TOKEN, leases: { capSeconds: { 'game-session': 100000 } } })).toBe(`config key 'leases.capSeconds.game-session': expected an integer in 2..86400, got 100000`);
    expect(errorOf({ ...TOKEN, log: { level: 'loud' } })).toBe(`config key 'log.level': expected one of "debug", "info", "warn", "error", got "loud"`);
    expect(errorOf({ ...TOKEN, firewal: {} })).toContain(`config key 'firewal': expected one of the known top-level keys`);
    expect(errorOf({ ...TOKEN, firewall: { table: 'filter' } })).toContain(`'firewall.table'`);
    expect(errorOf({ ...TOKEN, wan: { interface: 'lan0' } })).toContain(`'wan.interface'`);
    expect(errorOf({ ...TOKEN, wan: { ipv4: { source: 'static', address: '2001:db8::1' } } })).toBe(`config key 'wan.ipv4.address': expected an IPv4 address, got "2001:db8::1"`);
    expect(errorOf({ ...TOKEN, devices: { known: [{ id: 'plug', mac: 'zz' }] } })).toContain(`'devices.known[0].mac'`);
    expect(errorOf({ ...TOKEN, devices: { known: [{ id: 'plug', mac: '02:00:00:00:00:01' }], allow: ['lock'] } })).toContain(`'devices.allow[0]'`);
    expect(errorOf({})).toContain(`'admin.token'`);
    expect(errorOf({ admin: { token: 'short' } })).toBe(`config key 'admin.token': expected a token of at least 16 characters without spaces, got "(hidden)"`);
  });

  // One bad key per config; the message names the key path and the value found.
  it.each<[string, unknown, string]>([
    ['a string for an integer', { upnp: { httpPort: 'abc' } }, `config key 'upnp.httpPort': expected an integer in 1..65535, got "abc"`],
    ['an integer out of range', { leases: { maxPinholes: 0 } }, `config key 'leases.maxPinholes': expected an integer in 1..1000000, got 0`],
    ['a fraction', { admin: { burst: 1.5 } }, `config key 'admin.burst': expected an integer in 1..100000, got 1.5`],
    ['a string for a boolean', { firewall: { enabled: 'yes' } }, `config key 'firewall.enabled': expected true or false, got "yes"`],
    ['an unknown key in a section', { upnp: { leaseCapSeconds: 60 } }, `config key 'upnp.leaseCapSeconds': expected one of the known keys of 'upnp' (enabled, httpPort, class, answerAfter, maxConnections, maxConnectionsPerSource), got 60`],
    ['an unknown need class', { leases: { capSeconds: { bulk: 60 } } }, `config key 'leases.capSeconds.bulk': expected one of the known keys of 'leases.capSeconds' (game-session, voice, service, admin), got 60`],
    ['a section that is not an object', { devices: [] }, `config key 'devices': expected an object, got []`],
    ['a list that is not a list', { lan: { interfaces: 'lan0' } }, `config key 'lan.interfaces': expected a list, got "lan0"`],
    ['an empty interface list', { lan: { interfaces: [] } }, `config key 'lan.interfaces': expected at least one interface, got []`],
    ['a bad address in a device', { devices: { known: [{ id: 'plug', addresses: ['2001:db8::1', 'nope'] }] } }, `config key 'devices.known[0].addresses[1]': expected an IP address, got "nope"`],
    ['a device with neither mac nor address', { devices: { known: [{ id: 'plug' }] } }, `config key 'devices.known[0]': expected a device with a "mac" or at least one address, got {"id":"plug","kind":"matter","addresses":[]}`],
    ['an unknown device kind', { devices: { known: [{ id: 'tv', kind: 'telly', mac: '02:00:00:00:00:09' }] } }, `config key 'devices.known[0].kind': expected one of "matter", "thread-border-router", "iot", "game-console", "hub", "router", "computer", "phone", "unknown", got "telly"`],
    ['a duplicate device id', { devices: { known: [{ id: 'a', mac: '02:00:00:00:00:01' }, { id: 'a', mac: '02:00:00:00:00:02' }] } }, `config key 'devices.known[1].id': expected an id not used by another device, got "a"`],
    ['admin as upnp class', { upnp: { class: 'admin' } }, `config key 'upnp.class': expected one of "game-session", "voice", "service", got "admin"`],
    ['a listen host that is a name', { admin: { listen: 'router.lan:8780' } }, `config key 'admin.listen': expected "host:port" (or "[v6]:port") with a port in 0..65535; the host must be an IP address, got "router.lan:8780"`],
    ['static WAN IPv4 without address', { wan: { ipv4: { source: 'static' } } }, `config key 'wan.ipv4.address': expected an IPv4 address, got nothing`],
    ['an address without static source', { wan: { ipv4: { address: '198.51.100.1' } } }, `config key 'wan.ipv4.address': expected no address unless wan.ipv4.source is "static", got "198.51.100.1"`],
    ['token and token file', { admin: { token: 'a-token-long-enough', tokenFile: '/t' } }, `config key 'admin.tokenFile': expected either admin.token or admin.tokenFile, not both, got "/t"`],
    ['a relative state dir', { stateDir: 'var/lib/homenet' }, `config key 'stateDir': expected an absolute directory path, got "var/lib/homenet"`],
    ['not an object at all', [1], `config key '(top level)': expected a JSON object, got [1]`],
  ])('%s', (_name, input, message) => {
    const withToken = Array.isArray(input) ? input : { ...(input as object), admin: { token: 'a-token-long-enough', ...((input as { admin?: object }).admin ?? {}) } };
    expect(errorOf(withToken)).toBe(message);
  });

  it('the config the lab router writes still loads', async () => {
    const plan = labPlan({ prefix: 'cfgunit', runDir: '/nonexistent/cfgunit' });
    const written = JSON.parse(JSON.stringify(await homenetRouterConfig(plan, { config: { leases: { capSeconds: { 'game-session': 60 } } } }))) as unknown;
    const config = parseGatewayConfig(written, (path) => {
      expect(path).toBe(homenetRouterPaths(plan).token);
      return 'lab-token-0123456789abcdef\n';
    });
    expect(config.lan.interfaces).toEqual([plan.lan.bridge]);
    expect(config.admin).toMatchObject({ listen: { host: plan.lan.routerIpv4, port: 8780 }, token: 'lab-token-0123456789abcdef', tokenFile: homenetRouterPaths(plan).token });
    expect(config.leases.capSeconds).toEqual({ 'game-session': 60 });
    expect(config.devices.known.map((d) => d.id)).toEqual(['plug', 'lock']);
    expect(config.devices.known[0].addresses).toContain('2001:db8:77::20');
    expect(config.devices.observe).toEqual({ matter: true, ipv6Mostly: true });
  });

  it('reads the token from a file, and lets the admin API be off', () => {
    expect(parseGatewayConfig({ admin: { tokenFile: '/t' } }, () => 'from-a-file-0123456789\n').admin.token).toBe('from-a-file-0123456789');
    expect(errorOf({ admin: { tokenFile: '/missing' } }, () => {
      throw new Error('ENOENT');
    })).toContain(`'admin.tokenFile'`);
    expect(parseGatewayConfig({ admin: { listen: null } }).admin.listen).toBeNull();
    expect(parseGatewayConfig({ ...TOKEN, admin: { ...TOKEN.admin, listen: '[::1]:9000' } }).admin.listen).toEqual({ host: '::1', port: 9000 });
  });

  it('a file that is not JSON says so', () => {
    expect(() => loadGatewayConfig('/etc/x.json', () => '{ nope')).toThrow(/config file \/etc\/x.json is not valid JSON/);
    expect(() => loadGatewayConfig('/etc/x.json', () => '{"admin":{"listen":null},"log":{"level":1}}')).toThrow(`/etc/x.json: config key 'log.level'`);
  });

  it('homenet serve --check prints the effective config (defaults in, token redacted) and exits 0; a bad key exits 2 naming key and value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homenet-serve-check-'));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), interrupted: () => new Promise<void>(() => undefined) };
      const good = join(dir, 'gateway.json');
      writeFileSync(good, JSON.stringify({ lan: { interfaces: ['br0'] }, wan: { interface: 'eth0' }, admin: { token: 'a-secret-token-0123456789' }, upnp: { httpPort: 5555 } }));
      expect(await main(['serve', '--mode', 'gateway', '--check', '--config', good, '--state-dir', join(dir, 'state')], io)).toBe(0);
      expect(err).toEqual([]);
      const printed = JSON.parse(out.join('\n')) as { ok: boolean; config: Record<string, Record<string, unknown>> };
      expect(printed.ok).toBe(true);
      expect((printed as unknown as { chosen: unknown }).chosen).toEqual({
        interfaces: { wan: 'eth0', lan: ['br0'], detected: false, why: { wan: 'eth0: set by wan.interface', lan: 'br0: set by lan.interfaces' } },
        token: { origin: 'inline' },
      });
      expect(printed.config.upnp).toEqual({ ...DEFAULT_GATEWAY_CONFIG.upnp, httpPort: 5555 });
      expect(printed.config.journal).toEqual({ ...DEFAULT_GATEWAY_CONFIG.journal, path: join(dir, 'state', 'gateway.db') });
      expect(printed.config.admin).toMatchObject({ listen: { host: '127.0.0.1', port: 8780 }, token: '(redacted)', maxConnections: 32 });
      expect(out.join('\n')).not.toContain('a-secret-token-0123456789');
      expect(existsSync(join(dir, 'state'))).toBe(false);

      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ lan: { interfaces: ['br0'] }, wan: { interface: 'eth0' }, admin: { listen: null }, leases: { maxPerClient: 'abc' } }));
      expect(await main(['serve', '--mode', 'gateway', '--check', '--config', bad], io)).toBe(2);
      expect(err.pop()).toBe(`homenet serve: ${bad}: config key 'leases.maxPerClient': expected an integer in 1..1000000, got "abc"`);
      writeFileSync(bad, '{ not json');
      expect(await main(['serve', '--mode', 'gateway', '--check', '--config', bad], io)).toBe(2);
      expect(err.pop()).toContain(`config file ${bad} is not valid JSON`);
      expect(await main(['serve', '--mode', 'gateway', '--check', '--config', join(dir, 'missing.json')], io)).toBe(2);
      expect(err.pop()).toContain('cannot read config file');
      expect(await main(['serve', '--mode', 'router'], io)).toBe(2);
      expect(err.join('\n')).toContain("unknown mode 'router'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs are JSON lines with time, level, component, msg and fields', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', now: () => 0, write: (l) => lines.push(l) });
    log.child('journal').info('recovered', { needs: 3, msg: 'not overwritten' });
    log.debug('dropped');
    expect(lines).toEqual(['{"time":"1970-01-01T00:00:00.000Z","level":"info","component":"journal","msg":"recovered","needs":3}\n']);
  });
});

describe('gateway configuration: the mqtt section (Home Assistant)', () => {
  const files: Record<string, string> = { '/pw': 'secret-pass\n', '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY', '/empty': '' };
  const read = (p: string) => {
    if (p in files) return files[p];
    throw new Error(`ENOENT: no such file '${p}'`);
  };

  it('is off unless configured, and fills its defaults', () => {
    expect(parseGatewayConfig(TOKEN).mqtt).toBeUndefined();
    expect(parseGatewayConfig({ ...TOKEN, mqtt: { url: 'mqtt://192.168.1.2:1883' } }).mqtt).toEqual({
      url: 'mqtt://192.168.1.2:1883',
      baseTopic: 'homenet',
      discoveryPrefix: 'homeassistant',
      clientId: 'homenet-gateway-homenet',
    });
  });

  it('checks the password file (the password itself is not kept in the config --check prints) and keeps TLS file names for mqtts://', () => {
    const config = parseGatewayConfig(
      { ...TOKEN, mqtt: { url: 'mqtts://broker.lan:8883', username: 'homenet', passwordFile: '/pw', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', baseTopic: 'home/net', discoveryPrefix: 'ha', clientId: 'gw-1' } },
      read,
    );
    expect(JSON.stringify(config)).not.toContain('secret-pass');
    expect(readMqttPassword('/pw', read)).toBe('secret-pass');
    expect(config.mqtt).toEqual({ url: 'mqtts://broker.lan:8883', username: 'homenet', passwordFile: '/pw', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', baseTopic: 'home/net', discoveryPrefix: 'ha', clientId: 'gw-1' });
  });

  it.each([
    ['no url', { mqtt: {} }, `'mqtt.url'`],
    ['another scheme', { mqtt: { url: 'http://broker:1883' } }, `config key 'mqtt.url': expected an MQTT broker URL`],
    ['credentials in the url', { mqtt: { url: 'mqtt://u:p@broker:1883' } }, `'mqtt.url'`],
    ['a port out of range', { mqtt: { url: 'mqtt://broker:70000' } }, `'mqtt.url'`],
    ['an unknown key', { mqtt: { url: 'mqtt://b', password: 'x' } }, `config key 'mqtt.password': expected one of the known keys of 'mqtt'`],
    ['a wildcard topic', { mqtt: { url: 'mqtt://b', baseTopic: 'home/#' } }, `config key 'mqtt.baseTopic': expected an MQTT topic`],
    ['a leading slash', { mqtt: { url: 'mqtt://b', discoveryPrefix: '/homeassistant' } }, `'mqtt.discoveryPrefix'`],
    ['base topic = discovery prefix', { mqtt: { url: 'mqtt://b', baseTopic: 'homeassistant' } }, `config key 'mqtt.baseTopic': expected a topic other than mqtt.discoveryPrefix`],
    ['a bad client id', { mqtt: { url: 'mqtt://b', clientId: 'a b' } }, `'mqtt.clientId'`],
    ['a TLS file without mqtts', { mqtt: { url: 'mqtt://b', ca: '/ca.pem' } }, `config key 'mqtt.ca': expected no TLS file unless mqtt.url is mqtts://`],
    ['a certificate without key', { mqtt: { url: 'mqtts://b', cert: '/c.pem' } }, `config key 'mqtt.key'`],
    ['an unreadable key file', { mqtt: { url: 'mqtts://b', cert: '/c.pem', key: '/missing' } }, `config key 'mqtt.key': expected a readable file`],
    ['a password file without user', { mqtt: { url: 'mqtt://b', passwordFile: '/pw' } }, `config key 'mqtt.username'`],
    ['a missing password file', { mqtt: { url: 'mqtt://b', username: 'u', passwordFile: '/nope' } }, `config key 'mqtt.passwordFile': expected a readable file`],
    ['an empty password file', { mqtt: { url: 'mqtt://b', username: 'u', passwordFile: '/empty' } }, `config key 'mqtt.passwordFile': expected a file holding the password`],
  ])('refuses %s, naming the key', (_what, input, message) => {
    expect(errorOf({ ...TOKEN, ...input }, read)).toContain(message);
  });
});
