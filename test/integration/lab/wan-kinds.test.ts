/**
 * Issue 13, access network kinds: `homenet lab up --wan cgnat|double-nat` with
 * real namespaces and real packets. The router's WAN sits behind a carrier
 * NAT44 (100.64.0.2 -> 198.51.100.1) or an upstream home router
 * (192.168.100.2 -> 198.51.100.1); IPv6 stays native through it.
 *
 * What Debian's miniupnpd 2.3.1 does there (seen here, asserted below): it
 * never reveals a reserved WAN address — GetExternalIPAddress answers "" — so
 * the agent's verdict for IPv4 is `ineffective` with kind `none`; the same
 * lab with `--router homenet` reports the real address, and the agent names
 * the CGNAT / double NAT.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labExec, labStatus, labUp, LabHandle } from '../../../plugin/lab/lab';
import { LabNatMapping, LabWanKind } from '../../../plugin/lab/lab-plan';
import { labProbe } from '../../../plugin/lab/lab-probe';
import { runCommand } from '../../../adapters/system/run-command';
import { describeInLab, homenetIn, lastJson, HOMENET } from '../support/lab-fixture';
import { existsSync } from 'node:fs';
import { Reachability } from '../../../plugin/agent/reachability';

jest.setTimeout(60_000);

type Opened = { event: string; reachability: (Reachability & { reason?: string; externalIpv4Kind?: string; externalIpv4?: string })[] };
type Gateways = { gateways: { externalIpv4?: string; externalIpv4Kind: string }[] };

const tag = (process.pid % 46656).toString(36);

async function up(kind: LabWanKind, udpTimeoutSeconds: number | undefined, natMapping: LabNatMapping): Promise<LabHandle> {
  if (!existsSync(HOMENET)) throw new Error(`${HOMENET} is missing: run 'npm run build' first`);
  const prefix = `${kind === 'cgnat' ? 'wc' : 'wd'}${tag}`.slice(0, 8);
  await labDown({ prefix });
  return labUp({ prefix, wan: kind, natMapping, ...(udpTimeoutSeconds !== undefined ? { udpTimeoutSeconds } : {}) });
}

/**
 * An outbound UDP flow from the console (port 45000) to the WAN peer, which
 * answers at once, again after 2 s, and again after `gapMs` more of silence;
 * the same socket also greets the peer's second address, to compare the
 * public ports both destinations see (the NAT's mapping behaviour).
 */
