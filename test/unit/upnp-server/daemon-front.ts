// The IGD front exactly as the gateway daemon runs it — startGatewayDaemon with its real
// needs path (journal -> engine -> firewall applier -> answer) and its real front
// (plugin/gateway/igd-front.ts, createIgdHttpServer) — on loopback, with an in-memory
// journal and firewall (nftables needs a namespace: test/integration/gateway does that).
// Requests come from 127.0.x.y sources that `mapLoopbackPeer` maps back to lab addresses.
import { NetworkInterfaceInfo } from 'node:os';
import { defineIgdDevice, IgdDevice } from '../../../adapters/upnp/server';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { startIgdFront, stableUuid } from '../../../plugin/gateway/igd-front';
import { startTestDaemon, testConfig, testWorld, TestWorld } from '../gateway/support';
import { CONSOLE_A, CONSOLE_B, mapLoopbackPeer, PLUG } from './server-support';

export interface DaemonFront {
  readonly daemon: GatewayDaemon;
  readonly world: TestWorld;
  /** The front's HTTP port on 127.0.0.1. */
  readonly port: number;
  /** Its base URLs (http://127.0.0.1:port, and http://[::1]:port when `direct`). */
  readonly urls: readonly string[];
  /** The device the front serves (control paths). */
  readonly igd: IgdDevice;
  stop(): Promise<void>;
}

const LOOPBACK_LAN: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  'lan-test': [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }],
};

const LOOPBACK_BOTH: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  'lan-test': [
    ...(LOOPBACK_LAN['lan-test'] as NetworkInterfaceInfo[]),
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: '::1/128', scopeid: 0 },
  ],
};

/**
 * Starts a daemon whose known devices are the lab's two consoles (and, with `withPlug`, the Matter plug).
 * `direct`: listen on 127.0.0.1 and ::1 and take each TCP peer as it is (for clients such as upnpc that
 * cannot pick a 127.0.x.y source).
 */
export async function startDaemonFront(options: { withPlug?: boolean; config?: Record<string, unknown>; direct?: boolean } = {}): Promise<DaemonFront> {
  const world = testWorld();
  const known = [
    { id: CONSOLE_A.id, kind: 'game-console', addresses: [CONSOLE_A.v6, CONSOLE_A.v4] },
    { id: CONSOLE_B.id, kind: 'game-console', addresses: [CONSOLE_B.v6, CONSOLE_B.v4] },
    ...(options.withPlug ? [{ id: PLUG.id, kind: 'matter', addresses: [PLUG.v6, PLUG.v4] }] : []),
  ];
  const config = testConfig({ devices: { known, watchNeighbours: false }, ...(options.config ?? {}) });
  let uuid = '';
  const daemon = await startTestDaemon(world, config, {
    startIgdFront: (decider, cfg, log) => {
      uuid = stableUuid(`test:${cfg.firewall.table}`);
      if (options.direct) return startIgdFront({ decider, lanInterfaces: ['lan-test'], httpPort: 0, uuid, log, interfaces: () => LOOPBACK_BOTH, ssdp: false });
      return startIgdFront({ decider, lanInterfaces: ['lan-test'], httpPort: 0, uuid, log, interfaces: () => LOOPBACK_LAN, ssdp: false, peerAddress: mapLoopbackPeer });
    },
  });
  const url = daemon.igdUrls[0];
  if (!url) throw new Error('the daemon started no IGD front');
  const port = Number(new URL(url).port);
  return { daemon, world, port, urls: daemon.igdUrls, igd: defineIgdDevice({ uuid, friendlyName: 'homenet gateway' }), stop: () => daemon.stop() };
}
