/**
 * DNS-SD across the lab's real LAN (a bridge of veth pairs, IPv4 and IPv6):
 * the advertiser in the hub's namespace, the browser and `homenet open --hub
 * auto` in the console's. The advertised port has no hub listening, so the
 * agent must find the hub, fail to reach it, say so, and open the port alone
 * through the lab's real miniupnpd exactly as without a hub.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LabHandle } from '../../../plugin/lab/lab';
import { runCommand } from '../../../adapters/system/run-command';
import { describeInLab, homenetIn, lastJson, startTestLab, stopTestLab } from '../support/lab-fixture';

jest.setTimeout(120_000);

const DIST = join(__dirname, '..', '..', '..', 'dist');
const HUB_PORT = 5399; // nothing listens there: the hub is "down"

const ADVERTISER = `
const { DnssdAdvertiser } = require(${JSON.stringify(join(DIST, 'adapters/dnssd/dnssd-advertiser.js'))});
const { readHostAddresses } = require(${JSON.stringify(join(DIST, 'adapters/observe/host-addresses.js'))});
DnssdAdvertiser.start({ serviceType: '_homenet._tcp.local', instance: 'homenet hub on lab', host: 'labhub', port: ${HUB_PORT},
  txt: ['path=/homenet/v1', 'deployment=hub'], interfaces: ['eth0'], addresses: readHostAddresses })
  .then((ad) => { console.log('ready'); process.on('SIGTERM', () => ad.stop().then(() => process.exit(0))); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

const BROWSER = `
const { discoverHub } = require(${JSON.stringify(join(DIST, 'plugin/agent/hub-discovery.js'))});
const started = Date.now();
discoverHub({ timeoutMs: 1500 }).then((hub) => console.log(JSON.stringify({ hub: hub ?? null, ms: Date.now() - started })));
`;

type Verdict = { family: string; verdict: string; hub?: { url: string; reachable: boolean; detail?: string } };

describeInLab('DNS-SD hub discovery in the lab', () => {
  let lab: LabHandle;
  let advertiser: ChildProcess | undefined;

  beforeAll(async () => {
    process.env.HOMENET_STATE_DIR = mkdtempSync(join(tmpdir(), 'homenet-state-'));
    lab = await startTestLab('dn');
  });

  afterAll(async () => {
    if (advertiser && advertiser.exitCode === null) advertiser.kill('SIGKILL');
    await stopTestLab(lab);
  });

  const browse = async (from: 'console' | 'lock' = 'console') => {
    const r = await runCommand('ip', ['netns', 'exec', lab.plan.hosts[from].namespace, process.execPath, '-e', BROWSER], { allowFailure: true, timeoutMs: 10_000 });
    return JSON.parse(r.stdout.trim()) as { hub: { url: string; byFamily: { ipv4?: string; ipv6?: string }; instance: string } | null; ms: number };
  };

  it('no advertiser: the browse ends empty at its bound, and open --hub auto carries no hub field', async () => {
    const empty = await browse();
    expect(empty.hub).toBeNull();
    expect(empty.ms).toBeGreaterThanOrEqual(1400);
    expect(empty.ms).toBeLessThan(4000);
    const opened = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', '42110', '--family', 'ipv4', '--via', 'upnp', '--hub', 'auto', '--once', '--json']);
    expect(opened.code).toBe(0);
    const [v4] = lastJson<{ reachability: Verdict[] }>(opened).reachability;
    expect(v4).toMatchObject({ family: 'ipv4', verdict: 'open' });
    expect(v4.hub).toBeUndefined();
    expect(opened.stderr).toMatch(/no hub answered on this LAN/);
    await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '42110', '--family', 'ipv4', '--json']);
  });

  it('the console finds the hub over IPv4 and IPv6, and an unreachable hub leaves the agent deciding alone', async () => {
    advertiser = spawn('ip', ['netns', 'exec', lab.plan.hosts.hub.namespace, process.execPath, '-e', ADVERTISER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    advertiser.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the advertiser did not start: ${stderr}`)), 10_000);
      createInterface({ input: advertiser!.stdout! }).on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      advertiser!.once('exit', () => reject(new Error(`the advertiser exited: ${stderr}`)));
    });

    const found = await browse();
    expect(found.hub).not.toBeNull();
    expect(found.hub!.instance).toBe('homenet hub on lab._homenet._tcp.local');
    expect(found.hub!.byFamily.ipv4).toBe(`http://192.168.77.5:${HUB_PORT}/homenet/v1`);
    expect(found.hub!.byFamily.ipv6).toMatch(new RegExp(`^http://\\[(2001:db8:77::5|fd00:77::5)\\]:${HUB_PORT}/homenet/v1$`));
    expect(found.ms).toBeLessThan(1500); // the first complete answer ends the browse

    // The lock is IPv6-only: its query and the answer travel over ff02::fb and IPv6 unicast alone.
    const overIpv6 = await browse('lock');
    expect(overIpv6.hub).not.toBeNull();
    expect(overIpv6.hub!.byFamily.ipv6).toBe(found.hub!.byFamily.ipv6);

    const opened = await homenetIn(lab, 'console', ['open', '--protocol', 'udp', '--port', '42111', '--family', 'both', '--via', 'upnp', '--hub', 'auto', '--once', '--json']);
    const verdicts = lastJson<{ reachability: Verdict[] }>(opened).reachability;
    expect(verdicts.map((v) => `${v.family} ${v.verdict}`)).toEqual(['ipv6 open', 'ipv4 open']);
    for (const v of verdicts) {
      expect(v.hub).toMatchObject({ reachable: false, url: found.hub!.byFamily[v.family as 'ipv4' | 'ipv6'] });
      expect(v.hub!.detail).toMatch(/connection refused/);
    }
    expect(opened.stderr).toMatch(/found the hub/);
    expect(opened.stderr.match(/decided by this host alone/g)).toHaveLength(2); // once per family
    const closed = await homenetIn(lab, 'console', ['close', '--protocol', 'udp', '--port', '42111', '--family', 'both', '--hub', 'auto', '--json']);
    expect(closed.code).toBe(0);
    expect(lastJson<{ closed: { closed: boolean }[] }>(closed).closed.map((c) => c.closed)).toEqual([true, true]);
  });

  it('after the advertiser stops (SIGTERM: goodbye sent), the hub is no longer found', async () => {
    const exited = new Promise((resolve) => advertiser!.once('exit', resolve));
    advertiser!.kill('SIGTERM');
    await exited;
    expect((await browse()).hub).toBeNull();
  });
});