async function udpFlow(lab: LabHandle, gapMs: number): Promise<{ from: string; fromAlternate: string; received: string[] }> {
  const { peerIpv4, peerIpv4Alternate } = lab.plan.wan;
  const listen = `const dgram=require('dgram');const s=dgram.createSocket('udp4');const t=dgram.createSocket('udp4');
t.on('message',(m,r)=>console.log(JSON.stringify({at:'alternate',from:r.address+':'+r.port})));
s.on('message',(m,r)=>{ if (String(m)!=='hello') return; console.log(JSON.stringify({at:'main',from:r.address+':'+r.port}));
  s.send('r0',r.port,r.address);
  setTimeout(()=>s.send('r1',r.port,r.address),2000);
  setTimeout(()=>{s.send('r2',r.port,r.address);setTimeout(()=>process.exit(0),200)},2000+${gapMs});
});
t.bind(7100,'${peerIpv4Alternate}',()=>s.bind(7100,'${peerIpv4}',()=>console.log('ready')));setTimeout(()=>process.exit(3),${gapMs + 8000});`;
  const send = `const s=require('dgram').createSocket('udp4');const got=[];
s.on('message',(m)=>got.push(String(m)));
s.bind(45000,()=>{s.send('hello',7100,'${peerIpv4}');s.send('hello',7100,'${peerIpv4Alternate}')});
setTimeout(()=>{console.log(JSON.stringify(got));process.exit(0)},${gapMs + 3500});`;
  const listener = labExec(lab.plan, 'wan', [process.execPath, '-e', listen], { allowFailure: true, timeoutMs: gapMs + 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const sender = await labExec(lab.plan, 'console', [process.execPath, '-e', send], { timeoutMs: gapMs + 8000 });
  const heard = await listener;
  const lines = heard.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { at: string; from: string });
  const main = lines.find((l) => l.at === 'main');
  const alternate = lines.find((l) => l.at === 'alternate');
  if (!main || !alternate) throw new Error(`the WAN peer did not hear the console on both addresses (exit ${heard.code}): ${heard.stdout}${heard.stderr}`);
  return { from: main.from, fromAlternate: alternate.from, received: JSON.parse(sender.stdout.trim()) as string[] };
}

describeInLab('access network kinds in the lab (--wan cgnat | double-nat)', () => {
  beforeAll(() => {
    process.env.HOMENET_STATE_DIR = mkdtempSync(join(tmpdir(), 'homenet-state-'));
  });

  describe.each([
    { kind: 'cgnat' as const, udpTimeout: 5, natMapping: 'eim' as const, routerIpv4: '100.64.0.2', upstream: 'carrier', wanKind: 'cgnat', named: /carrier-grade NAT/ },
    { kind: 'double-nat' as const, udpTimeout: undefined, natMapping: 'apdm' as const, routerIpv4: '192.168.100.2', upstream: 'upstream', wanKind: 'private', named: /double NAT/ },
  ])('--wan $kind --nat-mapping $natMapping', ({ kind, udpTimeout, natMapping, routerIpv4, upstream, wanKind, named }) => {
    let lab: LabHandle | undefined;

    beforeAll(async () => {
      lab = await up(kind, udpTimeout, natMapping);
    });

    afterAll(async () => {
      if (lab) {
        const down = await labDown({ prefix: lab.plan.prefix });
        expect(down.removed).toContain(`${lab.plan.prefix}-${upstream}`);
        const { stdout } = await runCommand('ip', ['-j', 'netns', 'list']);
        expect(stdout).not.toContain(`${lab.plan.prefix}-`);
      }
    });

    it('builds the upstream namespace and records the kind and the UDP timeout (lab status --json)', async () => {
      const status = await labStatus({ prefix: lab!.plan.prefix });
      expect(status.running).toBe(true);
      expect(status.plan.wan).toMatchObject({ kind, routerIpv4, publicIpv4: '198.51.100.1' });
      expect(status.namespaces).toContainEqual({ name: `${lab!.plan.prefix}-${upstream}`, role: upstream, present: true });
      const cli = await runCommand(process.execPath, [HOMENET, 'lab', 'status', '--prefix', lab!.plan.prefix, '--json']);
      const described = JSON.parse(cli.stdout) as { wan: { kind: string }; upstream: { role: string; udpTimeoutSeconds: number | null } };
      expect(described.wan.kind).toBe(kind);
      expect(described.upstream).toMatchObject({ role: upstream, udpTimeoutSeconds: udpTimeout ?? null, natMapping });
      const timeout = await runCommand('ip', ['netns', 'exec', `${lab!.plan.prefix}-${upstream}`, 'sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout']);
      expect(Number(timeout.stdout.trim())).toBe(udpTimeout ?? 30);
    });

    it('miniupnpd 2.3.1 hides the reserved WAN address: the IPv4 verdict is ineffective and a WAN packet is dropped', async () => {
      const gateways = await homenetIn(lab!, 'console', ['gateways', '--json']);
      expect(lastJson<Gateways>(gateways).gateways[0]).toMatchObject({ externalIpv4: '', externalIpv4Kind: 'none' });
      const opened = await homenetIn(lab!, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41100', '--family', 'ipv4', '--once', '--json']);
      expect(lastJson<Opened>(opened).reachability[0]).toMatchObject({ family: 'ipv4', verdict: 'ineffective', externalIpv4Kind: 'none' });
      expect(await labProbe(lab!.plan, { to: 'console', family: 'ipv4', port: 41100, timeoutMs: 1200 })).toMatchObject({ delivered: false, target: '198.51.100.1:41100/udp' });
    });

    it('IPv6 is native: the pinhole opens and a WAN packet arrives through the upstream', async () => {
      expect((await labProbe(lab!.plan, { to: 'console', family: 'ipv6', port: 41101, timeoutMs: 1200 })).delivered).toBe(false);
      const opened = await homenetIn(lab!, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41101', '--family', 'ipv6', '--once', '--json']);
      expect(lastJson<Opened>(opened).reachability[0]).toMatchObject({ family: 'ipv6', verdict: 'open', internalClient: '2001:db8:77::10' });
      expect(await labProbe(lab!.plan, { to: 'console', family: 'ipv6', port: 41101, timeoutMs: 1200 })).toMatchObject({ delivered: true, from: '2001:db8:100::2' });
    });

    it(`an outbound UDP flow crosses both NATs (${natMapping}); an 8 s idle gap ${udpTimeout ? `kills the return path (--udp-timeout ${udpTimeout})` : 'survives the default 30 s timeout'}`, async () => {
      const flow = await udpFlow(lab!, 8000);
      if (natMapping === 'eim') {
        // Port preserved through both NATs: both destinations see the same public port.
        expect([flow.from, flow.fromAlternate]).toEqual(['198.51.100.1:45000', '198.51.100.1:45000']);
      } else {
        // fully-random: one public address, another port per destination.
        expect(flow.from.split(':')[0]).toBe('198.51.100.1');
        expect(flow.fromAlternate.split(':')[0]).toBe('198.51.100.1');
        expect(flow.fromAlternate).not.toBe(flow.from);
      }
      expect(flow.received).toEqual(udpTimeout ? ['r0', 'r1'] : ['r0', 'r1', 'r2']);
    });

    it(`with the homenet gateway as the router the agent names the ${wanKind === 'cgnat' ? 'CGNAT' : 'double NAT'}`, async () => {
      await labUp({ prefix: lab!.plan.prefix, router: 'homenet' });
      const gateways = await homenetIn(lab!, 'console', ['gateways', '--json']);
      expect(lastJson<Gateways>(gateways).gateways[0]).toMatchObject({ externalIpv4: routerIpv4, externalIpv4Kind: wanKind });
      const opened = await homenetIn(lab!, 'console', ['open', '--via', 'upnp', '--protocol', 'udp', '--port', '41102', '--family', 'ipv4', '--once', '--json']);
      const verdict = lastJson<Opened>(opened).reachability[0];
      expect(verdict).toMatchObject({ family: 'ipv4', verdict: 'ineffective', externalIpv4: routerIpv4, externalIpv4Kind: wanKind });
      expect(verdict.reason).toMatch(named);
    });
  });
});
