/**
 * `homenet demo` — the quick start's narrated run, in two acts on the
 * built-in lab home (real network namespaces, real daemons, real packets).
 *
 * Act one, the agent: a real router (Debian's miniupnpd behind an RFC 6092
 * default-deny firewall), a console that opens its own game port over IPv6
 * and IPv4 — the remote player's packets dropped before, delivered while open
 * and dropped after — a second console that wants the same IPv4 port, and a
 * request the router must refuse.
 *
 * Act two, the mission: the same home with homenet as the router (`--router
 * homenet`) and real Matter devices (`--matter`). The plug advertises itself
 * and the router knows it as Matter by vendor and product; the console's
 * pinhole is granted and a WAN packet arrives; the plug's own request is
 * refused with the reason naming the device; two consoles asking for the same
 * IPv4 port are settled (one gets another port, both reachable); a
 * renumbering moves the console's grant while the plug stays closed. Each
 * decision is shown with its rule and reason code from the gateway's admin
 * API, and every claim is proven with a real packet.
 *
 * Exits 0 when every check held, 1 otherwise. The labs are torn down at the
 * end unless `--keep` (which keeps act two's lab); a lab left by an earlier
 * run under the same prefix is torn down first.
 */
import { parseArgs } from 'node:util';
import { CliCommand, CliIo } from '../command';
import { labDown, labStatus, labUp } from '../../lab/lab';
import { DemoStage } from './demo-stage';
import { gatewayAct, GATEWAY_ACT_LAB } from './demo-gateway-act';

/**
 * Act one: the agent's job on a router running Debian's miniupnpd. A console
 * opens its own game port over IPv6 and IPv4, the remote player's packets are
 * dropped before, delivered while open and dropped after; a second console
 * gets another external port; a request the router must refuse is refused.
 */
async function agentAct(stage: DemoStage): Promise<void> {
  const console1 = stage.lab.plan.hosts.console.interfaces[0];
  stage.line(`console: ${[...console1.ipv4, ...console1.ipv6].map((a) => a.address).join(', ')} (+ a temporary and a link-local address)`);
  stage.step('before: nobody on the Internet can reach the console on UDP 3074');
  await stage.expectDropped({ to: 'console', family: 'ipv6', port: 3074 });
  await stage.expectDropped({ to: 'console', family: 'ipv4', port: 3074 });

  stage.step('the console opens its own port: homenet open --protocol udp --port 3074 --once');
  const opened = await stage.open('console', ['--protocol', 'udp', '--port', '3074']);
  stage.check('the console is open over IPv6 and IPv4', ['ipv6', 'ipv4'].every((f) => opened.some((r) => r.family === f && r.verdict === 'open')));
  await stage.expectDelivered({ to: 'console', family: 'ipv6', port: 3074 });
  await stage.expectDelivered({ to: 'console', family: 'ipv4', port: 3074 });

  stage.step('a second console wants the same IPv4 port: it gets another external port');
  const alt = (await stage.open('console2', ['--protocol', 'udp', '--port', '3074', '--family', 'ipv4']))[0];
  if (stage.check('console2 is open on another external port', alt?.verdict === 'open' && alt.externalPort !== 3074) && alt?.verdict === 'open') {
    await stage.expectDelivered({ to: 'console2', family: 'ipv4', port: 3074, externalPort: alt.externalPort });
  }

  // Over UPnP: miniupnpd's secure mode refuses ports below 1024 there, while its PCP server
  // grants them (so `--via auto`, which takes whichever protocol opens first, would get it).
  stage.step('a privileged port (443) asked over UPnP is refused by the router: a clear verdict, not a silent failure');
  const refused = await stage.open('console', ['--protocol', 'tcp', '--port', '443', '--family', 'ipv6', '--via', 'upnp']);
  stage.check('the router refuses port 443', refused.length > 0 && refused.every((r) => r.verdict === 'denied'));

  stage.step('the console closes its port: homenet close --protocol udp --port 3074');
  const closed = await stage.homenet('console', ['close', '--protocol', 'udp', '--port', '3074']);
  stage.line(closed.stdout.trim().replace(/\n/g, '\n   '));
  await stage.expectDropped({ to: 'console', family: 'ipv6', port: 3074 });
  await stage.expectDropped({ to: 'console', family: 'ipv4', port: 3074 });
}

/**
 * `homenet demo`: the quick start's narrated run (see the file header for the two acts).
 * Exits 0 when every check held, 1 otherwise.
 *
 * @example
 * ```sh
 * sudo node dist/homenet.js demo                 # both acts, lab prefix 'demo'
 * sudo node dist/homenet.js demo --prefix d2 --keep
 * ```
 */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run the main job on the built-in lab home and narrate it (root)',
  usage: 'homenet demo [--prefix P] [--keep]',
  async run(argv, io: CliIo) {
    const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: 'demo' }, keep: { type: 'boolean', default: false } } });
    const prefix = values.prefix;
    const startedAt = Date.now();
    const seconds = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
    const log = (l: string) => io.out(`   ${l}`);
    const step = (text: string) => io.out(`\n== ${text}`);

    const earlier = await labStatus({ prefix });
    if (earlier.namespaces.some((n) => n.present) || earlier.processes.length > 0) {
      step(`a lab '${prefix}' from an earlier run is still up: tearing it down first`);
      await labDown({ prefix });
    }

    io.out(`\n######## act 1: a console opens its own port on a stock router (miniupnpd)`);
    step(`building the lab home '${prefix}' (router with miniupnpd, consoles, WAN peer)`);
    const act1At = Date.now();
    const lab1 = await labUp({ prefix, log });
    const act1 = new DemoStage(io, lab1);
    try {
      await agentAct(act1);
    } finally {
      step(`act 1 done in ${seconds(act1At)}; tearing its lab down`);
      await labDown({ prefix });
    }

    io.out(`\n######## act 2: homenet is the router — games and Matter devices, settled by the policy engine`);
    step(`building the lab home '${prefix}' with homenet as the router and real Matter devices (lab up --router homenet --matter)`);
    const act2At = Date.now();
    const lab2 = await labUp({ prefix, ...GATEWAY_ACT_LAB, log });
    const act2 = new DemoStage(io, lab2);
    try {
      await gatewayAct(act2);
    } finally {
      if (!values.keep) {
        step(`act 2 done in ${seconds(act2At)}; tearing its lab down`);
        await labDown({ prefix });
      } else {
        io.out(`\nact 2 done in ${seconds(act2At)}; its lab '${prefix}' is still up: 'homenet lab status --prefix ${prefix}', 'homenet lab down --prefix ${prefix}'`);
      }
    }

    const failed = [...act1.failed, ...act2.failed];
    io.out(
      failed.length === 0
        ? `\ndemo: every packet went where the decisions said it would (both acts in ${seconds(startedAt)}).`
        : `\ndemo: ${failed.length} check(s) failed (both acts in ${seconds(startedAt)}):\n${failed.map((f) => `  - ${f}`).join('\n')}`,
    );
    return failed.length === 0 ? 0 : 1;
  },
};
