import { DEFAULT_GATEWAY_CONFIG, GatewayConfigError, loadGatewayConfig, parseGatewayConfig } from '../../../plugin/gateway/gateway-config';
import { createLogger } from '../../../plugin/gateway/structured-log';
import { main } from '../../../plugin/cli/main';

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

  it('homenet serve --check prints the checked config; a bad one exits 2 naming the key', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), interrupted: () => new Promise<void>(() => undefined) };
    expect(await main(['serve', '--mode', 'gateway', '--check'], io)).toBe(2);
    expect(err.join('\n')).toContain(`'admin.token'`);
    expect(await main(['serve', '--mode', 'router'], io)).toBe(2);
    expect(err.join('\n')).toContain("unknown mode 'router'");
  });

  it('logs are JSON lines with time, level, component, msg and fields', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', now: () => 0, write: (l) => lines.push(l) });
    log.child('journal').info('recovered', { needs: 3, msg: 'not overwritten' });
    log.debug('dropped');
    expect(lines).toEqual(['{"time":"1970-01-01T00:00:00.000Z","level":"info","component":"journal","msg":"recovered","needs":3}\n']);
  });
});
