import { spawn } from 'node:child_process';
import { LabLanRole, LabPlan } from './lab-plan';
import { labScript } from './lab-scripts';

export interface LabProbeOptions {
  /** The LAN host that listens. */
  readonly to: LabLanRole;
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol?: 'udp' | 'tcp';
  /** The port the listener binds on the LAN host. */
  readonly port: number;
  /**
   * Where the WAN peer sends: for IPv4 the home's public address (`plan.wan.publicIpv4`) and this
   * external port (default: `port`); for IPv6 the given address (default: the
   * host's stable GUA) and `port`.
   */
  readonly externalPort?: number;
  readonly address?: string;
  readonly timeoutMs?: number;
}

export interface LabProbeResult {
  readonly delivered: boolean;
  /** The source address the listener saw. */
  readonly from?: string;
  readonly target: string;
  readonly elapsedMs: number;
}


/**
 * Proves reachability with a real packet: a listener on the LAN host, a sender
 * on the WAN peer (the remote player). `delivered: false` means nothing arrived
 * within the timeout, i.e. the router's firewall dropped it.
 *
 * @example
 * ```ts
 * const r = await labProbe(plan, { to: 'console', family: 'ipv6', port: 40000 });
 * if (!r.delivered) console.log('dropped');
 * ```
 */
export function labProbe(plan: LabPlan, options: LabProbeOptions): Promise<LabProbeResult> {
  const protocol = options.protocol ?? 'udp';
  const timeoutMs = options.timeoutMs ?? 1500;
  const family = options.family === 'ipv6' ? '6' : '4';
  const host = plan.hosts[options.to];
  const address =
    options.address ??
    (options.family === 'ipv6'
      ? host.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address
      : plan.wan.publicIpv4);
  const port = options.family === 'ipv4' ? (options.externalPort ?? options.port) : options.port;
  const target = options.family === 'ipv6' ? `[${address}]:${port}/${protocol}` : `${address}:${port}/${protocol}`;
  const agent = () => labScript('probe-agent');
  const started = Date.now();
  // The verdict window starts when the sender has sent its first packet, not
  // when the processes were spawned: on a loaded machine starting two Node
  // processes can take longer than the window itself.
  const SAFETY_MS = 20_000;
  return new Promise((resolve, reject) => {
    const listener = spawn('ip', ['netns', 'exec', host.namespace, process.execPath, agent(), 'listen', protocol, family, String(options.port), String(timeoutMs + SAFETY_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let sender: ReturnType<typeof spawn> | undefined;
    let window: NodeJS.Timeout | undefined;
    let errors = '';
    listener.stderr.on('data', (b: Buffer) => (errors += b.toString()));
    const deadline = setTimeout(() => listener.kill('SIGKILL'), timeoutMs + SAFETY_MS + 1000);
    listener.stdout.on('data', (b: Buffer) => {
      output += b.toString();
      if (!sender && output.includes('ready\n')) {
        sender = spawn('ip', ['netns', 'exec', plan.hosts.wan.namespace, process.execPath, agent(), 'send', protocol, family, address, String(port), String(timeoutMs + SAFETY_MS)], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        sender.stdout!.once('data', () => {
          window = setTimeout(() => listener.kill('SIGKILL'), timeoutMs);
        });
      }
    });
    listener.on('error', reject);
    listener.on('close', (code) => {
      clearTimeout(deadline);
      if (window) clearTimeout(window);
      sender?.kill('SIGKILL');
      const elapsedMs = Date.now() - started;
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) {
        resolve({ delivered: true, from: (JSON.parse(line) as { from: string }).from, target, elapsedMs });
      } else if (code === 3 || code === null) {
        resolve({ delivered: false, target, elapsedMs });
      } else {
        reject(new Error(`probe listener in ${host.namespace} failed (exit ${code}): ${errors.trim()}`));
      }
    });
  });
}
