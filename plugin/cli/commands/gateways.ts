import { parseArgs } from 'node:util';
import { firstValueFrom, takeUntil, timer, toArray, filter } from 'rxjs';
import { CliCommand } from '../command';
import type { DiscoveredGateway } from '../../../adapters/upnp/gateway';
import { buildGatewayReport, GatewayReport } from '../../../adapters/upnp/gateway-report';
import { watchGateways } from '../../../adapters/upnp/gateway-watch';
import { readHostAddresses } from '../../../adapters/observe/host-addresses';
import { chooseInternalClient } from '../../agent/internal-client';
import { integer } from './port-args';
import { parseHttpUrl } from '../../../adapters/upnp/http-url';

/**
 * Listens for gateways for a short window (they answer a search within
 * ~50 ms; the window catches slow and second routers), then reports each.
 */
export async function reportGateways(options: { timeoutMs: number; interfaces?: string[] }): Promise<(GatewayReport & { seenOver: string[] })[]> {
  const found = await firstValueFrom(
    watchGateways({ family: 'both', searchIntervalMs: 0, ...(options.interfaces ? { interfaces: options.interfaces } : {}) }).pipe(
      filter((e) => e.type === 'appeared'),
      takeUntil(timer(options.timeoutMs)),
      toArray(),
    ),
  );
  // One router answers over IPv4 and IPv6: report it once (by its UDN), from
  // the IPv6 answer where there is one (pinholes are controlled over IPv6).
  const byUdn = new Map<string, DiscoveredGateway[]>();
  for (const e of found) byUdn.set(e.gateway.udn, [...(byUdn.get(e.gateway.udn) ?? []), e.gateway]);
  if (byUdn.size === 0) return [{ ...(await buildGatewayReport(undefined)), seenOver: [] }];
  const addresses = await readHostAddresses();
  return Promise.all(
    [...byUdn.values()].map(async (seen) => {
      const gateway = seen.find((g) => g.family === 'ipv6') ?? seen[0];
      let v6: string | undefined;
      if (gateway.family === 'ipv6') {
        try {
          v6 = chooseInternalClient(addresses, { family: 'ipv6', gateway: parseHttpUrl(gateway.location).host }).address;
        } catch {
          v6 = undefined;
        }
      }
      const report = await buildGatewayReport(gateway, v6 ? { localAddressV6: v6 } : {});
      return { ...report, seenOver: seen.map((g) => g.family).sort() };
    }),
  );
}

export const gatewaysCommand: CliCommand = {
  name: 'gateways',
  summary: 'find the Internet gateways on this link and grade them (JAIPA A/B/C/D)',
  usage: `homenet gateways [--timeout-ms N] [--interface IF[,IF]] [--json]
       homenet gateways --watch [--interface IF[,IF]] [--json]
  --watch   keep listening and print gateway events (appeared, alive, byebye, expired,
            rebooted: a new BOOTID — the router forgot its pinholes and mappings) until interrupted`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        interface: { type: 'string' },
        watch: { type: 'boolean', default: false },
      },
    });
    if (values.watch) {
      const sub = watchGateways({ family: 'both', ...(values.interface ? { interfaces: values.interface.split(',') } : {}) }).subscribe({
        next: (e) => {
          const g = e.gateway;
          if (values.json) {
            io.out(JSON.stringify({ event: e.type, family: g.family, location: g.location, udn: g.udn, bootId: g.bootId, ...(e.type === 'rebooted' ? { previousBootId: e.previousBootId } : {}) }));
          } else {
            io.out(`${e.type} ${g.family} ${g.location} (BOOTID ${g.bootId ?? '?'}${e.type === 'rebooted' ? `, was ${e.previousBootId ?? '?'}` : ''})`);
          }
        },
        error: (error: unknown) => io.err(`watch failed: ${(error as Error).message}`),
      });
      await io.interrupted();
      sub.unsubscribe();
      return 0;
    }
    const timeoutMs = integer(values['timeout-ms'], '--timeout-ms', 100, 60000, false) ?? 1500;
    const reports = await reportGateways({ timeoutMs, ...(values.interface ? { interfaces: values.interface.split(',') } : {}) });
    if (values.json) {
      io.out(JSON.stringify({ gateways: reports }, null, 2));
    } else {
      for (const r of reports) {
        io.out(`grade ${r.grade}: ${r.gradeReason}`);
        if (!r.discovered) continue;
        io.out(`  ${r.friendlyName ?? '?'} (${r.server ?? 'unknown server'}) IGD:${r.igdVersion} at ${r.location} (answers over ${r.seenOver.join(' and ')})`);
        io.out(`  services: ${r.serviceTypes.join(', ')}`);
        if (r.firewallStatus) io.out(`  IPv6 firewall: ${r.firewallStatus.firewallEnabled ? 'on' : 'off'}, inbound pinholes ${r.firewallStatus.inboundPinholeAllowed ? 'allowed' : 'not allowed'}`);
        io.out(`  external IPv4: ${r.externalIpv4 || 'none'} (${r.externalIpv4Kind})`);
        for (const p of r.problems) io.out(`  problem: ${p.action}: ${p.message}`);
      }
    }
    return reports.some((r) => r.discovered) ? 0 : 3;
  },
};
