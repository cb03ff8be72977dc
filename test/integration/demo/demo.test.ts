/**
 * The quick start's `homenet demo`, run as a newcomer runs it: the real
 * `dist/homenet.js demo` on a lab prefix of its own. Both acts' key lines
 * (each decision with its reason code, each packet delivered or dropped) and
 * exit 0; then a second run in a row over the lab the first one kept, which
 * must tear it down first, pass again and leave no namespace behind.
 */
import { existsSync } from 'node:fs';
import { describeInLab, HOMENET } from '../support/lab-fixture';
import { CommandResult, runCommand } from '../../../adapters/system/run-command';
import { existingNamespaces } from '../../../plugin/lab/lab-network';
import { labDown } from '../../../plugin/lab/lab';
import { labPlan } from '../../../plugin/lab/lab-plan';

jest.setTimeout(150_000);

const prefix = `dm${(process.pid % 46656).toString(36)}`.slice(0, 8);

function demo(args: string[]): Promise<CommandResult> {
  if (!existsSync(HOMENET)) throw new Error(`${HOMENET} is missing: run 'npm run build' first (npm test does)`);
  return runCommand(process.execPath, [HOMENET, 'demo', '--prefix', prefix, ...args], { allowFailure: true, timeoutMs: 140_000 });
}

/** The exit code, and on failure the end of what the demo printed (so a failed run explains itself). */
function exitOf(run: CommandResult): { code: number; output: string } {
  return { code: run.code, output: run.code === 0 ? '' : `${run.stdout.slice(-4000)}\n${run.stderr}` };
}

async function labNamespaces(): Promise<string[]> {
  return [...(await existingNamespaces())].filter((n) => n.startsWith(`${prefix}-`));
}

/** The text of one act: from its banner to the next one (or the end). */
function act(output: string, n: 1 | 2): string {
  const start = output.indexOf(`######## act ${n}:`);
  if (start < 0) throw new Error(`no act ${n} in the demo's output:\n${output}`);
  const next = output.indexOf('######## act', start + 10);
  return output.slice(start, next < 0 ? undefined : next);
}

describeInLab('homenet demo (the quick start)', () => {
  afterAll(async () => {
    await labDown({ prefix });
  });

  it('runs both acts: every decision with its reason code, every claim a packet, exit 0; --keep keeps the lab', async () => {
    const startedAt = Date.now();
    const run = await demo(['--keep']);
    const wallMs = Date.now() - startedAt;
    process.stdout.write(`homenet demo wall time: ${wallMs} ms\n`);
    const out = run.stdout;
    expect(exitOf(run)).toEqual({ code: 0, output: '' });
    expect(out).not.toContain('CHECK FAILED');
    expect(out).toMatch(/\ndemo: every packet went where the decisions said it would \(both acts in [\d.]+ s\)\.\n/);

    const one = act(out, 1);
    expect(one).toContain('remote player -> [2001:db8:77::10]:3074/udp: DROPPED by the router firewall');
    expect(one).toMatch(/console: ipv6: open +\[2001:db8:77::10\]:3074\/udp/);
    expect(one).toContain('remote player -> [2001:db8:77::10]:3074/udp: DELIVERED to console');
    const alt1 = Number(/console2: ipv4: open +198\.51\.100\.1:(\d+)\/udp/.exec(one)?.[1]);
    expect(alt1).toBeGreaterThan(0);
    expect(alt1).not.toBe(3074);
    expect(one).toContain(`remote player -> 198.51.100.1:${alt1}/udp (console2 listens on 3074): DELIVERED to console2`);
    expect(one).toMatch(/console: ipv6: denied \(606 /);

    const two = act(out, 2);
    // The plug, learned as Matter from its own advertisement, named by vendor and product.
    const plugId = /plug 2001:db8:77::20: device '([^']+)' is Matter — vendor 0xFFF1, product 0x8001, device type 0x010A \(On\/Off Plug-in Unit\)/.exec(two)?.[1];
    expect(plugId).toBeDefined();
    expect(two).toMatch(/evidence: mdns:_matterc\._udp [0-9A-F]{16} VP=65521\+32769 DT=266/);
    // The console's pinhole granted, and a WAN packet through it.
    expect(two).toMatch(/router decision \(console, ipv6\): granted — \S*\/admitted/);
    expect(two).toContain('remote player -> [2001:db8:77::10]:3074/udp: DELIVERED to console');
    // The plug's own request refused, the reason naming the device; its port stays closed.
    expect(two).toMatch(/plug: ipv6: denied \(606 [^\n]*matter-device-isolation/); // the router's own reason, carried in errorDescription
    expect(two).toContain(`router decision (plug, ipv6): denied — matter-isolation/matter-device-isolation [device ${plugId}]: ${plugId} is matter (mdns:_matterc._udp`);
    expect(two).toContain('remote player -> [2001:db8:77::20]:5540/tcp: DROPPED by the router firewall');
    // Two consoles, one IPv4 port: the second settled on another external port, both reachable.
    const settled = /router decision \(console2, ipv4\): granted-with-changes — .*ipv4-external-port-exclusive\/external-port-in-use .*using (\d+)/.exec(two);
    expect(settled).not.toBeNull();
    const alt2 = Number(settled![1]);
    expect(alt2).not.toBe(3074);
    expect(two).toMatch(new RegExp(`console2: ipv4: open +198\\.51\\.100\\.1:${alt2}/udp`));
    expect(two).toContain('remote player -> 198.51.100.1:3074/udp (console listens on 3074): DELIVERED to console');
    expect(two).toContain(`remote player -> 198.51.100.1:${alt2}/udp (console2 listens on 3074): DELIVERED to console2`);
    // Renumbering: the console's grant follows, the old address is closed, the plug's new address is refused and closed.
    expect(two).toContain('address-churn/address-followed: 2001:db8:77::10 is gone; following the stable address 2001:db8:78::10');
    expect(two).toContain('remote player -> [2001:db8:78::10]:3074/udp: DELIVERED to console');
    const afterRenumber = two.slice(two.indexOf('renumbers the LAN'));
    expect(afterRenumber).toContain('remote player -> [2001:db8:77::10]:3074/udp: DROPPED by the router firewall');
    expect(afterRenumber).toContain(`router answer: policy_denied; decision: denied — matter-isolation/matter-device-isolation [device ${plugId}]`);
    expect(afterRenumber).toContain('remote player -> [2001:db8:78::20]:5540/tcp: DROPPED by the router firewall');

    // --keep: act two's lab is still up.
    expect(out).toContain(`its lab '${prefix}' is still up`);
    expect((await labNamespaces()).sort()).toEqual([`${prefix}-console`, `${prefix}-console2`, `${prefix}-hub`, `${prefix}-lock`, `${prefix}-plug`, `${prefix}-router`, `${prefix}-wan`]);
  });

  it('runs again right after over the kept lab: tears it down first, passes, and leaves nothing behind', async () => {
    const run = await demo([]);
    expect(exitOf(run)).toEqual({ code: 0, output: '' });
    expect(run.stdout).toContain(`a lab '${prefix}' from an earlier run is still up: tearing it down first`);
    expect(run.stdout).not.toContain('CHECK FAILED');
    expect(run.stdout).toContain('act 2 done in');
    expect(await labNamespaces()).toEqual([]);
    expect(existsSync(labPlan({ prefix }).runDir)).toBe(false);
  });
});
