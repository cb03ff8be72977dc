import * as http from 'node:http';
import { parseGatewayConfig, GatewayConfig } from '../../../plugin/gateway/gateway-config';
import { createLogger } from '../../../plugin/gateway/structured-log';
import { HubDaemon, HubDaemonOptions, RouterFacts, startHubDaemon } from '../../../plugin/hub/hub-daemon';

/** Loopback addresses standing for LAN hosts (the hub takes the TCP source as the requester). */
export const CONSOLE = '127.0.0.2';
export const CONSOLE2 = '127.0.0.3';
export const PLUG = '127.0.0.4';

export function hubConfig(extra: Record<string, unknown> = {}): GatewayConfig {
  return parseGatewayConfig({
    mode: 'hub',
    journal: { path: null },
    admin: { listen: null },
    hub: { router: '127.0.0.1', advertise: false, auditSeconds: 0 },
    devices: { known: [{ id: 'plug', kind: 'matter', addresses: [PLUG] }], watchNeighbours: false },
    ...extra,
  });
}

/** The facts a router probe found (what the real probe returns for the lab's miniupnpd). */
export function routerFacts(thirdParty: RouterFacts['thirdParty'] = 'not-authorized'): RouterFacts {
  return { address: '127.0.0.1', gateway: { grade: 'A', pinholes: true, portMappings: true }, externalIpv4: '198.51.100.1', thirdParty, summary: 'test router' };
}

export async function startTestHub(config: GatewayConfig, extra: Partial<HubDaemonOptions> = {}): Promise<{ hub: HubDaemon; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const hub = await startHubDaemon({
    config,
    log: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    probeRouter: async () => routerFacts(),
    readNeighbours: null,
    coordinationListen: [{ host: '127.0.0.1', port: 0 }],
    ...extra,
  });
  return { hub, lines };
}

/** One HTTP request from `from` (the requester) to the hub; JSON in and out. */
export function call(hub: HubDaemon, from: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = hub.server.addresses[0];
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, localAddress: from, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        } catch (e) {
          reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}: ${(e as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}
