/**
 * Issue 2 acceptance, proven with real packets in the lab home: a real
 * miniupnpd router behind a default-deny firewall, the console and console2
 * LAN hosts, and a WAN peer that plays the remote player.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labRebootRouter, LabHandle } from '../../../plugin/lab/lab';
import { labProbe } from '../../../plugin/lab/lab-probe';
import { runCommand } from '../../../adapters/system/run-command';
import { describeInLab, homenetIn, lastJson, startTestLab, stopTestLab, HOMENET } from '../support/lab-fixture';
import { ForegroundHomenet } from '../support/foreground';
import { Reachability } from '../../../plugin/agent/reachability';

jest.setTimeout(60_000);

type Opened = { event: string; reachability: Reachability[] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeInLab('opening ports on a real router (miniupnpd in the lab)', () => {
  let lab: LabHandle;

  beforeAll(async () => {
    process.env.HOMENET_STATE_DIR = mkdtempSync(join(tmpdir(), 'homenet-state-'));
    lab = await startTestLab('po');
  });

  afterAll(async () => {
    await stopTestLab(lab);
  });

  const probe = (family: 'ipv4' | 'ipv6', port: number, extra: { to?: 'console' | 'console2'; externalPort?: number; address?: string; protocol?: 'udp' | 'tcp' } = {}) =>
    labProbe(lab.plan, { to: extra.to ?? 'console', family, port, timeoutMs: 1200, ...extra });

  it('an IPv6 pinhole: dropped before, delivered while open, dropped after close', async () => {
    expect((await probe('ipv6', 41000)).delivered).toBe(false);
    const opened = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41000', '--family', 'ipv6', '--once', '--json']);
    expect(opened.code).toBe(0);
    const verdict = lastJson<Opened>(opened).reachability[0];
    expect(verdict).toMatchObject({ family: 'ipv6', verdict: 'open', internalClient: '2001:db8:77::10', externalPort: 41000, protocol: 'udp' });
    const delivered = await probe('ipv6', 41000);
    expect(delivered).toMatchObject({ delivered: true, from: '2001:db8:100::2' });
    const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '41000', '--family', 'ipv6', '--json']);
    expect(lastJson<{ closed: { closed: boolean }[] }>(closed).closed).toEqual([expect.objectContaining({ family: 'ipv6', closed: true })]);
    expect((await probe('ipv6', 41000)).delivered).toBe(false);
  });

  it('an IPv4 port mapping: dropped before, delivered while open, dropped after close', async () => {
    expect((await probe('ipv4', 41001)).delivered).toBe(false);
    const opened = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41001', '--family', 'ipv4', '--once', '--json']);
    const verdict = lastJson<Opened>(opened).reachability[0];
    expect(verdict).toMatchObject({ family: 'ipv4', verdict: 'open', externalAddress: '198.51.100.1', externalPort: 41001, internalClient: '192.168.77.10' });
    expect(await probe('ipv4', 41001)).toMatchObject({ delivered: true, from: '198.51.100.2' });
    const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '41001', '--family', 'ipv4', '--json']);
    expect(closed.code).toBe(0);
    expect((await probe('ipv4', 41001)).delivered).toBe(false);
  });

  it('TCP too: a pinhole lets a WAN connection in', async () => {
    expect((await probe('ipv6', 41002, { protocol: 'tcp' })).delivered).toBe(false);
    const opened = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'tcp', '--port', '41002', '--family', 'ipv6', '--once', '--json']);
    expect(lastJson<Opened>(opened).reachability[0]).toMatchObject({ verdict: 'open', protocol: 'tcp' });
    expect((await probe('ipv6', 41002, { protocol: 'tcp' })).delivered).toBe(true);
  });

  it('uses the stable global address, not the temporary one the kernel prefers for outgoing traffic', async () => {
    const { stdout } = await runCommand('ip', ['-n', lab.plan.hosts.console.namespace, '-j', '-6', 'addr', 'show', 'dev', 'eth0']);
    const temporary = (JSON.parse(stdout) as { addr_info: { local: string; temporary?: boolean }[] }[])[0].addr_info.filter((a) => a.temporary);
    expect(temporary.length).toBeGreaterThan(0);
    const opened = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41003', '--family', 'ipv6', '--once', '--json']);
    const verdict = lastJson<Opened>(opened).reachability[0];
    expect(verdict).toMatchObject({ verdict: 'open', internalClient: '2001:db8:77::10' });
    expect(temporary.map((a) => a.local)).not.toContain((verdict as { internalClient: string }).internalClient);
  });

  it('an address this host does not own is a clear error before anything is sent', async () => {
    // In a namespace with no network at all, any attempt to discover or send
    // would end in a discovery verdict; the check must come first.
    const ns = `${lab.plan.prefix}-empty`;
    await runCommand('ip', ['netns', 'add', ns]);
    try {
      const started = Date.now();
      const result = await runCommand('ip', ['netns', 'exec', ns, process.execPath, HOMENET, 'open', '--via', 'upnp', '--protocol', 'udp', '--port', '41004', '--address', '2001:db8:77::99', '--once'], {
        allowFailure: true,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('2001:db8:77::99 is not an address of this host');
      expect(result.stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(2500); // no discovery timeout was waited for
    } finally {
      await runCommand('ip', ['netns', 'del', ns]);
    }
    const inLab = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41004', '--address', '2001:db8:77::11', '--once']);
    expect(inLab.code).toBe(1);
    expect(inLab.stderr).toMatch(/2001:db8:77::11 is not an address of this host/);
  });

  it('a port below 1024 comes back as a denied verdict carrying the router\'s 606', async () => {
    const result = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '443', '--family', 'ipv6', '--once', '--json']);
    expect(result.code).toBe(3);
    expect(lastJson<Opened>(result).reachability[0]).toMatchObject({ family: 'ipv6', verdict: 'denied', code: 606, name: 'ActionNotAuthorized' });
  });

  it('an IPv4 external port held by another LAN host: the second host gets another external port, and it works', async () => {
    const first = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41005', '--family', 'ipv4', '--once', '--json']);
    expect(lastJson<Opened>(first).reachability[0]).toMatchObject({ verdict: 'open', externalPort: 41005 });
    const second = await homenetIn(lab, 'console2', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41005', '--family', 'ipv4', '--once', '--json']);
    const verdict = lastJson<Opened>(second).reachability[0] as Reachability & { externalPort: number };
    expect(verdict).toMatchObject({ verdict: 'open', internalClient: '192.168.77.11', internalPort: 41005 });
    expect(verdict.externalPort).not.toBe(41005);
    expect(verdict.reason).toContain('held by another host');
    expect(await probe('ipv4', 41005, { to: 'console2', externalPort: verdict.externalPort })).toMatchObject({ delivered: true });
    expect(await probe('ipv4', 41005, { to: 'console' })).toMatchObject({ delivered: true });
  });

  it('renewal keeps a short lease open past its end; without renewal it expires', async () => {
    const kept = new ForegroundHomenet(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41006', '--family', 'ipv6', '--lease', '4', '--json']);
    try {
      await kept.waitFor((e) => e.event === 'opened', 10_000, 'opened');
      const once = await homenetIn(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41007', '--family', 'ipv6', '--lease', '4', '--once', '--json']);
      expect(lastJson<Opened>(once).reachability[0]).toMatchObject({ verdict: 'open', leaseSeconds: 4 });
      await sleep(6500);
      expect(kept.events.filter((e) => e.event === 'changed').length).toBeGreaterThanOrEqual(2); // renewed at least twice
      expect((await probe('ipv6', 41006)).delivered).toBe(true);
      expect((await probe('ipv6', 41007)).delivered).toBe(false);
    } finally {
      expect(await kept.stop()).toBe(0);
    }
    expect(kept.events.at(-1)).toEqual({ event: 'closed' });
    expect((await probe('ipv6', 41006)).delivered).toBe(false);
  });

  it('a router that reboots without its lease files: the open port is restored', async () => {
    const fg = new ForegroundHomenet(lab, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41008', '--family', 'both', '--lease', '6', '--json']);
    try {
      await fg.waitFor((e) => e.event === 'opened', 10_000, 'opened');
      expect((await probe('ipv6', 41008)).delivered).toBe(true);
      expect((await probe('ipv4', 41008)).delivered).toBe(true);
      const before = fg.events.length;
      await labRebootRouter({ prefix: lab.plan.prefix, keepLeases: false });
      // The router forgot everything; the agent's next renewal (or the new
      // BOOTID it announces) must add both back.
      await fg.waitFor((e) => fg.events.indexOf(e) >= before && e.event === 'changed' && (e.reachability as Reachability[])[0].family === 'ipv6', 8000, 'IPv6 re-add');
      await fg.waitFor((e) => fg.events.indexOf(e) >= before && e.event === 'changed' && (e.reachability as Reachability[])[0].family === 'ipv4', 8000, 'IPv4 re-add');
      await sleep(200);
      expect((await probe('ipv6', 41008)).delivered).toBe(true);
      expect((await probe('ipv4', 41008)).delivered).toBe(true);
    } finally {
      await fg.stop();
    }
  });

  it('follows the address: when the stable address is deprecated, the pinhole moves to the new one', async () => {
    const ns = lab.plan.hosts.console2.namespace;
    const fg = new ForegroundHomenet(lab, 'console2', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41009', '--family', 'ipv6', '--json']);
    try {
      const opened = await fg.waitFor((e) => e.event === 'opened', 10_000, 'opened');
      expect((opened.reachability as Reachability[])[0]).toMatchObject({ verdict: 'open', internalClient: '2001:db8:77::11' });
      // Renumbering as SLAAC does it: a new stable address appears, the old one is deprecated.
      await runCommand('ip', ['-n', ns, 'addr', 'add', '2001:db8:77::111/64', 'dev', 'eth0', 'nodad']);
      await runCommand('ip', ['-n', ns, 'addr', 'change', '2001:db8:77::11/64', 'dev', 'eth0', 'preferred_lft', '0']);
      await fg.waitFor(
        (e) => e.event === 'changed' && (e.reachability as { internalClient?: string }[])[0].internalClient === '2001:db8:77::111',
        8000,
        'the move to 2001:db8:77::111',
      );
      expect(await probe('ipv6', 41009, { to: 'console2', address: '2001:db8:77::111' })).toMatchObject({ delivered: true });
      expect((await probe('ipv6', 41009, { to: 'console2', address: '2001:db8:77::11' })).delivered).toBe(false);
    } finally {
      await fg.stop();
    }
  });
});
