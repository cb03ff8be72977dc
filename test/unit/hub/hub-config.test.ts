import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpAddrJson, RouterInterfaces } from '../../../adapters/system/route-interfaces';
import { effectiveGatewayConfig } from '../../../plugin/gateway/effective-gateway-config';
import { GatewayConfigError, parseGatewayConfig } from '../../../plugin/gateway/gateway-config';

const FIXTURES = join(__dirname, '../../fixtures/ip-router');
/** The lab router's links; a hub's own host has one LAN link whose default route leads to the router. */
const hubHost = async (): Promise<RouterInterfaces> => ({
  links: parseIpAddrJson(readFileSync(join(FIXTURES, 'addr.json'), 'utf8')),
  defaultRoutes: [{ family: 'ipv4', dev: 'lan0', metric: 0, gateway: '192.168.77.1' }],
});

describe('hub configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'homenet-hub-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('no config: the default route names the LAN link and the router; IGD, PCP and firewall are off; journal hub.db', async () => {
    const { config, chosen } = await effectiveGatewayConfig({ file: { mode: 'hub' }, stateDir: join(dir, 's'), readInterfaces: hubHost });
    expect(config.deployment).toBe('hub');
    expect(config.lan.interfaces).toEqual(['lan0']);
    expect(config.hub).toMatchObject({ router: '192.168.77.1', applier: 'auto', coordinationPort: 5390, advertise: true, auditSeconds: 30, exclusiveRouter: false });
    expect(chosen.interfaces.why.lan).toContain('via the router 192.168.77.1');
    expect([config.upnp.enabled, config.pcp.enabled, config.firewall.enabled]).toEqual([false, false, false]);
    expect(config.journal.path).toBe(join(dir, 's', 'hub.db'));
  });

  it('no default route and no router named: a clear error naming the keys to set', async () => {
    const noRoute = async (): Promise<RouterInterfaces> => ({ ...(await hubHost()), defaultRoutes: [] });
    await expect(effectiveGatewayConfig({ file: { mode: 'hub' }, stateDir: join(dir, 's'), readInterfaces: noRoute })).rejects.toThrow(/hub's LAN interface.*"hub": \{"router"/s);
  });

  it('a gateway keeps its defaults; bad hub keys are refused by name', () => {
    expect(parseGatewayConfig({ admin: { listen: null }, journal: { path: null } })).toMatchObject({ deployment: 'gateway', upnp: { enabled: true }, pcp: { enabled: true } });
    const bad = (hub: unknown): string => {
      try {
        parseGatewayConfig({ mode: 'hub', admin: { listen: null }, hub });
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ applier: 'magic' })).toMatch(/hub\.applier.*"auto", "pcp-third-party", "agents"/);
    expect(bad({ router: 'router.lan' })).toMatch(/hub\.router.*an IP address/);
    expect(bad({ coordinationPort: 0 })).toMatch(/hub\.coordinationPort/);
    expect(bad({ auditSecs: 5 })).toMatch(/one of the known keys of 'hub'/);
  });
});
