import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDefaultRoutesJson, parseIpAddrJson, RouterInterfaces } from '../../../adapters/system/route-interfaces';
import { effectiveGatewayConfig, redactedGatewayConfig } from '../../../plugin/gateway/effective-gateway-config';
import { GatewayConfigError } from '../../../plugin/gateway/gateway-config';

const FIXTURES = join(__dirname, '../../fixtures/ip-router');
const labRouter = async (): Promise<RouterInterfaces> => ({
  links: parseIpAddrJson(readFileSync(join(FIXTURES, 'addr.json'), 'utf8')),
  defaultRoutes: parseDefaultRoutesJson(readFileSync(join(FIXTURES, 'route-default-v4.json'), 'utf8'), 'ipv4'),
});
const noDefaultRoute = async (): Promise<RouterInterfaces> => ({ ...(await labRouter()), defaultRoutes: [] });
const mustNotRead = (): Promise<RouterInterfaces> => {
  throw new Error('interfaces read although the config names them');
};

async function errorOf(promise: Promise<unknown>): Promise<GatewayConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return error as GatewayConfigError;
  }
  throw new Error('expected a GatewayConfigError');
}

describe('effective gateway configuration (first start)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'homenet-effective-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('no config: interfaces found, token file created 0600 in a 0700 state dir, journal in the state dir', async () => {
    const stateDir = join(dir, 'state');
    const { config, chosen } = await effectiveGatewayConfig({ file: {}, stateDir, readInterfaces: labRouter });
    expect(config.wan.interface).toBe('wan0');
    expect(config.lan.interfaces).toEqual(['lan0']);
    expect(chosen.interfaces.detected).toBe(true);
    expect(chosen.interfaces.why.wan).toContain('default route');
    expect(chosen.token).toEqual({ path: join(stateDir, 'admin-token'), origin: 'created' });
    expect(config.admin.token).toBe(readFileSync(join(stateDir, 'admin-token'), 'utf8').trim());
    expect(config.admin.tokenFile).toBe(join(stateDir, 'admin-token'));
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(config.journal.path).toBe(join(stateDir, 'gateway.db'));
    expect(config.stateDir).toBe(stateDir);
    const again = await effectiveGatewayConfig({ file: {}, stateDir, readInterfaces: labRouter });
    expect(again.chosen.token.origin).toBe('read');
    expect(again.config.admin.token).toBe(config.admin.token);
  });

  it('check: creates nothing and says the token will be created; the printed config hides the token', async () => {
    const stateDir = join(dir, 'state');
    const effective = await effectiveGatewayConfig({ file: {}, stateDir, check: true, readInterfaces: labRouter });
    expect(existsSync(stateDir)).toBe(false);
    expect(effective.chosen.token.origin).toBe('created-at-start');
    const shown = redactedGatewayConfig(effective) as { admin: Record<string, unknown> };
    expect(shown.admin.token).toBe('(redacted: created at first start)');
    expect(shown.admin.tokenFile).toBe(join(stateDir, 'admin-token'));
    expect(JSON.stringify(shown)).not.toContain('x'.repeat(32));
  });

  it('the file wins: named interfaces are not looked up; stateDir from the file; an inline token is redacted', async () => {
    const file = { stateDir: join(dir, 's'), lan: { interfaces: ['br-lan'] }, wan: { interface: 'eth9' }, admin: { token: 'an-inline-token-0123456789' } };
    const effective = await effectiveGatewayConfig({ file, readInterfaces: mustNotRead });
    expect(effective.chosen.interfaces).toMatchObject({ wan: 'eth9', lan: ['br-lan'], detected: false });
    expect(effective.chosen.token).toEqual({ origin: 'inline' });
    expect(effective.config.journal.path).toBe(join(dir, 's', 'gateway.db'));
    const text = JSON.stringify(redactedGatewayConfig(effective));
    expect(text).not.toContain('an-inline-token-0123456789');
    expect(text).toContain('"token":"(redacted)"');
  });

  it('a named WAN with the LAN found; admin API off means no token file', async () => {
    const effective = await effectiveGatewayConfig({ file: { wan: { interface: 'wan0' }, admin: { listen: null }, journal: { path: null } }, stateDir: join(dir, 'st'), readInterfaces: noDefaultRoute });
    expect(effective.config.lan.interfaces).toEqual(['lan0']);
    expect(effective.chosen.token).toEqual({ origin: 'none' });
    expect(existsSync(join(dir, 'st'))).toBe(false);
  });

  it('cannot choose the WAN: exit-2 error naming the key, the candidates and what to set', async () => {
    const error = await errorOf(effectiveGatewayConfig({ file: {}, stateDir: join(dir, 'st'), check: true, readInterfaces: noDefaultRoute }));
    expect(error.key).toBe('wan.interface');
    expect(error.message).toContain(`config key 'wan.interface' is not set and cannot choose the WAN interface: there is no default route`);
    expect(error.message).toContain('wan0 (198.51.100.1/24');
    expect(error.message).toContain('{"wan": {"interface": "NAME"}}');
  });

  it('a token file others can read is refused under admin.tokenFile, whether named or default', async () => {
    const path = join(dir, 'admin-token');
    writeFileSync(path, 'a-token-long-enough-0123\n');
    chmodSync(path, 0o644);
    const named = await errorOf(effectiveGatewayConfig({ file: { admin: { tokenFile: path } }, readInterfaces: labRouter, stateDir: dir }));
    expect(named.message).toBe(`config key 'admin.tokenFile': expected a usable token file: admin token file ${path} is readable or writable by group/others (mode 0644); run: chmod 600 ${path}, got ${JSON.stringify(path)}`);
    const implicit = await errorOf(effectiveGatewayConfig({ file: {}, readInterfaces: labRouter, stateDir: dir }));
    expect(implicit.key).toBe('admin.tokenFile');
    chmodSync(path, 0o600);
    expect((await effectiveGatewayConfig({ file: {}, readInterfaces: labRouter, stateDir: dir })).config.admin.token).toBe('a-token-long-enough-0123');
  });

  it('a config that fails a cross-key check creates no state dir and no token file', async () => {
    const stateDir = join(dir, 'state');
    const error = await errorOf(effectiveGatewayConfig({ file: { devices: { allow: ['lock'] } }, stateDir, readInterfaces: labRouter }));
    expect(error.message).toBe(`config key 'devices.allow[0]': expected the id of a device in devices.known (none), got "lock"`);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('bad keys are reported before the system is looked at; a relative --state-dir is refused', async () => {
    const error = await errorOf(effectiveGatewayConfig({ file: { upnp: { httpPort: 'abc' } }, readInterfaces: mustNotRead }));
    expect(error.message).toBe(`config key 'upnp.httpPort': expected an integer in 1..65535, got "abc"`);
    expect((await errorOf(effectiveGatewayConfig({ file: {}, stateDir: 'var/lib', readInterfaces: labRouter }))).key).toBe('--state-dir');
    expect((await errorOf(effectiveGatewayConfig({ file: { stateDir: 'relative' }, readInterfaces: labRouter }))).key).toBe('stateDir');
  });
});
