/**
 * The lab's IPv6-mostly profile with real packets: RAs with PIO/RDNSS/PREF64
 * from the lab's raw-socket sender, DHCPv4 option 108 from dnsmasq, DNS64
 * from unbound, NAT64 through tayga, and `homenet lab renumber`. Needs root.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labExec, labUp, LabHandle } from '../../../plugin/lab/lab';
import { labRenumber } from '../../../plugin/lab/lab-renumber';
import { decodeRouterAdvertisement } from '../../../adapters/observe/router-advertisement';
import { nat64PrefixFromAddress } from '../../../adapters/observe/nat64-prefix';

const PREFIX = 'mx2';
const DIST = join(__dirname, '..', '..', '..', 'dist');
jest.setTimeout(120_000);

let lab: LabHandle;

beforeAll(async () => {
  expect(process.getuid?.()).toBe(0);
  await labDown({ prefix: PREFIX });
  lab = await labUp({ prefix: PREFIX, profile: 'ipv6-mostly' });
});

afterAll(async () => {
  if (lab) await labDown({ prefix: PREFIX });
});

/** The first RA the console receives (the capture helper solicits one at once). */
async function firstRa(): Promise<ReturnType<typeof decodeRouterAdvertisement>> {
  const script = `const { captureRouterAdvertisements } = require(${JSON.stringify(join(DIST, 'adapters/observe/ra-capture.js'))});
const sub = captureRouterAdvertisements({ interfaceName: 'eth0' }).subscribe({ next: (ra) => { process.stdout.write(Buffer.from(ra.message).toString('hex') + ' ' + ra.hopLimit + '\\n'); process.exit(0); }, error: (e) => { console.error(e.message); process.exit(1); } });
setTimeout(() => process.exit(3), 15000);`;
  const { stdout } = await labExec(lab.plan, 'console', [process.execPath, '-e', script], { timeoutMs: 20_000 });
  const [hex, hop] = stdout.trim().split(' ');
  expect(hop).toBe('255');
  return decodeRouterAdvertisement(Uint8Array.from(Buffer.from(hex, 'hex')));
}

describe('the ipv6-mostly lab profile', () => {
  it('sends RAs with PIO, RDNSS and PREF64', async () => {
    const ra = await firstRa();
    expect(ra.prefixes).toEqual([{ prefix: '2001:db8:77::/64', onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }]);
    expect(ra.rdnss).toEqual([{ lifetime: 1800, servers: ['2001:db8:77::1'] }]);
    expect(ra.pref64).toEqual([{ prefix: '2001:db8:64::/96', prefixLength: 96, lifetime: 1800 }]);
  });

  it('answers AAAA ipv4only.arpa through DNS64 (RFC 7050)', async () => {
    const script = `const r = new (require('dns').promises.Resolver)(); r.setServers(['2001:db8:77::1']); r.resolve6('ipv4only.arpa').then((a) => console.log(JSON.stringify(a.sort())), (e) => { console.error(e.code); process.exit(1); });`;
    const { stdout } = await labExec(lab.plan, 'console', [process.execPath, '-e', script]);
    // unbound synthesizes from the A records of ipv4only.arpa (192.0.0.170 and/or .171) into the NAT64 prefix.
    const answers = JSON.parse(stdout) as string[];
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect(['2001:db8:64::c000:aa', '2001:db8:64::c000:ab']).toContain(a);
    expect(nat64PrefixFromAddress(answers[0])).toBe('2001:db8:64::/96');
  });

  it('offers DHCPv4 option 108 to the console that asks for it', async () => {
    const deadline = Date.now() + 15_000;
    let offers: { v6OnlyWait: number | null }[] = [];
    while (Date.now() < deadline && offers.length === 0) {
      const log = readFileSync(`${lab.plan.runDir}/v6only-client.log`, 'utf8');
      offers = log.split('\n').filter((l) => l.startsWith('{"event":"offer"')).map((l) => JSON.parse(l) as { v6OnlyWait: number | null });
      if (offers.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(offers[0]).toMatchObject({ v6OnlyWait: 1800 });
  });

  it('translates IPv6 to the IPv4 WAN through NAT64 (tayga)', async () => {
    // A UDP listener on the WAN peer's IPv4 address; the console sends to 2001:db8:64::198.51.100.2.
    const listen = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{console.log(r.address);process.exit(0)});s.bind(7000,'198.51.100.2',()=>console.log('ready'));setTimeout(()=>process.exit(3),8000);`;
    const listener = labExec(lab.plan, 'wan', [process.execPath, '-e', listen], { allowFailure: true, timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const send = `const s=require('dgram').createSocket('udp6');let n=0;const t=setInterval(()=>{s.send('x',7000,'2001:db8:64::c633:6402');if(++n>20){clearInterval(t);s.close()}},200);`;
    await labExec(lab.plan, 'console', [process.execPath, '-e', send], { timeoutMs: 10_000 });
    const result = await listener;
    expect(result.stdout.trim().split('\n')).toEqual(['ready', '198.51.100.1']);
  });

  it('renumbers: new /64 preferred, old one deprecated, WAN route and RA follow', async () => {
    const r = await labRenumber({ prefix: PREFIX });
    expect(r).toMatchObject({ current: '2001:db8:78::/64', deprecated: ['2001:db8:77::/64'] });
    expect(r.addresses.console).toBe('2001:db8:78::10');
    const { stdout } = await labExec(lab.plan, 'console', ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0']);
    const infos = (JSON.parse(stdout) as { addr_info: { local: string; preferred_life_time: number; temporary?: boolean }[] }[])[0].addr_info;
    expect(infos.find((a) => a.local === '2001:db8:78::10')!.preferred_life_time).toBeGreaterThan(0);
    expect(infos.find((a) => a.local === '2001:db8:77::10')!.preferred_life_time).toBe(0);
    expect(infos.some((a) => a.local.startsWith('2001:db8:78:') && a.temporary === true)).toBe(true);
    const routes = await labExec(lab.plan, 'wan', ['ip', '-j', '-6', 'route', 'show', '2001:db8:78::/64']);
    expect(JSON.parse(routes.stdout)).toEqual([expect.objectContaining({ dst: '2001:db8:78::/64', gateway: '2001:db8:100::1' })]);
    const ra = await firstRa();
    expect(ra.prefixes.map((p) => [p.prefix, p.preferredLifetime])).toEqual([
      ['2001:db8:78::/64', 14400],
      ['2001:db8:77::/64', 0],
    ]);
  });
});
