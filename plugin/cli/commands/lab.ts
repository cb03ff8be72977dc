import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CliCommand, CliIo, UsageError } from '../command';
import { labDown, labMatterDevice, labRebootRouter, labStatus, labUp, LabStatus, runningLabPlan } from '../../lab/lab';
import { labRenumber } from '../../lab/lab-renumber';
import { labSetPref64 } from '../../lab/lab-ipv6-mostly';
import { LAB_NAT_MAPPINGS, LAB_ROLES, LAB_WAN_KINDS, LAN_ROLES, LabLanRole, LabNatMapping, LabRole, LabWanKind } from '../../lab/lab-plan';
import { labProbe } from '../../lab/lab-probe';

const USAGE = `homenet lab <up|down|status|exec|probe|reboot-router|renumber|pref64|matter> [--prefix P] [--json]
  up [--matter] [--profile default|ipv6-mostly] [--router miniupnpd|homenet] [--pcp-third-party]
                     build the lab home (idempotent); --matter adds real matter.js devices
                     (plug commissioned into the lab's fabric, lock uncommissioned);
                     --profile ipv6-mostly adds RAs with PREF64, DHCPv4 option 108, DNS64, NAT64;
                     --router homenet runs 'homenet serve --mode gateway' on the router instead of miniupnpd;
                     --pcp-third-party lets miniupnpd accept PCP's THIRD_PARTY option (pcp_allow_thirdparty=yes)
     [--wan public|cgnat|double-nat] [--udp-timeout S] [--nat-mapping eim|apdm]
                     the access network: public IPv4 + native IPv6 (default); cgnat puts a carrier
                     namespace NAT44ing the router's 100.64.0.2 to 198.51.100.1; double-nat an
                     upstream home router NAT44ing its 192.168.100.2; IPv6 stays native in both.
                     The NAT is Linux conntrack (port-preserving, address-and-port-dependent
                     filtering); --udp-timeout sets its UDP conntrack timeouts to S seconds;
                     --nat-mapping apdm gives a random public port per flow (symmetric NAT)
  down               kill what the lab started and delete its namespaces
  status             what exists and what runs
  exec ROLE -- CMD   run CMD inside ROLE's namespace (${LAB_ROLES.join(', ')}, carrier or upstream)
  probe --to ROLE --family ipv6|ipv4 --port N [--protocol udp|tcp] [--external-port N] [--timeout-ms N]
                     send a real packet from the WAN peer; prints delivered or dropped
  reboot-router [--forget-leases]
                     kill the router daemon (miniupnpd or homenet), flush its rules, start it again (new BOOTID)
  renumber           new /64 on the LAN, the old one deprecated, the WAN peer's route follows
  pref64 PREFIX|none announce another PREF64 (ipv6-mostly profile) or withdraw it
  matter start|stop ROLE
                     start or stop the Matter plug or lock (storage kept)
  --prefix P         namespace prefix of this lab instance (default: hn)`;

/** The JSON that `lab up` and `lab status` print: every namespace, interface and address. */
export function describeLab(status: LabStatus) {
  return {
    prefix: status.prefix,
    running: status.running,
    runDir: status.plan.runDir,
    hosts: Object.values(status.plan.hosts).map((host) => ({
      role: host.role,
      namespace: host.namespace,
      present: status.namespaces.find((n) => n.name === host.namespace)?.present ?? false,
      interfaces: host.interfaces,
    })),
    ...(status.plan.upstream
      ? {
          upstream: {
            role: status.plan.upstream.role,
            namespace: status.plan.upstream.namespace,
            present: status.namespaces.find((n) => n.name === status.plan.upstream!.namespace)?.present ?? false,
            interfaces: status.plan.upstream.interfaces,
            udpTimeoutSeconds: status.plan.upstream.udpTimeoutSeconds ?? null,
            natMapping: status.plan.upstream.natMapping,
          },
        }
      : {}),
    processes: status.processes.map((p) => ({ name: p.name, namespace: p.namespace, pid: p.pid, alive: p.alive, log: p.log })),
    profile: status.profile ?? 'default',
    ...(status.matter ? { matter: status.matter } : {}),
    ...(status.lanPrefixes ? { lanPrefixes: status.lanPrefixes } : {}),
    wan: status.plan.wan,
    lan: status.plan.lan,
  };
}

