import { parseArgs } from 'node:util';
import { firstValueFrom, takeUntil, timer, toArray, filter } from 'rxjs';
import { CliCommand, jsonErrorOf, withJsonErrors } from '../command';
import type { DiscoveredGateway } from '../../../adapters/upnp/gateway';
import { buildGatewayReport, GatewayReport } from '../../../adapters/upnp/gateway-report';
import { GatewayEvent, watchGateways } from '../../../adapters/upnp/gateway-watch';
import { UpnpNetworkError } from '../../../adapters/upnp/upnp-errors';
import type { HostAddress } from '../../../adapters/observe/host-address';
import { readHostAddresses } from '../../../adapters/observe/host-addresses';
import { chooseInternalClient, InternalClientError } from '../../agent/internal-client';
import { integer } from './port-args';
import { parseHttpUrl } from '../../../adapters/upnp/http-url';

/**
 * Listens for gateways for a short window (they answer a search within
 * ~50 ms; the window catches slow and second routers), then reports each.
 */
export async function reportGateways(options: { timeoutMs: number; interfaces?: string[] }): Promise<(GatewayReport & { seenOver: string[] })[]> {
  const addressesRead = readHostAddresses();
  addressesRead.catch(() => undefined); // awaited below
  let found: GatewayEvent[];
  try {
    found = await firstValueFrom(
      watchGateways({ family: 'both', searchIntervalMs: 0, ...(options.interfaces ? { interfaces: options.interfaces } : {}) }).pipe(
        filter((e) => e.type === 'appeared'),
        takeUntil(timer(options.timeoutMs)),
        toArray(),
      ),
    );
  } catch (error) {
    const offline = error instanceof UpnpNetworkError ? await noNetworkReport(error, addressesRead) : undefined;
    if (offline) return [offline];
    throw error;
  }
  // One router answers over IPv4 and IPv6: report it once (by its UDN), from
  // the IPv6 answer where there is one (pinholes are controlled over IPv6).
  const byUdn = new Map<string, DiscoveredGateway[]>();
  for (const e of found) byUdn.set(e.gateway.udn, [...(byUdn.get(e.gateway.udn) ?? []), e.gateway]);
  if (byUdn.size === 0) return [{ ...(await buildGatewayReport(undefined)), seenOver: [] }];
  const addresses = await addressesRead;
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

/**
 * The search could not start at all: when this host has no usable IPv4 or
 * IPv6 address (no interface up) that is an answer — grade D, "no network" —
 * not an error. Otherwise undefined: the search's error stands.
 */
async function noNetworkReport(error: UpnpNetworkError, addressesRead: Promise<HostAddress[]>): Promise<(GatewayReport & { seenOver: string[] }) | undefined> {
  let addresses: HostAddress[];
  try {
    addresses = await addressesRead;
  } catch {
    return undefined;
  }
  const why: string[] = [];
  for (const family of ['ipv6', 'ipv4'] as const) {
    try {
      chooseInternalClient(addresses, { family });
      return undefined; // this family has an address: the failure is something else
    } catch (e) {
      if (!(e instanceof InternalClientError)) return undefined;
      why.push(e.message.replace(/^cannot choose an InternalClient: this host has /, ''));
    }
  }
  const none = await buildGatewayReport(undefined);
  return {
    ...none,
    gradeReason: `No network: this host has ${why.join(', and ')}, so no gateway can be searched for.`,
    problems: [{ action: 'discovery', message: error.message }],
    seenOver: [],
  };
}

const USAGE = `homenet gateways [--timeout-ms N] [--interface IF[,IF]] [--json]
       homenet gateways --watch [--interface IF[,IF]] [--json]
  --watch   keep listening and print gateway events (appeared, alive, byebye, expired,
            rebooted: a new BOOTID — the router forgot its pinholes and mappings) until interrupted
  --json    stdout is JSON in every outcome:
              {"gateways":[{"grade":"A","gradeReason":"...","discovered":true,"igdVersion":2,
                "location":"...","externalIpv4":"...","externalIpv4Kind":"public",
                "seenOver":["ipv4","ipv6"],"problems":[],...}]}
            no gateway: one report with "grade":"D","discovered":false (exit 3); no network
            (no usable address): the same with a "gradeReason" that starts "No network";
            --watch: one {"event":"appeared|alive|byebye|expired|rebooted",...} per line;
            a failure is {"error":{"code":"...","message":"..."}} (exit 1; bad arguments:
            code "bad-arguments", exit 2).
  Exit 0 when a gateway answered, 3 when none did, 1 on errors, 2 on bad arguments.`;

export const gatewaysCommand: CliCommand = withJsonErrors({
  name: 'gateways',
  summary: 'find the Internet gateways on this link and grade them (JAIPA A/B/C/D)',
  usage: USAGE,
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
      // A watch that cannot go on ends the command (exit 1) instead of waiting for Ctrl-C.
      let failed: (error: unknown) => void = () => undefined;
      const watchFailed = new Promise<number>((resolve) => {
        failed = (error) => {
          if (values.json) io.out(JSON.stringify(jsonErrorOf(error).report));
          io.err(`homenet gateways: watch failed: ${error instanceof Error ? error.message : String(error)}`);
          resolve(1);
        };
      });
      const sub = watchGateways({ family: 'both', ...(values.interface ? { interfaces: values.interface.split(',') } : {}) }).subscribe({
        next: (e) => {
          const g = e.gateway;
          if (values.json) {
            io.out(JSON.stringify({ event: e.type, family: g.family, location: g.location, udn: g.udn, bootId: g.bootId, ...(e.type === 'rebooted' ? { previousBootId: e.previousBootId } : {}) }));
          } else {
            io.out(`${e.type} ${g.family} ${g.location} (BOOTID ${g.bootId ?? '?'}${e.type === 'rebooted' ? `, was ${e.previousBootId ?? '?'}` : ''})`);
          }
        },
        error: (error: unknown) => failed(error),
      });
      const outcome = await Promise.race([io.interrupted().then(() => 0), watchFailed]);
      sub.unsubscribe();
      return outcome;
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
});
