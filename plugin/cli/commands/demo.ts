import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliCommand, CliIo } from '../command';
import { labDown, labUp, LabHandle } from '../../lab/lab';
import { labProbe } from '../../lab/lab-probe';
import { runCommand } from '../../../adapters/system/run-command';
import { Reachability } from '../../agent/reachability';
import { formatVerdict } from './open';

/** The `homenet` CLI as the demo runs it inside lab namespaces (this very program). */
function self(): string {
  return process.argv[1] ?? join(__dirname, '../main.js');
}

async function homenetIn(lab: LabHandle, role: 'console' | 'console2', args: string[]) {
  return runCommand('ip', ['netns', 'exec', lab.plan.hosts[role].namespace, process.execPath, self(), ...args], {
    allowFailure: true,
    env: { ...process.env, HOMENET_STATE_DIR: `${lab.plan.runDir}/agent-${role}` },
  });
}

function verdicts(stdout: string): Reachability[] {
  const line = stdout.trim().split('\n').pop() ?? '{}';
  return (JSON.parse(line) as { reachability?: Reachability[] }).reachability ?? [];
}

/**
 * The main job on the built-in lab home, narrated: a real router (miniupnpd
 * behind a default-deny firewall), a console that opens its own game port over
 * IPv6 and IPv4, the remote player's packets dropped before, delivered while
 * open and dropped after, a second console that wants the same IPv4 port, and
 * a request the router must refuse.
 */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run the main job on the built-in lab home and narrate it (root)',
  usage: 'homenet demo [--prefix P] [--keep]',
  async run(argv, io: CliIo) {
    const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: 'demo' }, keep: { type: 'boolean', default: false } } });
    const prefix = values.prefix;
    const step = (text: string) => io.out(`\n== ${text}`);
    const probe = async (lab: LabHandle, family: 'ipv4' | 'ipv6', port: number, to: 'console' | 'console2' = 'console', externalPort?: number) => {
      const r = await labProbe(lab.plan, { to, family, port, timeoutMs: 1000, ...(externalPort ? { externalPort } : {}) });
      io.out(`   remote player -> ${r.target}: ${r.delivered ? `DELIVERED (from ${r.from})` : 'DROPPED by the router firewall'}`);
      return r.delivered;
    };
    step(`building the lab home '${prefix}' (router with miniupnpd, consoles, WAN peer)`);
    const lab = await labUp({ prefix, log: (l) => io.out(`   ${l}`) });
    let ok = true;
    try {
      const console1 = lab.plan.hosts.console.interfaces[0];
      io.out(`   console: ${[...console1.ipv4, ...console1.ipv6].map((a) => a.address).join(', ')} (+ a temporary and a link-local address)`);
      step('before: nobody on the Internet can reach the console on UDP 3074');
      ok = !(await probe(lab, 'ipv6', 3074)) && ok;
      ok = !(await probe(lab, 'ipv4', 3074)) && ok;

      step('the console opens its own port: homenet open --protocol udp --port 3074 --once');
      const opened = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', '3074', '--once', '--json']);
      for (const r of verdicts(opened.stdout)) io.out(`   ${formatVerdict(r)}`);
      ok = (await probe(lab, 'ipv6', 3074)) && ok;
      ok = (await probe(lab, 'ipv4', 3074)) && ok;

      step('a second console wants the same IPv4 port: it gets another external port');
      const second = await homenetIn(lab, 'console2', ['open', '--protocol', 'udp', '--port', '3074', '--family', 'ipv4', '--once', '--json']);
      const alt = verdicts(second.stdout)[0];
      if (alt) io.out(`   ${formatVerdict(alt)}`);
      if (alt?.verdict === 'open') ok = (await probe(lab, 'ipv4', 3074, 'console2', alt.externalPort)) && ok;

      step('a privileged port (443) is refused by the router: a clear verdict, not a silent failure');
      const refused = await homenetIn(lab, 'console', ['open', '--protocol', 'tcp', '--port', '443', '--family', 'ipv6', '--once', '--json']);
      for (const r of verdicts(refused.stdout)) io.out(`   ${formatVerdict(r)}`);

      step('the console closes its port: homenet close --protocol udp --port 3074');
      const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '3074']);
      io.out(closed.stdout.trim().replace(/^/gm, '   '));
      ok = !(await probe(lab, 'ipv6', 3074)) && ok;
      ok = !(await probe(lab, 'ipv4', 3074)) && ok;
    } finally {
      if (!values.keep) {
        step('tearing the lab down');
        await labDown({ prefix });
      } else {
        io.out(`\nthe lab '${prefix}' is still up: 'homenet lab status --prefix ${prefix}', 'homenet lab down --prefix ${prefix}'`);
      }
    }
    io.out(ok ? '\ndemo: every packet went where the verdicts said it would.' : '\ndemo: some packet did not behave as the verdict said (see above).');
    return ok ? 0 : 1;
  },
};
