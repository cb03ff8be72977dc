import { parseArgs } from 'node:util';
import { CliCommand, CliIo, UsageError, withJsonErrors } from '../command';
import { openPort } from '../../agent/open-port';
import { defaultStateDir, OpenedPortsStore, recordOf } from '../../agent/opened-ports-store';
import { Reachability } from '../../agent/reachability';
import type { HubReachability } from '../../agent/hub-keeper';
import { integer, PORT_OPTIONS, portArgs } from './port-args';

const USAGE = `homenet open --protocol udp|tcp --port N [--lease S] [--family ipv6|ipv4|both]
                    [--address A] [--external-port N] [--remote-host H] [--interface IF[,IF]]
                    [--discovery-timeout-ms N] [--via auto|upnp|pcp] [--hub auto|URL] [--once] [--json]
  Opens an inbound port for this host: an IPv6 pinhole and/or an IPv4 port mapping.
  --hub     ask the home's hub first (auto: find it with DNS-SD _homenet._tcp; none
            found: as without --hub). A refusal is reported as denied with the hub's
            reason and the router is not touched; the hub may open the port itself,
            or settle the parameters this host then applies. A hub that does not
            answer is said once, and this host decides alone until it is back.
  --via     upnp: UPnP IGD; pcp: PCP at the default router (NAT-PMP for IPv4 when
            that is all it speaks); auto (default): both at once, the first that opens
            the port wins and the other is undone (never both left open).
  In the foreground it renews the lease, follows address changes and re-adds after a
  router reboot until interrupted (Ctrl-C), then closes. --once opens and exits,
  leaving the lease to run (close it with 'homenet close').
  Prints one reachability verdict per family: open, not-needed, unsupported,
  ineffective or denied. Exit 0 when every family is open or not needed, 3 otherwise,
  1 on errors, 2 on bad arguments.
  --json    stdout is JSON in every outcome, one object per line:
              {"event":"opened","reachability":[{"family":"ipv6","verdict":"open",
                "externalAddress":"2001:db8::10","externalPort":40000,...},...]}
              {"event":"changed","reachability":[...]}   renewals, moves, router reboots
              {"event":"closed"}                         after Ctrl-C (foreground)
            with --hub each family also says "hub":{"url":"...","applier":"hub"|"agent",
              "needId":"...","reasons":[{"rule":"...","code":"...","detail":"..."}],"reachable":true}
            one reachability per family asked for; a family this host has no network in is
              {"family":"ipv4","verdict":"unsupported","grade":"D","reason":"no network: ..."}
            a refusal is {"verdict":"denied","code":606,"name":"...","reason":"..."} (exit 3);
            a failure is {"error":{"code":"...","message":"..."}} (exit 1; bad arguments:
            code "bad-arguments", exit 2).`;

export function formatVerdict(r: Reachability): string {
  switch (r.verdict) {
    case 'open':
      return `${r.family}: open  ${r.family === 'ipv6' ? `[${r.externalAddress}]` : r.externalAddress}:${r.externalPort}/${r.protocol} (lease ${r.leaseSeconds} s) — ${r.reason}`;
    case 'denied':
      return `${r.family}: denied${r.code ? ` (${r.code} ${r.name ?? ''})` : ''} — ${r.reason}`;
    case 'unsupported':
      return `${r.family}: unsupported (grade ${r.grade}) — ${r.reason}`;
    default:
      return `${r.family}: ${r.verdict} — ${r.reason}`;
  }
}

function hubNote(r: HubReachability): string {
  const hub = r.hub;
  if (!hub) return '';
  if (!hub.reachable) return ` [hub ${hub.url} not reachable: decided alone]`;
  return ` [hub ${hub.url}${hub.applier ? `: applied by the ${hub.applier}` : ''}${hub.needId ? `, need ${hub.needId}` : ''}]`;
}

function print(io: CliIo, json: boolean, event: string, reachability: readonly Reachability[]): void {
  if (json) io.out(JSON.stringify({ event, reachability }));
  else for (const r of reachability) io.out(formatVerdict(r) + hubNote(r));
}

export const openCommand: CliCommand = withJsonErrors({
  name: 'open',
  summary: 'open an IPv6 pinhole / IPv4 port mapping for this host and keep it open',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...PORT_OPTIONS,
        lease: { type: 'string' },
        'remote-host': { type: 'string' },
        'discovery-timeout-ms': { type: 'string' },
        once: { type: 'boolean', default: false },
        via: { type: 'string', default: 'auto' },
      },
    });
    const via = values.via;
    if (via !== 'auto' && via !== 'upnp' && via !== 'pcp') throw new UsageError(`--via must be auto, upnp or pcp, not '${via}'`);
    const args = portArgs(values);
    const leaseSeconds = integer(values.lease, '--lease', 1, 604800, false);
    const discoveryTimeoutMs = integer(values['discovery-timeout-ms'], '--discovery-timeout-ms', 100, 60000, false);
    const json = values.json;
    const handle = await openPort({
      protocol: args.protocol,
      port: args.port,
      family: args.family,
      ...(leaseSeconds ? { leaseSeconds } : {}),
      ...(args.address ? { address: args.address } : {}),
      ...(args.externalPort ? { externalPort: args.externalPort } : {}),
      ...(values['remote-host'] ? { remoteHost: values['remote-host'] } : {}),
      ...(args.interfaces ? { interfaces: args.interfaces } : {}),
      ...(discoveryTimeoutMs ? { discoveryTimeoutMs } : {}),
      keepOpen: !values.once,
      via,
      ...(args.hub ? { hub: { url: args.hub, log: (m: string) => io.err(`hub: ${m}`) } } : {}),
      onProblem: (e) => io.err(`warning: ${e instanceof Error ? e.message : String(e)}`),
    });
    const store = new OpenedPortsStore(defaultStateDir());
    const now = new Date();
    // A port the hub holds is the hub's to renew and remove: not recorded for 'homenet close' to delete on the router.
    const ours = (r: Reachability) => r.verdict === 'open' && (r as HubReachability).hub?.applier !== 'hub';
    for (const r of handle.reachability) if (r.verdict === 'open' && ours(r)) await store.put(recordOf(r, now));
    print(io, json, 'opened', handle.reachability);
    const good = handle.reachability.every((r) => r.verdict === 'open' || r.verdict === 'not-needed');
    if (values.once) {
      await handle.settled(); // whatever lost a --via auto race is removed before exiting
      handle.detach();
      return good ? 0 : 3;
    }
    const remember = (r: Reachability) =>
      r.verdict === 'open' &&
      ours(r) &&
      store.put(recordOf(r, new Date())).catch((e: unknown) => io.err(`warning: cannot record the open port: ${(e as Error).message}`));
    const sub = handle.changes$.subscribe((r) => {
      void remember(r);
      print(io, json, 'changed', [r]);
    });
    await io.interrupted();
    sub.unsubscribe();
    await handle.close();
    for (const r of handle.reachability) {
      if (r.verdict === 'open') await store.remove({ family: r.family, protocol: r.protocol, internalClient: r.internalClient, internalPort: r.internalPort });
    }
    if (json) io.out(JSON.stringify({ event: 'closed' }));
    else io.out('closed');
    return good ? 0 : 3;
  },
});
