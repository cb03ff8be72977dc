import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliCommand, CliIo, UsageError } from '../command';
import { startDeviceObservers, ObservedEvent } from '../../controller/lan-observers';
import type { DeviceAddress } from '../../../policies/model/address';
import { toDeviceAddress } from '../../../policies/model/address';
import type { Device, DeviceIdentities, Ipv6OnlyEvidence, KindEvidence } from '../../../policies/model/device';
import type { DeviceSeen, NetworkChanged } from '../../../policies/model/event';
import type { Reason } from '../../../policies/model/reason';
import { checkIsolation } from '../../../policies/rules/matter-isolation';
import type { MatterNodeReport } from '../../../adapters/matter/matter-controller';
import type { Ipv6MostlyFacts } from '../../../adapters/observe/ipv6-mostly-detector';

const USAGE = `homenet devices [--interface IF] [--matter-storage DIR] [--for-ms N] [--watch] [--json] [--no-ipv6-mostly]
  Lists what the controller knows of the LAN: identity, kinds with evidence,
  addresses, IPv6-only, protections. Observes for --for-ms (default 3000) first.
  --interface IF       the LAN interface (default eth0)
  --matter-storage DIR a Matter fabric to read commissioned nodes from
  --watch              print every observer event as a JSON line until interrupted
  --no-ipv6-mostly     skip the RA / DHCP / DNS64 observers (they need root)
  --daemon URL         instead, read what a running gateway or hub knows (its admin API,
                       e.g. http://127.0.0.1:8780): devices with enforced/advised, needs,
                       grants, decisions
  --token-file FILE    the admin token for --daemon (or HOMENET_ADMIN_TOKEN)`;