function printStatus(io: CliIo, status: LabStatus, json: boolean): void {
  if (json) {
    io.out(JSON.stringify(describeLab(status), null, 2));
    return;
  }
  io.out(`lab '${status.prefix}': ${status.running ? 'running' : 'not running'} (wan ${status.plan.wan.kind})`);
  const upstream = status.plan.upstream ? [status.plan.upstream] : [];
  for (const host of [...Object.values(status.plan.hosts), ...upstream]) {
    const present = status.namespaces.find((n) => n.name === host.namespace)?.present;
    io.out(`  ${host.role.padEnd(8)} ${host.namespace}${present ? '' : ' (absent)'}`);
    for (const iface of host.interfaces) {
      const addrs = [...iface.ipv4.map((a) => `${a.address}/${a.prefixLength}`), ...iface.ipv6.map((a) => `${a.address}/${a.prefixLength} (${a.kind})`)];
      io.out(`    ${iface.name}: ${addrs.join(', ')}`);
    }
  }
  for (const p of status.processes) io.out(`  ${p.name} pid ${p.pid} in ${p.namespace}: ${p.alive ? 'alive' : 'dead'}`);
}

async function execInRole(prefix: string, role: LabRole | 'carrier' | 'upstream', command: string[]): Promise<number> {
  const plan = await runningLabPlan({ prefix });
  let namespace: string;
  if (role === 'carrier' || role === 'upstream') {
    if (plan.upstream?.role !== role) throw new UsageError(`lab '${prefix}' has no ${role} (it runs --wan ${plan.wan.kind})`);
    namespace = plan.upstream.namespace;
  } else {
    namespace = plan.hosts[role].namespace;
  }
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...command], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export const labCommand: CliCommand = {
  name: 'lab',
  summary: 'build, inspect, probe and tear down the built-in lab home (root)',
  usage: USAGE,
  async run(argv, io) {
    const dashdash = argv.indexOf('--');
    const own = dashdash >= 0 ? argv.slice(0, dashdash) : argv;
    const rest = dashdash >= 0 ? argv.slice(dashdash + 1) : [];
    const { values, positionals } = parseArgs({
      args: own,
      allowPositionals: true,
      options: {
        prefix: { type: 'string', default: 'hn' },
        json: { type: 'boolean', default: false },
        to: { type: 'string' },
        family: { type: 'string', default: 'ipv6' },
        protocol: { type: 'string', default: 'udp' },
        port: { type: 'string' },
        'external-port': { type: 'string' },
        'timeout-ms': { type: 'string', default: '1500' },
        'forget-leases': { type: 'boolean', default: false },
        matter: { type: 'boolean', default: false },
        profile: { type: 'string', default: 'default' },
        router: { type: 'string', default: 'miniupnpd' },
        'pcp-third-party': { type: 'boolean', default: false },
        wan: { type: 'string' },
        'udp-timeout': { type: 'string' },
        'nat-mapping': { type: 'string' },
      },
    });
    const [action, role, extra] = positionals;
    const prefix = values.prefix;
    switch (action) {
      case 'up': {
        if (values.profile !== 'default' && values.profile !== 'ipv6-mostly') throw new UsageError('--profile must be default or ipv6-mostly');
        if (values.router !== 'miniupnpd' && values.router !== 'homenet') throw new UsageError('--router must be miniupnpd or homenet');
        if (values.wan !== undefined && !(LAB_WAN_KINDS as readonly string[]).includes(values.wan)) throw new UsageError(`--wan must be one of ${LAB_WAN_KINDS.join(', ')}`);
        const udpTimeout = values['udp-timeout'];
        if (udpTimeout !== undefined) {
          if (!/^[0-9]+$/.test(udpTimeout) || Number(udpTimeout) < 1 || Number(udpTimeout) > 86400) throw new UsageError('--udp-timeout must be a whole number of seconds, 1-86400');
          if (values.wan !== 'cgnat' && values.wan !== 'double-nat') throw new UsageError('--udp-timeout needs --wan cgnat or --wan double-nat (the timeout is the upstream NAT\'s)');
        }
        const natMapping = values['nat-mapping'];
        if (natMapping !== undefined) {
          if (!(LAB_NAT_MAPPINGS as readonly string[]).includes(natMapping)) throw new UsageError(`--nat-mapping must be one of ${LAB_NAT_MAPPINGS.join(', ')}`);
          if (values.wan !== 'cgnat' && values.wan !== 'double-nat') throw new UsageError('--nat-mapping needs --wan cgnat or --wan double-nat');
        }
        await labUp({
          prefix,
          matter: values.matter,
          profile: values.profile,
          router: values.router,
          pcpThirdParty: values['pcp-third-party'],
          ...(values.wan !== undefined ? { wan: values.wan as LabWanKind } : {}),
          ...(udpTimeout !== undefined ? { udpTimeoutSeconds: Number(udpTimeout) } : {}),
          ...(natMapping !== undefined ? { natMapping: natMapping as LabNatMapping } : {}),
          log: (l) => io.err(l),
        });
        printStatus(io, await labStatus({ prefix }), values.json);
        return 0;
      }
      case 'down': {
        const result = await labDown({ prefix });
        if (values.json) io.out(JSON.stringify(result));
        else io.out(`lab '${prefix}' down: killed ${result.killed.join(', ') || 'nothing'}; removed ${result.removed.join(', ') || 'nothing'}`);
        return 0;
      }
      case 'status': {
        const status = await labStatus({ prefix });
        printStatus(io, status, values.json);
        return status.running ? 0 : 3;
      }
      case 'exec': {
        if (!role || !(LAB_ROLES.includes(role as LabRole) || role === 'carrier' || role === 'upstream')) throw new UsageError(`exec needs a role: ${LAB_ROLES.join(', ')}, carrier, upstream`);
        if (rest.length === 0) throw new UsageError('exec needs a command after --');
        return execInRole(prefix, role as LabRole | 'carrier' | 'upstream', rest);
      }
      case 'probe': {
        const to = values.to as LabLanRole;
        if (!LAN_ROLES.includes(to)) throw new UsageError(`--to must be one of ${LAN_ROLES.join(', ')}`);
        if (values.family !== 'ipv4' && values.family !== 'ipv6') throw new UsageError('--family must be ipv4 or ipv6');
        if (values.protocol !== 'udp' && values.protocol !== 'tcp') throw new UsageError('--protocol must be udp or tcp');
        const port = Number(values.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('--port must be 1-65535');
        const result = await labProbe(await runningLabPlan({ prefix }), {
          to,
          family: values.family,
          protocol: values.protocol,
          port,
          externalPort: values['external-port'] ? Number(values['external-port']) : undefined,
          timeoutMs: Number(values['timeout-ms']),
        });
        if (values.json) io.out(JSON.stringify(result));
        else io.out(`${result.delivered ? 'DELIVERED' : 'DROPPED'} ${result.target}${result.from ? ` from ${result.from}` : ''} (${result.elapsedMs} ms)`);
        return result.delivered ? 0 : 1;
      }
      case 'reboot-router': {
        const proc = await labRebootRouter({ prefix, keepLeases: !values['forget-leases'] });
        io.out(`router rebooted: ${proc.name} pid ${proc.pid}`);
        return 0;
      }
      case 'renumber': {
        const result = await labRenumber({ prefix });
        if (values.json) io.out(JSON.stringify(result));
        else io.out(`LAN renumbered to ${result.current}; deprecated: ${result.deprecated.join(', ')}`);
        return 0;
      }
      case 'pref64': {
        if (!role) throw new UsageError('pref64 needs a prefix (e.g. 64:ff9b::/96) or none');
        const at = await labSetPref64({ prefix }, role === 'none' ? null : role);
        if (values.json) io.out(JSON.stringify({ pref64: role === 'none' ? null : role, at }));
        else io.out(role === 'none' ? 'PREF64 withdrawn' : `PREF64 ${role} announced`);
        return 0;
      }
      case 'matter': {
        if ((role !== 'start' && role !== 'stop') || (extra !== 'plug' && extra !== 'lock')) throw new UsageError('matter start|stop plug|lock');
        const result = await labMatterDevice({ prefix, role: extra, action: role });
        if (values.json) io.out(JSON.stringify({ role: extra, action: role, ...result }));
        else io.out(role === 'start' ? `Matter ${extra} online${result.process ? ` (pid ${result.process.pid})` : ''}` : `Matter ${extra} stopped`);
        return 0;
      }
      default:
        throw new UsageError(action ? `unknown lab action '${action}'` : 'which lab action?');
    }
  },
};
