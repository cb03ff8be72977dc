/** `homenet gateways` against the lab's real miniupnpd: the report, and the live watch that sees a reboot. */
import { LabHandle, labRebootRouter } from '../../../plugin/lab/lab';
import { runCommand } from '../../../adapters/system/run-command';
import { describeInLab, HOMENET, homenetIn, startTestLab, stopTestLab } from '../support/lab-fixture';
import { ForegroundHomenet } from '../support/foreground';

jest.setTimeout(60_000);

describeInLab('gateway discovery and report on a real router', () => {
  let lab: LabHandle;
  beforeAll(async () => {
    lab = await startTestLab('gw');
  });
  afterAll(async () => stopTestLab(lab));

  it('reports the lab router once, over IPv4 and IPv6, grade A with a public external address', async () => {
    const result = await homenetIn(lab, 'console', ['gateways', '--json', '--timeout-ms', '800']);
    expect(result.code).toBe(0);
    const { gateways } = JSON.parse(result.stdout) as { gateways: Record<string, unknown>[] };
    expect(gateways).toHaveLength(1);
    expect(gateways[0]).toMatchObject({
      grade: 'A',
      discovered: true,
      igdVersion: 2,
      family: 'ipv6',
      location: 'http://[2001:db8:77::1]:5000/rootDesc.xml',
      hasWanIpv6FirewallControl: true,
      hasWanIpConnection: true,
      firewallStatus: { firewallEnabled: true, inboundPinholeAllowed: true },
      externalIpv4: '198.51.100.1',
      externalIpv4Kind: 'public',
      seenOver: ['ipv4', 'ipv6'],
      problems: [],
    });
  });

  it('a host with no gateway gets grade D, not a hang', async () => {
    const started = Date.now();
    // The WAN peer has no IGD on its link.
    const result = await runCommand('ip', ['netns', 'exec', lab.plan.hosts.wan.namespace, process.execPath, HOMENET, 'gateways', '--json', '--timeout-ms', '500'], { allowFailure: true });
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).gateways[0]).toMatchObject({ grade: 'D', discovered: false });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the live watch sees the router reboot (a new BOOTID)', async () => {
    const watch = new ForegroundHomenet(lab, 'console', ['gateways', '--watch', '--json']);
    try {
      const first = await watch.waitFor((e) => e.event === 'appeared', 5000, 'appeared');
      await labRebootRouter({ prefix: lab.plan.prefix, keepLeases: true });
      const rebooted = await watch.waitFor((e) => e.event === 'rebooted', 10_000, 'rebooted');
      expect(rebooted.udn).toBe(first.udn);
      expect(rebooted.bootId).not.toBe(rebooted.previousBootId);
    } finally {
      await watch.stop();
    }
  });
});