function printTable(io: CliIo, devices: readonly DeviceDescription[], network: Record<string, unknown>): void {
  io.out(`network: pref64 ${typeof network.pref64 === 'string' ? network.pref64 : 'none'}${network.option108Offered ? `, DHCPv4 option 108 offered (V6ONLY_WAIT ${String(network.v6OnlyWait)} s)` : ''}`);
  for (const d of devices) {
    io.out(`${d.id}${d.name ? `  ${d.name}` : ''}`);
    io.out(`  kinds:      ${d.kinds.map((k) => `${k.kind} (${k.evidence})`).join('; ') || 'unknown'}`);
    io.out(`  identities: ${Object.entries(d.identities).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    io.out(`  addresses:  ${d.addresses.map((a) => `${a.address}${a.deprecated ? ' (deprecated)' : ''}${a.stable ? '' : ' (temporary)'}`).join(', ')}`);
    io.out(`  ipv6-only:  ${d.ipv6Only ?? 'no'}`);
    io.out(`  protection: ${d.protection.inbound}${d.protection.reason ? ` — ${d.protection.reason.rule}/${d.protection.reason.code}: ${d.protection.reason.detail ?? ''}` : ''}`);
  }
}

/**
 * `homenet devices`: runs the observers on the LAN interface and prints what
 * is known of every device.
 *
 * @example
 * ```sh
 * ip netns exec m1-hub homenet devices --json --matter-storage /run/homenet-lab/m1/matter/hub
 * ```
 */
export const devicesCommand: CliCommand = {
  name: 'devices',
  summary: 'list the LAN devices the controller knows: identity, kinds, addresses, IPv6-only, protections',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        interface: { type: 'string', default: 'eth0' },
        'matter-storage': { type: 'string' },
        'for-ms': { type: 'string', default: '3000' },
        watch: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'no-ipv6-mostly': { type: 'boolean', default: false },
        daemon: { type: 'string' },
        'token-file': { type: 'string' },
      },
    });
    if (values.daemon !== undefined) {
      const { adminTokenOf, DaemonReadError, printDaemonView, readDaemonView } = require('./devices-from-daemon') as typeof import('./devices-from-daemon');
      try {
        const view = await readDaemonView(values.daemon, adminTokenOf(values['token-file']));
        if (values.json) io.out(JSON.stringify(view, null, 2));
        else printDaemonView(io, view);
        return 0;
      } catch (error) {
        if (!(error instanceof DaemonReadError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        io.err(`homenet devices: ${(error as Error).message}`);
        return 1;
      }
    }
    if (values['token-file'] !== undefined) throw new UsageError('--token-file goes with --daemon');
    const forMs = Number(values['for-ms']);
    if (!Number.isInteger(forMs) || forMs < 0 || forMs > 3_600_000) throw new UsageError('--for-ms must be 0-3600000');
    const problems: string[] = [];
    const observers = await startDeviceObservers({
      interfaceName: values.interface,
      matterStoragePath: values['matter-storage'],
      ipv6Mostly: !values['no-ipv6-mostly'],
      onProblem: (p) => {
        problems.push(`${p.source}: ${p.message}`);
        if (values.watch) io.out(JSON.stringify({ at: p.at, problem: p }));
      },
    });
    const events: ObservedEvent[] = [];
    const subscription = observers.events.subscribe((e) => {
      events.push(e);
      if (values.watch) io.out(JSON.stringify(e));
    });
    try {
      if (values.watch) {
        if (values.json) io.out(JSON.stringify({ at: Date.now(), ready: true }));
        await io.interrupted();
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, forMs));
      const { devices, network } = describeDevices(
        events.map((e) => e.event),
        observers.reports,
        observers.facts,
      );
      const rssMb = Math.round(process.memoryUsage().rss / 1e5) / 10;
      if (values.json) io.out(JSON.stringify({ network, devices, problems, process: { rssMb } }, null, 2));
      else {
        printTable(io, devices, network);
        for (const p of problems) io.err(`problem: ${p}`);
      }
      return 0;
    } finally {
      subscription.unsubscribe();
      // The answer is out: a close that hangs (matter.js under load) must not keep the CLI alive.
      exitSoonWhenCli(5000);
      await observers.close();
      exitSoonWhenCli(500);
    }
  },
};

/**
 * matter.js (0.17.9) leaves timers running after its node and runtime are
 * closed once a peer session existed, which would keep `homenet devices`
 * alive for minutes after printing, and its close can itself hang on a loaded
 * machine. When this process is the `homenet` CLI, exit `ms` after this call
 * unless the process ends by itself first (an unref'd timer: it only fires if
 * something else still holds the event loop). In-process callers are left alone.
 */
function exitSoonWhenCli(ms: number): void {
  if (!require.main?.filename.endsWith(join('cli', 'main.js'))) return;
  setTimeout(() => process.exit(), ms).unref();
}

/** One device as `homenet devices --json` prints it. */
export interface DeviceDescription {
  readonly id: string;
  /** `vendor product` from a Matter read, when there is one. */
  readonly name?: string;
  readonly identities: DeviceIdentities;
  readonly kinds: readonly KindEvidence[];
  readonly addresses: readonly DeviceAddress[];
  readonly ipv6Only?: Ipv6OnlyEvidence;
  /** What the isolation rule says of inbound reachability to this device. */
  readonly protection: { readonly inbound: 'denied' | 'allowed-by-owner' | 'not-isolated'; readonly reason?: Reason };
  readonly matter?: { readonly vendorName?: string; readonly productName?: string; readonly vendorId?: number; readonly productId?: number; readonly deviceTypes: readonly string[] };
}

/**
 * Folds observer events into the device list as the engine folds them
 * (present fields replace, kinds accumulate), and asks the engine's own
 * isolation rule (`policies/rules/matter-isolation`) what protection each
 * device has.
 *
 * @example
 * ```ts
 * const { devices } = describeDevices(events, reports, facts);
 * devices.filter((d) => d.protection.inbound === 'denied').map((d) => d.id);
 * ```
 */
export function describeDevices(
  events: readonly (DeviceSeen | NetworkChanged)[],
  reports: ReadonlyMap<string, MatterNodeReport> = new Map(),
  facts?: Ipv6MostlyFacts,
): { devices: DeviceDescription[]; network: Record<string, unknown> } {
  const devices = new Map<string, { -readonly [K in keyof Device]: Device[K] }>();
  let pref64: string | null | undefined;
  for (const event of events) {
    if (event.type === 'network-changed') {
      if (event.pref64 !== undefined) pref64 = event.pref64;
      continue;
    }
    const device = devices.get(event.deviceId) ?? { id: event.deviceId, identities: {}, kinds: [], addresses: [], ownerAllowed: false, firstSeenAt: 0 };
    if (event.identities) device.identities = { ...device.identities, ...event.identities };
    const kinds = [...device.kinds];
    for (const k of event.kinds ?? []) if (!kinds.some((x) => x.kind === k.kind && x.evidence === k.evidence)) kinds.push(k);
    device.kinds = kinds;
    if (event.addresses) device.addresses = event.addresses.map(toDeviceAddress).filter((a): a is DeviceAddress => a !== undefined);
    if (event.ipv6Only === null) delete device.ipv6Only;
    else if (event.ipv6Only) device.ipv6Only = event.ipv6Only;
    devices.set(event.deviceId, device);
  }
  const described: DeviceDescription[] = [];
  for (const device of devices.values()) {
    const nodeId = device.identities.matterNodeId?.split('-')[1];
    const report = nodeId ? reports.get(nodeId) : undefined;
    const isolation = checkIsolation(device);
    described.push({
      id: device.id,
      ...(report ? { name: `${report.vendorName ?? ''} ${report.productName ?? ''}`.trim() } : {}),
      identities: device.identities,
      kinds: device.kinds,
      addresses: device.addresses,
      ...(device.ipv6Only ? { ipv6Only: device.ipv6Only } : {}),
      protection: isolation
        ? 'deny' in isolation
          ? { inbound: 'denied', reason: isolation.deny }
          : { inbound: 'allowed-by-owner', reason: isolation.allow }
        : { inbound: 'not-isolated' },
      ...(report
        ? {
            matter: {
              vendorName: report.vendorName,
              productName: report.productName,
              vendorId: report.vendorId,
              productId: report.productId,
              deviceTypes: [...new Set(report.endpoints.flatMap((e) => e.deviceTypes.map((t) => t.name)))],
            },
          }
        : {}),
    });
  }
  described.sort((a, b) => a.id.localeCompare(b.id));
  return {
    devices: described,
    network: {
      pref64: pref64 ?? facts?.pref64 ?? null,
      ...(facts ? { pref64Source: facts.pref64Source ?? null, option108Offered: facts.option108Offered, v6OnlyWait: facts.v6OnlyWait ?? null, v6OnlyCapable: facts.v6OnlyCapable } : {}),
    },
  };
}
