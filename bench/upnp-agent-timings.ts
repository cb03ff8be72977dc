/**
 * Runs inside the lab console's namespace (spawned by `bench/upnp.ts`) and times
 * the UPnP client in-process, printing one JSON line:
 * - cold: a fresh client each time — discovery (first valid IGD) + description +
 *   GetFirewallStatus-free AddPinhole — the library path of `openPort` from zero;
 * - warm: AddPinhole again on a kept-alive connection.
 */
import { performance } from 'node:perf_hooks';
import { discoverGateway, SoapClient, WanIpv6FirewallControlClient } from '../adapters/upnp';

async function main(): Promise<void> {
  const [clientAddress, coldRunsText, warmRunsText] = process.argv.slice(2);
  const cold: number[] = [];
  for (let i = 0; i < Number(coldRunsText); i += 1) {
    const soap = new SoapClient();
    const t0 = performance.now();
    const gw = await discoverGateway({ family: 'ipv6' });
    const fw = new WanIpv6FirewallControlClient(gw.services.wanIpv6FirewallControl!, { caller: soap });
    await fw.addPinhole({ internalClient: clientAddress, internalPort: 45000 + i, protocol: 'udp', leaseTimeSeconds: 600 });
    cold.push(performance.now() - t0);
    soap.close();
  }
  const soap = new SoapClient();
  const gw = await discoverGateway({ family: 'ipv6' });
  const fw = new WanIpv6FirewallControlClient(gw.services.wanIpv6FirewallControl!, { caller: soap });
  await fw.addPinhole({ internalClient: clientAddress, internalPort: 46000, protocol: 'udp', leaseTimeSeconds: 600 });
  const warm: number[] = [];
  for (let i = 0; i < Number(warmRunsText); i += 1) {
    const t0 = performance.now();
    await fw.addPinhole({ internalClient: clientAddress, internalPort: 46001 + i, protocol: 'udp', leaseTimeSeconds: 600 });
    warm.push(performance.now() - t0);
  }
  soap.close();
  process.stdout.write(`${JSON.stringify({ cold, warm, controlUrl: gw.services.wanIpv6FirewallControl!.controlUrl })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
