// The connection-budget and Host/Origin keys of the gateway configuration (admin.*, upnp.*).
import { parseGatewayConfig } from '../../../plugin/gateway/gateway-config';

const TOKEN = 'a-token-long-enough';
const parse = (admin: Record<string, unknown> = {}, upnp: Record<string, unknown> = {}) => parseGatewayConfig({ admin: { token: TOKEN, ...admin }, upnp });
const errorOf = (admin: Record<string, unknown>, upnp: Record<string, unknown> = {}): string => {
  try {
    parse(admin, upnp);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('connection limits and Host/Origin configuration', () => {
  it('has defaults: admin 32 / 8 per source / 16 unauthenticated / 4 per source / 5 s; upnp 128 / 16', () => {
    const c = parse();
    expect(c.admin).toMatchObject({ maxConnections: 32, maxConnectionsPerSource: 8, maxUnauthenticated: 16, maxUnauthenticatedPerSource: 4, authDeadlineMs: 5000, allowedHosts: [], allowedOrigins: [] });
    expect(c.upnp).toMatchObject({ maxConnections: 128, maxConnectionsPerSource: 16 });
  });

  it('shrinks an unset default to fit a smaller total', () => {
    expect(parse({ maxConnections: 4 }).admin).toMatchObject({ maxConnections: 4, maxConnectionsPerSource: 4, maxUnauthenticated: 4, maxUnauthenticatedPerSource: 4 });
    expect(parse({}, { maxConnections: 10 }).upnp).toMatchObject({ maxConnections: 10, maxConnectionsPerSource: 10 });
  });

  it('refuses caps that do not nest, naming the key', () => {
    expect(errorOf({ maxConnections: 10, maxConnectionsPerSource: 11 })).toMatch(/^config key 'admin.maxConnectionsPerSource': expected at most admin.maxConnections \(10\), got 11/);
    expect(errorOf({ maxUnauthenticated: 40 })).toMatch(/'admin.maxUnauthenticated': expected at most admin.maxConnections \(32\)/);
    expect(errorOf({ maxUnauthenticatedPerSource: 9 })).toMatch(/'admin.maxUnauthenticatedPerSource'/);
    expect(errorOf({}, { maxConnectionsPerSource: 200 })).toMatch(/'upnp.maxConnectionsPerSource': expected at most upnp.maxConnections \(128\)/);
    expect(errorOf({ authDeadlineMs: 10 })).toMatch(/'admin.authDeadlineMs': expected an integer in 100..60000/);
  });

  it('normalises allowed hosts and origins and refuses malformed ones', () => {
    const c = parse({ allowedHosts: ['Router.LAN.', '[2001:DB8::1]', '192.168.1.1'], allowedOrigins: ['HTTP://Router.lan:8780'] });
    expect(c.admin.allowedHosts).toEqual(['router.lan', '2001:db8::1', '192.168.1.1']);
    expect(c.admin.allowedOrigins).toEqual(['http://router.lan:8780']);
    expect(errorOf({ allowedHosts: ['router.lan:8780'] })).toMatch(/'admin.allowedHosts\[0\]': expected a host name or IP address without a port/);
    expect(errorOf({ allowedOrigins: ['http://router.lan/path'] })).toMatch(/'admin.allowedOrigins\[0\]': expected an origin like/);
  });
});
