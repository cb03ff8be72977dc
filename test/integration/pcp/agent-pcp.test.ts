/**
 * Issue 10, "Agent over PCP", proven in the lab with real packets on Debian's
 * real miniupnpd: `homenet open --via pcp` from the console opens an IPv6
 * pinhole and an IPv4 mapping that carry WAN packets, `homenet close` drops
 * them (PCP MAP with lifetime 0 and the recorded nonce); a router restarted
 * without its lease file while `homenet open --via pcp` runs is noticed
 * through the epoch and the port is back within 1 s (measured with a probe
 * loop); `--via auto` leaves exactly one mapping on the router.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labRebootRouter, LabHandle } from '../../../plugin/lab/lab';
import { labProbe } from '../../../plugin/lab/lab-probe';
import { runCommand } from '../../../adapters/system/run-command';
import { Reachability } from '../../../plugin/agent/reachability';
import { describeInLab, homenetIn, lastJson, startTestLab, stopTestLab } from '../support/lab-fixture';
import { ForegroundHomenet } from '../support/foreground';

jest.setTimeout(90_000);

type Opened = { event: string; reachability: Reachability[] };

describeInLab('the agent over PCP against the real miniupnpd in the lab', () => {
  let lab: LabHandle;

  beforeAll(async () => {
    process.env.HOMENET_STATE_DIR = mkdtempSync(join(tmpdir(), 'homenet-state-'));
    lab = await startTestLab('ap');
  });

  afterAll(async () => {
    await stopTestLab(lab);
  });

  const probe = (family: 'ipv4' | 'ipv6', port: number, externalPort?: number) =>
    labProbe(lab.plan, { to: 'console', family, port, timeoutMs: 1200, ...(externalPort !== undefined ? { externalPort } : {}) });

  for (const family of ['ipv6', 'ipv4'] as const) {
    it(`${family}: homenet open --via pcp --once delivers, homenet close drops`, async () => {
      const port = family === 'ipv6' ? 42000 : 42001;
      expect((await probe(family, port)).delivered).toBe(false);
      const opened = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', String(port), '--family', family, '--via', 'pcp', '--once', '--json']);
      expect(opened.code).toBe(0);
      const verdict = lastJson<Opened>(opened).reachability[0];
      expect(verdict).toMatchObject({
        family,
        verdict: 'open',
        via: 'pcp',
        externalPort: port,
        internalClient: family === 'ipv6' ? '2001:db8:77::10' : '192.168.77.10',
        externalAddress: family === 'ipv6' ? '2001:db8:77::10' : '198.51.100.1',
        nonce: expect.stringMatching(/^[0-9a-f]{24}$/),
      });
      expect(await probe(family, port)).toMatchObject({ delivered: true });
      const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', String(port), '--family', family, '--json']);
      expect(closed.code).toBe(0);
      expect(lastJson<{ closed: { closed: boolean; detail: string }[] }>(closed).closed).toEqual([
        expect.objectContaining({ family, closed: true, detail: expect.stringMatching(/PCP mapping .* deleted/) }),
      ]);
      expect((await probe(family, port)).delivered).toBe(false);
    });
  }

  it('a router restarted without its lease file: the epoch shows it, the port is back within 1 s', async () => {
    const fg = new ForegroundHomenet(lab, 'console', ['open', '--protocol', 'udp', '--port', '42010', '--family', 'both', '--via', 'pcp', '--lease', '600', '--json']);
    try {
      const opened = (await fg.waitFor((e) => e.event === 'opened', 20_000, 'opened')) as unknown as Opened;
      expect(opened.reachability.map((r) => [r.family, r.verdict, r.via])).toEqual([
        ['ipv6', 'open', 'pcp'],
        ['ipv4', 'open', 'pcp'],
      ]);
      expect((await probe('ipv6', 42010)).delivered).toBe(true);
      expect((await probe('ipv4', 42010)).delivered).toBe(true);
      await labRebootRouter({ prefix: lab.plan.prefix, keepLeases: false });
      const restartedAt = Date.now();
      // Probe loop: short probes until a WAN packet gets through again, per family.
      const backWithin = async (family: 'ipv4' | 'ipv6'): Promise<number> => {
        for (;;) {
          const r = await labProbe(lab.plan, { to: 'console', family, port: 42010, timeoutMs: 150 });
          if (r.delivered) return Date.now() - restartedAt;
          if (Date.now() - restartedAt > 10_000) throw new Error(`${family} not back within 10 s`);
        }
      };
      const [v6ms, v4ms] = await Promise.all([backWithin('ipv6'), backWithin('ipv4')]);
      console.log(`PCP port back after miniupnpd restart without leases: ipv6 ${v6ms} ms, ipv4 ${v4ms} ms (probe granularity ~150 ms)`);
      expect(v6ms).toBeLessThan(1000);
      expect(v4ms).toBeLessThan(1000);
      const changed = await fg.waitFor((e) => e.event === 'changed' && JSON.stringify(e).includes('epoch'), 5000, 'a re-map event');
      expect(JSON.stringify(changed)).toMatch(/granted again \d+ ms after the router's epoch/);
    } finally {
      expect(await fg.stop()).toBe(0);
    }
    expect((await probe('ipv6', 42010)).delivered).toBe(false);
    expect((await probe('ipv4', 42010)).delivered).toBe(false);
  });

  it('--via auto picks one protocol and leaves exactly one mapping on the router', async () => {
    const opened = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', '42020', '--family', 'both', '--via', 'auto', '--once', '--json']);
    expect(opened.code).toBe(0);
    const verdicts = lastJson<Opened>(opened).reachability;
    expect(verdicts.map((r) => r.verdict)).toEqual(['open', 'open']);
    console.log(`--via auto on miniupnpd picked: ${verdicts.map((r) => `${r.family} ${r.via ?? 'upnp'}`).join(', ')}`);
    expect((await probe('ipv6', 42020)).delivered).toBe(true);
    expect((await probe('ipv4', 42020)).delivered).toBe(true);
    // The router's own view: one IPv4 mapping of 42020 (upnpc -l lists PCP and UPnP ones alike) ...
    const ns = lab.plan.hosts.console.namespace;
    const list = await runCommand('ip', ['netns', 'exec', ns, 'upnpc', '-i', '-m', 'eth0', '-l'], { allowFailure: true, timeoutMs: 20_000 });
    const mappings = list.stdout.split('\n').filter((l) => /\b42020->192\.168\.77\.10:42020\b/.test(l));
    expect({ mappings, out: mappings.length === 1 ? '' : list.stdout + list.stderr }).toEqual({ mappings: [expect.any(String)], out: '' });
    // ... and one IPv6 pinhole rule for it in the router's firewall (miniupnpd's nft rule matches the address as raw bytes).
    const rules = await runCommand('ip', ['netns', 'exec', lab.plan.hosts.router.namespace, 'nft', 'list', 'ruleset'], { allowFailure: true });
    const pinholes = rules.stdout.split('\n').filter((l) => /dport 42020 .*0x20010db8007700000000000000000010/.test(l));
    expect({ pinholes, out: pinholes.length === 1 ? '' : rules.stdout }).toEqual({ pinholes: [expect.any(String)], out: '' });
    const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '42020', '--family', 'both', '--json']);
    expect(closed.code).toBe(0);
    expect((await probe('ipv6', 42020)).delivered).toBe(false);
    expect((await probe('ipv4', 42020)).delivered).toBe(false);
  });

  it('cold start: open --once --family ipv6 over PCP against over UPnP (measured)', async () => {
    const timed = async (via: 'pcp' | 'upnp', port: number) => {
      const t0 = process.hrtime.bigint();
      const r = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', String(port), '--family', 'ipv6', '--via', via, '--once', '--json']);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(lastJson<Opened>(r).reachability[0]).toMatchObject({ verdict: 'open' });
      await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', String(port), '--family', 'ipv6', '--json']);
      return ms;
    };
    const pcp: number[] = [];
    const upnp: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      pcp.push(await timed('pcp', 42030 + i));
      upnp.push(await timed('upnp', 42040 + i));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
    console.log(`open --once --family ipv6 wall time (median of 3): --via pcp ${median(pcp).toFixed(0)} ms, --via upnp ${median(upnp).toFixed(0)} ms`);
    expect(median(pcp)).toBeLessThan(median(upnp));
  });
});
