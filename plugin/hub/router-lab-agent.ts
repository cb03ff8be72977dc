/**
 * The hub's router adapters run inside the lab's `hub` namespace for the
 * integration tests: `node router-lab-agent.js CONFIG_JSON`, where CONFIG_JSON
 * is `{ ipv4?: RouterPcpEndpoint, ipv6?: RouterPcpEndpoint, interfaceName?, nonceSecretHex? }`
 * (the same secret across runs = the same nonces: a restarted hub takes over its mappings).
 * It opens a {@link RouterPcpFirewall} toward the router, prints `{"ready":true}`,
 * then takes one JSON command per line on stdin and answers each with one
 * JSON line (`{"id", "ok", ...}`); the firewall's and the audit's own events
 * come as `{"event", "wallMs", ...}` lines.
 *
 * Commands: `apply` {actions}, `list`, `reconcile` {desired},
 * `probe` {family, thirdPartyFor?}, `audit-start` {periodSeconds, protected:
 * ProtectedDevice[], accounted: AccountedMapping[]} (the UPnP router is
 * found by SSDP on IPv4; the firewall's own IPv4 mappings count as accounted),
 * `audit-once`.
 *
 * @example
 * ```sh
 * ip netns exec lab-hub node dist/plugin/hub/router-lab-agent.js '{"ipv4":{"localAddress":"192.168.77.5","routerAddress":"192.168.77.1"}}'
 * ```
 */
import { openUdpPcpTransport, PcpClient } from '../../adapters/pcp';
import { discoverGateway } from '../../adapters/upnp/gateway-discovery';
import { WanIpConnectionClient } from '../../adapters/upnp/wan-ip-connection';
import type { Action } from '../../policies/model/action';
import type { DesiredEntry } from '../gateway/gateway-firewall';
import { pcpErrorJson, printJsonLine, serveJsonLineCommands } from '../lab/json-line-agent';
import { AccountedMapping, ProtectedDevice, RouterAudit, upnpRouterMappings } from './router-audit';
import { openRouterPcpFirewall, OpenRouterPcpFirewallOptions, RouterPcpApplyError, RouterPcpFirewall } from './router-pcp-firewall';
import { probeRouterPcp } from './router-pcp-probe';

interface Command {
  readonly id: number;
  readonly op: string;
  readonly actions?: Action[];
  readonly desired?: DesiredEntry[];
  readonly family?: 'ipv4' | 'ipv6';
  readonly thirdPartyFor?: string;
  readonly periodSeconds?: number;
  readonly protected?: ProtectedDevice[];
  readonly accounted?: AccountedMapping[];
}

function errorJson(error: unknown): Record<string, unknown> {
  return {
    ...pcpErrorJson(error),
    ...(error instanceof RouterPcpApplyError ? { failures: error.failures.map((f) => ({ key: f.key, name: f.error.name, message: f.error.message })) } : {}),
  };
}

async function main(): Promise<void> {
  const { nonceSecretHex, ...config } = JSON.parse(process.argv[2] ?? '{}') as OpenRouterPcpFirewallOptions & { nonceSecretHex?: string };
  const firewall: RouterPcpFirewall = await openRouterPcpFirewall({ ...config, ...(nonceSecretHex ? { nonceSecret: Buffer.from(nonceSecretHex, 'hex') } : {}) });
  firewall.events$.subscribe((e) =>
    printJsonLine({ event: `firewall-${e.type}`, wallMs: Date.now(), entry: e.entry, ...(e.type === 'remapped' ? { elapsedMs: e.elapsedMs, state: e.state } : {}), ...(e.type === 'lost' ? { error: errorJson(e.error) } : {}), ...(e.type === 'delete-shortened' ? { lifetimeSeconds: e.lifetimeSeconds, error: errorJson(e.error) } : {}) }),
  );
  let audit: RouterAudit | undefined;
  let accounted: AccountedMapping[] = [];
  let held: AccountedMapping[] = [];
  const refreshHeld = async () => {
    held = (await firewall.list())
      .filter((e) => e.kind === 'port-mapping' && e.externalPort !== undefined)
      .map((e) => ({ protocol: e.protocol, externalPort: e.externalPort!, internalClient: e.internalClient, owner: e.owner ?? 'hub' }));
  };

  const run = async (c: Command): Promise<Record<string, unknown>> => {
    switch (c.op) {
      case 'apply':
        try {
          await firewall.apply(c.actions ?? []);
        } finally {
          await refreshHeld();
        }
        return {};
      case 'list':
        return { entries: await firewall.list() };
      case 'reconcile':
        try {
          return { summary: await firewall.reconcile(c.desired ?? []) };
        } finally {
          await refreshHeld();
        }
      case 'probe': {
        const endpoint = config[c.family ?? 'ipv4'];
        if (!endpoint) throw new Error(`no ${c.family} endpoint configured`);
        const transport = await openUdpPcpTransport({ localAddress: endpoint.localAddress, serverAddress: endpoint.routerAddress, announcements: false });
        const client = new PcpClient({ transport });
        try {
          return { offer: await probeRouterPcp({ client, ...(c.thirdPartyFor ? { thirdPartyFor: c.thirdPartyFor } : {}) }) };
        } finally {
          client.close();
          await transport.close();
        }
      }
      case 'audit-start': {
        if (audit) throw new Error('the audit runs already');
        const gateway = await discoverGateway({ family: 'ipv4', timeoutMs: 5000 });
        const service = gateway.services.wanIpConnection;
        if (!service) throw new Error(`the router at ${gateway.location} has no WANIPConnection`);
        const ipc = new WanIpConnectionClient(service, { ...(config.ipv4 ? { localAddress: config.ipv4.localAddress } : {}) });
        accounted = c.accounted ?? [];
        const protectedDevices = c.protected ?? [];
        audit = new RouterAudit({ source: upnpRouterMappings(ipc), protectedDevices: () => protectedDevices, accountedMappings: () => [...accounted, ...held], periodSeconds: c.periodSeconds ?? 30 });
        audit.events$.subscribe((e) =>
          printJsonLine({ event: `audit-${e.type}`, wallMs: Date.now(), text: e.text, ...(e.type === 'audit-failed' ? { error: errorJson(e.error) } : { kind: e.finding.kind, mapping: e.finding.mapping }) }),
        );
        audit.start();
        return { serviceType: service.serviceType };
      }
      case 'audit-once': {
        if (!audit) throw new Error('no audit started');
        const report = await audit.runOnce();
        return { via: report.listing.via, mappings: report.listing.mappings, findings: report.findings.map((f) => ({ kind: f.kind, text: f.text })) };
      }
      default:
        throw new Error(`unknown command '${c.op}'`);
    }
  };

  serveJsonLineCommands(run, {
    errorJson,
    onClose: () => {
      audit?.stop();
      void firewall.close().then(() => process.exit(0));
    },
  });
  printJsonLine({ ready: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
