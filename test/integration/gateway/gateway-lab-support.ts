import { spawn } from 'node:child_process';
import { LabHandle } from '../../../plugin/lab/lab';
import { LabLanRole } from '../../../plugin/lab/lab-plan';
import { labProbe, LabProbeResult } from '../../../plugin/lab/lab-probe';
import { HomenetRouter } from '../../../plugin/lab/homenet-router';
import { CommandResult, runCommand } from '../../../adapters/system/run-command';
import { parseTableJson } from '../../../adapters/nftables/nft-json';
import type { ActualEntry } from '../../../adapters/nftables/firewall-entry';

/** Unmodified `upnpc` (miniupnpc) in a LAN namespace; `-i` because the lab's WAN address is a documentation one. */
export function upnpc(lab: LabHandle, role: LabLanRole, args: string[], timeoutMs = 15_000): Promise<CommandResult> {
  return runCommand('ip', ['netns', 'exec', lab.plan.hosts[role].namespace, 'upnpc', '-i', '-m', 'eth0', ...args], { allowFailure: true, timeoutMs });
}

/** The RFC 8981 temporary address a LAN host sends from (what upnpc's pinholes are for). */
export async function temporaryAddress(lab: LabHandle, role: LabLanRole): Promise<string> {
  const { stdout } = await runCommand('ip', ['-n', lab.plan.hosts[role].namespace, '-j', '-6', 'addr', 'show', 'dev', 'eth0']);
  const found = (JSON.parse(stdout) as { addr_info: { local: string; temporary?: boolean }[] }[])[0].addr_info.find((a) => a.temporary)?.local;
  if (!found) throw new Error(`${role} has no temporary address`);
  return found;
}

/** A command on the admin API, sent from the hub (the LAN host a home hub would run on). */
export async function adminCommand(lab: LabHandle, router: HomenetRouter, command: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const body = JSON.stringify({ message_id: `t${Date.now()}`, command, args });
  const { stdout } = await runCommand(
    'ip',
    ['netns', 'exec', lab.plan.hosts.hub.namespace, 'curl', '-s', '-m', '10', '-H', `Authorization: Bearer ${router.admin.token}`, '--data-binary', '@-', `${router.admin.url}/api/command`],
    { input: body, timeoutMs: 15_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A plain GET of the admin API from the hub. */
export async function adminGet<T>(lab: LabHandle, router: HomenetRouter, path: string): Promise<T> {
  const { stdout } = await runCommand('ip', ['netns', 'exec', lab.plan.hosts.hub.namespace, 'curl', '-s', '-m', '10', '-H', `Authorization: Bearer ${router.admin.token}`, `${router.admin.url}${path}`], {
    timeoutMs: 15_000,
  });
  return JSON.parse(stdout) as T;
}

/** The kernel's view: every element of `inet homenet` in the router namespace. */
export async function kernelEntries(lab: LabHandle): Promise<readonly ActualEntry[]> {
  const { stdout } = await runCommand('ip', ['netns', 'exec', lab.plan.hosts.router.namespace, 'nft', '-j', 'list', 'table', 'inet', 'homenet']);
  return parseTableJson(stdout, 'homenet').entries;
}

/** A real UDP packet from the WAN peer to a LAN host. */
export function probe(lab: LabHandle, to: LabLanRole, family: 'ipv4' | 'ipv6', port: number, address?: string): Promise<LabProbeResult> {
  return labProbe(lab.plan, { to, family, port, ...(address ? { address } : {}), timeoutMs: 800 });
}

export function entryKeyOf(e: { kind: string; family: string; protocol: string; internalClient: string; internalPort: number; externalPort?: number }): string {
  return `${e.kind}|${e.family}|${e.protocol}|${e.internalClient}|${e.internalPort}|${e.externalPort ?? '-'}`;
}

/**
 * Runs a request-stream script (`node SCRIPT ...args`) in a LAN host's namespace and SIGKILLs
 * the router's daemon `killAfterMs` after the stream's first request (its first
 * `"phase":"start"` line), then the stream itself; resolves with everything the stream
 * printed (one JSON line per request started or answered).
 */
export async function streamUntilRouterKilled(namespace: string, script: string, args: readonly string[], routerPid: number, killAfterMs: number): Promise<string> {
  const stream = spawn('ip', ['netns', 'exec', namespace, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  stream.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const ended = new Promise<void>((resolve) => stream.on('close', () => resolve()));
  for (const until = Date.now() + 5000; !out.includes('"phase":"start"') && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  process.kill(routerPid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 50));
  stream.kill('SIGKILL');
  await ended;
  return out;
}
