/**
 * Drives `pcp-agent.js` (our PCP client) inside a lab host's namespace from
 * the test or bench process: each call is one JSON command, each answer a
 * promise; the client's own events (epoch lost, remapped, renewed) are kept
 * with their wall time.
 *
 * @example
 * ```ts
 * const pcp = await startLabPcpClient(plan, 'console', 'ipv6');
 * const r = await pcp.command({ op: 'map', protocol: 'udp', internalPort: 40030, lifetime: 120 });
 * await pcp.stop();
 * ```
 */
import { spawn } from 'node:child_process';
import { LabLanRole, LabPlan } from './lab-plan';
import { labScript } from './lab-scripts';

export interface LabPcpEvent {
  readonly event: string;
  readonly wallMs: number;
  readonly [key: string]: unknown;
}

export interface LabPcpClient {
  readonly localAddress: string;
  /** Sends one command; resolves with the agent's answer (`ok` false carries `error`). */
  command(c: Record<string, unknown>): Promise<Record<string, unknown> & { ok: boolean; error?: { name: string; message: string; resultCode?: number; resultName?: string } }>;
  readonly events: LabPcpEvent[];
  /** Resolves with the first event (seen so far or later) that `match` accepts. */
  waitForEvent(match: (e: LabPcpEvent) => boolean, timeoutMs: number): Promise<LabPcpEvent>;
  stop(): Promise<void>;
}

/** Starts the agent on a lab host, sending from its stable address of `family` to the router's LAN address. */
export function startLabPcpClient(plan: LabPlan, role: LabLanRole, family: 'ipv4' | 'ipv6'): Promise<LabPcpClient> {
  const iface = plan.hosts[role].interfaces[0];
  const local = family === 'ipv6' ? iface.ipv6.find((a) => a.kind === 'gua-stable')!.address : iface.ipv4[0]?.address;
  if (!local) throw new Error(`lab host ${role} has no ${family} address`);
  const server = family === 'ipv6' ? plan.lan.routerIpv6 : plan.lan.routerIpv4;
  const child = spawn('ip', ['netns', 'exec', plan.hosts[role].namespace, process.execPath, labScript('pcp-agent'), local, server, ...(family === 'ipv6' ? [plan.lan.routerIpv4] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const pending = new Map<number, (answer: Record<string, unknown>) => void>();
  const events: LabPcpEvent[] = [];
  const waiters = new Set<{ match: (e: LabPcpEvent) => boolean; resolve: (e: LabPcpEvent) => void }>();
  let nextId = 1;
  let stderr = '';
  let buffer = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolveReady, rejectReady) => {
    const readyTimer = setTimeout(() => rejectReady(new Error(`pcp-agent in ${role} did not start: ${stderr}`)), 20_000);
    child.on('exit', (code) => {
      clearTimeout(readyTimer);
      rejectReady(new Error(`pcp-agent in ${role} exited (${code}): ${stderr}`));
      for (const [, resolve] of pending) resolve({ ok: false, error: { name: 'Exited', message: `pcp-agent exited (${code}): ${stderr}` } });
    });
    child.stdout.on('data', (b: Buffer) => {
      buffer += b.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.ready) {
          clearTimeout(readyTimer);
          resolveReady(client(String(msg.localAddress)));
        } else if (typeof msg.event === 'string') {
          const e = msg as LabPcpEvent;
          events.push(e);
          for (const w of [...waiters]) {
            if (!w.match(e)) continue;
            waiters.delete(w);
            w.resolve(e);
          }
        } else if (typeof msg.id === 'number') {
          pending.get(msg.id)?.(msg);
          pending.delete(msg.id);
        }
      }
    });
  });

  function client(localAddress: string): LabPcpClient {
    return {
      localAddress,
      events,
      command: (c) =>
        new Promise((resolve) => {
          const id = nextId++;
          pending.set(id, resolve as (a: Record<string, unknown>) => void);
          child.stdin.write(`${JSON.stringify({ ...c, id })}\n`);
        }),
      waitForEvent: (match, timeoutMs) => {
        const seen = events.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const w = { match, resolve: (e: LabPcpEvent) => (clearTimeout(t), resolve(e)) };
          const t = setTimeout(() => (waiters.delete(w), reject(new Error(`no matching PCP event within ${timeoutMs} ms; events: ${JSON.stringify(events)}`))), timeoutMs);
          waiters.add(w);
        });
      },
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => (clearTimeout(kill), resolve()));
          child.stdin.end();
        }),
    };
  }
}
