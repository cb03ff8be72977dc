import { parseArgs } from 'node:util';
import { CliCommand, withJsonErrors } from '../command';
import { closePort } from '../../agent/close-port';
import { defaultStateDir, OpenedPortsStore } from '../../agent/opened-ports-store';
import { PORT_OPTIONS, portArgs } from './port-args';

export const closeCommand: CliCommand = withJsonErrors({
  name: 'close',
  summary: "remove a port left open by 'homenet open --once'",
  usage: `homenet close --protocol udp|tcp --port N [--family ipv6|ipv4|both] [--address A] [--external-port N] [--interface IF] [--hub auto|URL] [--json]
  --hub     the port was opened through the home's hub: its need is ended there (a port the hub
            holds is removed by the hub; one this host applied is removed from the router first).
  --json    stdout is JSON in every outcome: {"closed":[{"family":"ipv6","closed":true,"detail":"..."},...]}
            (exit 0 when every family closed, 3 otherwise); a failure is {"error":{"code":"...","message":"..."}}
            (exit 1; bad arguments: code "bad-arguments", exit 2).`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: PORT_OPTIONS });
    const args = portArgs(values);
    const results = await closePort({
      protocol: args.protocol,
      port: args.port,
      family: args.family,
      ...(args.address ? { address: args.address } : {}),
      ...(args.externalPort ? { externalPort: args.externalPort } : {}),
      ...(args.interfaces ? { interfaces: args.interfaces } : {}),
      ...(args.hub ? { hub: { url: args.hub, log: (m: string) => io.err(`hub: ${m}`) } } : {}),
      store: new OpenedPortsStore(defaultStateDir()),
    });
    if (values.json) io.out(JSON.stringify({ closed: results }));
    else for (const r of results) io.out(`${r.family}: ${r.closed ? 'closed' : 'not closed'} — ${r.detail}`);
    return results.every((r) => r.closed) ? 0 : 3;
  },
});
