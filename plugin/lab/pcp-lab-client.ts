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
import { JsonLineAgentEvent, startJsonLineAgent } from './json-line-agent-client';
import { LabLanRole, LabPlan } from './lab-plan';
import { labScript } from './lab-scripts';

/** An event of our PCP client: `epoch-lost`, `renewed`, `remapped`, `failed`, `malformed`, with its wall time. */
export type LabPcpEvent = JsonLineAgentEvent;

/** An answer of the agent (`ok` false carries `error`, with the PCP result code when the server refused). */
export type LabPcpAnswer = Record<string, unknown> & { ok: boolean; error?: { name: string; message: string; resultCode?: number; resultName?: string } };

export interface LabPcpClient {
  readonly localAddress: string;
  /** Sends one command; resolves with the agent's answer (`ok` false carries `error`). */
  command(c: Record<string, unknown>): Promise<LabPcpAnswer>;
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
  return startJsonLineAgent<LabPcpAnswer>(child, `pcp-agent in ${role}`).then((agent) => ({ ...agent, localAddress: String(agent.ready.localAddress) }));
}
