import { spawn } from 'node:child_process';
import { runCommand } from '../../../../adapters/system/run-command';

/**
 * A three-namespace home for firewall tests: a WAN peer, a router with
 * forwarding on and a default-deny `inet filter` forward chain (an RFC 6092
 * customer edge like the lab's), and a LAN host.
 *
 * ```
 * <p>-wan eth0 ── wan0 <p>-rt lan0 ── eth0 <p>-lan
 * 198.51.100.2      .1      192.168.77.1     192.168.77.10
 * 2001:db8:100::2   ::1     2001:db8:77::1   2001:db8:77::10
 * ```
 *
 * The router's filter accepts what our table marks, with the adapter's
 * `hostAcceptRule()`; pass `hostAccept: ''` for a host that does not.
 */
export interface FirewallTopology {
  readonly wan: string;
  readonly router: string;
  readonly lan: string;
  readonly wanPeer: { ipv4: string; ipv6: string };
  readonly routerWan: { ipv4: string; ipv6: string };
  readonly lanHost: { ipv4: string; ipv6: string };
}

export { describeAsRoot } from '../../../support/describe-as-root';

/** A namespace prefix no other run on this machine uses. */
export function uniquePrefix(tag: string): string {
  return `${tag}${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

async function sh(args: string[], input?: string): Promise<void> {
  await runCommand(args[0], args.slice(1), input !== undefined ? { input } : {});
}

export function hostFirewall(hostAccept: string): string {
  return `table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "lan0" oifname "wan0" accept
    meta l4proto ipv6-icmp accept
    ${hostAccept}
    counter comment "inbound default deny"
  }
}
`;
}

export async function buildTopology(prefix: string, hostAccept: string): Promise<FirewallTopology> {
  const t: FirewallTopology = {
    wan: `${prefix}-wan`,
    router: `${prefix}-rt`,
    lan: `${prefix}-lan`,
    wanPeer: { ipv4: '198.51.100.2', ipv6: '2001:db8:100::2' },
    routerWan: { ipv4: '198.51.100.1', ipv6: '2001:db8:100::1' },
    lanHost: { ipv4: '192.168.77.10', ipv6: '2001:db8:77::10' },
  };
  try {
    for (const ns of [t.wan, t.router, t.lan]) {
      await sh(['ip', 'netns', 'add', ns]);
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await sh(['ip', 'link', 'add', 'wan0', 'netns', t.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', t.wan]);
    await sh(['ip', 'link', 'add', 'lan0', 'netns', t.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', t.lan]);
    const addr = (ns: string, dev: string, a: string) => sh(['ip', '-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
    await addr(t.router, 'wan0', '198.51.100.1/24');
    await addr(t.router, 'wan0', '2001:db8:100::1/64');
    await addr(t.router, 'lan0', '192.168.77.1/24');
    await addr(t.router, 'lan0', '2001:db8:77::1/64');
    await addr(t.wan, 'eth0', '198.51.100.2/24');
    await addr(t.wan, 'eth0', '2001:db8:100::2/64');
    await addr(t.lan, 'eth0', '192.168.77.10/24');
    await addr(t.lan, 'eth0', '2001:db8:77::10/64');
    for (const [ns, dev] of [[t.router, 'wan0'], [t.router, 'lan0'], [t.wan, 'eth0'], [t.lan, 'eth0']]) await sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    await sh(['ip', '-n', t.wan, '-6', 'route', 'add', 'default', 'via', '2001:db8:100::1']);
    await sh(['ip', '-n', t.lan, 'route', 'add', 'default', 'via', '192.168.77.1']);
    await sh(['ip', '-n', t.lan, '-6', 'route', 'add', 'default', 'via', '2001:db8:77::1']);
    await sh(['ip', 'netns', 'exec', t.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    await sh(['ip', 'netns', 'exec', t.router, 'nft', '-f', '-'], hostFirewall(hostAccept));
    return t;
  } catch (error) {
    await removeTopology(t);
    throw error;
  }
}

export async function removeTopology(t: FirewallTopology | undefined): Promise<void> {
  if (!t) return;
  for (const ns of [t.wan, t.router, t.lan]) await runCommand('ip', ['netns', 'delete', ns], { allowFailure: true });
}

const LISTEN = `const s=require('dgram').createSocket(process.argv[1]==='6'?'udp6':'udp4');
s.on('message',(m,r)=>{process.stdout.write(JSON.stringify({from:r.address,text:m.toString()})+'\\n');process.exit(0)});
s.bind(Number(process.argv[2]),()=>process.stdout.write('ready\\n'));setTimeout(()=>process.exit(3),Number(process.argv[3]));`;
const SEND = `const s=require('dgram').createSocket(process.argv[1]==='6'?'udp6':'udp4');let said=false;
const send=()=>s.send('probe',Number(process.argv[3]),process.argv[2],()=>{if(!said){said=true;process.stdout.write('sent\\n')}});
send();const t=setInterval(send,50);setTimeout(()=>{clearInterval(t);s.close()},Number(process.argv[4]));`;

/**
 * Sends UDP from the WAN peer to `address:port` (a fresh socket, so a fresh
 * conntrack entry) for `timeoutMs`, while the LAN host listens on
 * `listenPort`. True when a datagram arrived.
 */
export function udpProbe(t: FirewallTopology, options: { family: 'ipv4' | 'ipv6'; address: string; port: number; listenPort: number; timeoutMs?: number }): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 800;
  const fam = options.family === 'ipv6' ? '6' : '4';
  // The window starts at the sender's first datagram, not at spawn: starting
  // two Node processes on a loaded machine can take longer than the window.
  const safetyMs = 20_000;
  return new Promise((resolve, reject) => {
    const listener = spawn('ip', ['netns', 'exec', t.lan, process.execPath, '-e', LISTEN, fam, String(options.listenPort), String(timeoutMs + safetyMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sender: ReturnType<typeof spawn> | undefined;
    let window: NodeJS.Timeout | undefined;
    listener.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!sender && out.includes('ready\n')) {
        sender = spawn('ip', ['netns', 'exec', t.wan, process.execPath, '-e', SEND, fam, options.address, String(options.port), String(timeoutMs + safetyMs)], { stdio: ['ignore', 'pipe', 'ignore'] });
        sender.stdout!.once('data', () => {
          window = setTimeout(() => listener.kill('SIGKILL'), timeoutMs);
        });
      }
    });
    listener.on('error', reject);
    listener.on('close', (code) => {
      if (window) clearTimeout(window);
      sender?.kill('SIGKILL');
      resolve(code === 0 && out.includes('"text":"probe"'));
    });
  });
}
