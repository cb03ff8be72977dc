/**
 * A PCP / NAT-PMP client run inside a lab namespace as
 * `node pcp-agent.js LOCAL_ADDRESS SERVER_ADDRESS [ROUTER_ALIAS...]`: it opens our PCP client
 * (`adapters/pcp`) on a UDP transport bound to LOCAL_ADDRESS, prints `ready`,
 * then takes one JSON command per line on stdin and answers each with one
 * JSON line (`{"id", "ok", ...}`); what the client sees on its own (epoch
 * lost, a mapping renewed or mapped again) comes as `{"event", ...}` lines
 * with the wall time. Used by the PCP integration tests and `npm run bench -- pcp`
 * through `pcp-lab-client.ts`.
 *
 * Commands: `map` {protocol, internalPort, lifetime, internalAddress?,
 * suggestedExternalPort?}, `delete` {protocol, internalPort}, `announce`,
 * `bench-map` {firstPort, count} (sequential MAPs, round-trip times),
 * `natpmp-address`, `natpmp-map` {protocol, internalPort, lifetime},
 * `natpmp-unmap` {protocol, internalPort}.
 */
import { performance } from 'node:perf_hooks';
import { NatPmpClient, openUdpPcpTransport, PcpClient, PcpMapping, PcpTransport } from '../../adapters/pcp';
import { pcpErrorJson as errorJson, printJsonLine, serveJsonLineCommands } from './json-line-agent';

interface Command {
  readonly id: number;
  readonly op: string;
  readonly protocol?: 'udp' | 'tcp';
  readonly internalPort?: number;
  readonly lifetime?: number;
  readonly internalAddress?: string;
  readonly suggestedExternalPort?: number;
  readonly firstPort?: number;
  readonly count?: number;
}

async function main(): Promise<void> {
  const [localAddress, serverAddress, ...aliases] = process.argv.slice(2);
  if (!localAddress || !serverAddress) throw new Error('usage: pcp-agent LOCAL_ADDRESS SERVER_ADDRESS [ROUTER_ALIAS...]');
  // miniupnpd 2.3.1 announces a restart over IPv4 only: an IPv6 client also hears 224.0.0.1.
  const families: ('ipv4' | 'ipv6')[] = serverAddress.includes(':') ? ['ipv6', 'ipv4'] : ['ipv4'];
  const transport = await openUdpPcpTransport({ localAddress, serverAddress, interfaceName: 'eth0', announceFamilies: families });
  const client = new PcpClient({ transport, serverAliases: aliases });
  let natpmpTransport: PcpTransport | undefined;
  let natpmp: NatPmpClient | undefined;
  const natPmp = async () => {
    natpmpTransport ??= await openUdpPcpTransport({ localAddress, serverAddress, announcements: false });
    natpmp ??= new NatPmpClient({ transport: natpmpTransport });
    return natpmp;
  };
  const mappings = new Map<string, PcpMapping>();
  client.events$.subscribe((e) => printJsonLine({ event: e.type, wallMs: Date.now(), ...(e.type === 'malformed' ? { message: e.error.message } : { epoch: e.epoch }) }));

  const run = async (c: Command): Promise<Record<string, unknown>> => {
    switch (c.op) {
      case 'map': {
        const t0 = performance.now();
        const m = await client.map({
          protocol: c.protocol ?? 'udp',
          internalPort: c.internalPort!,
          lifetimeSeconds: c.lifetime ?? 120,
          ...(c.internalAddress ? { internalAddress: c.internalAddress } : {}),
          ...(c.suggestedExternalPort !== undefined ? { suggestedExternalPort: c.suggestedExternalPort } : {}),
        });
        const ms = performance.now() - t0;
        mappings.set(`${c.protocol ?? 'udp'}/${c.internalPort}`, m);
        m.changes$.subscribe((e) =>
          printJsonLine({ event: e.type, wallMs: Date.now(), internalPort: c.internalPort, ...(e.type === 'renewed' || e.type === 'remapped' ? { state: e.state } : {}), ...(e.type === 'remapped' ? { elapsedMs: e.elapsedMs } : {}), ...(e.type === 'failed' ? { error: errorJson(e.error) } : {}) }),
        );
        return { state: m.state, ms };
      }
      case 'delete': {
        const key = `${c.protocol ?? 'udp'}/${c.internalPort}`;
        const m = mappings.get(key);
        if (!m) throw new Error(`no mapping ${key}`);
        await m.delete();
        mappings.delete(key);
        return {};
      }
      case 'announce': {
        const r = await client.announce();
        return { resultCode: r.resultCode, epoch: r.epoch };
      }
      case 'bench-map': {
        const times: number[] = [];
        for (let i = 0; i < (c.count ?? 0); i += 1) {
          const t0 = performance.now();
          const m = await client.map({ protocol: 'udp', internalPort: c.firstPort! + i, lifetimeSeconds: 600 });
          times.push(performance.now() - t0);
          m.stop();
        }
        return { times };
      }
      case 'natpmp-address':
        return await (await natPmp()).publicAddress();
      case 'natpmp-map':
        return { mapping: await (await natPmp()).map({ protocol: c.protocol ?? 'udp', internalPort: c.internalPort!, lifetimeSeconds: c.lifetime ?? 120 }) };
      case 'natpmp-unmap':
        await (await natPmp()).unmap(c.protocol ?? 'udp', c.internalPort!);
        return {};
      default:
        throw new Error(`unknown command '${c.op}'`);
    }
  };

  serveJsonLineCommands(run, {
    errorJson,
    onClose: () => {
      client.close();
      void transport.close();
      void natpmpTransport?.close();
    },
  });
  printJsonLine({ ready: true, localAddress: transport.localAddress });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
