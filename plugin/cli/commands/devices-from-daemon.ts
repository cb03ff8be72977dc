/**
 * `homenet devices --daemon URL`: what a running daemon (gateway or hub)
 * knows, read from its admin API instead of observing the LAN here: who
 * answers and what it can enforce, every device with its kinds, addresses
 * and whether its protection is enforced or only advised, the live needs,
 * the grants and the latest decisions with their reasons.
 *
 * @example
 * ```sh
 * homenet devices --daemon http://127.0.0.1:8780 --token-file /var/lib/homenet/admin-token
 * homenet devices --daemon http://127.0.0.1:8780 --token-file /var/lib/homenet/admin-token --json
 * ```
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { CliIo } from '../command';

/** What the daemon answered, as `--json` prints it. */
export interface DaemonView {
  readonly info: Record<string, unknown>;
  readonly devices: readonly Record<string, unknown>[];
  readonly needs: readonly Record<string, unknown>[];
  readonly grants: readonly Record<string, unknown>[];
  readonly decisions: readonly Record<string, unknown>[];
}

/** An admin API answer that was not a 200 with JSON. */
export class DaemonReadError extends Error {}

function getJson(base: URL, path: string, token: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 16 * 1024 * 1024) req.destroy(new DaemonReadError(`${url.pathname}: answer larger than 16 MiB`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new DaemonReadError(`${url.pathname}: HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new DaemonReadError(`${url.pathname}: the answer is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new DaemonReadError(`${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof DaemonReadError ? e : new DaemonReadError(`${url.host}: ${e.message}`)));
  });
}

const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);

/** Reads the daemon's view through its admin API (`token` from `--token-file` or HOMENET_ADMIN_TOKEN). */
export async function readDaemonView(daemonUrl: string, token: string, timeoutMs = 5000): Promise<DaemonView> {
  let base: URL;
  try {
    base = new URL(daemonUrl);
  } catch {
    throw new DaemonReadError(`--daemon must be a URL like http://127.0.0.1:8780, got '${daemonUrl}'`);
  }
  if (base.protocol !== 'http:') throw new DaemonReadError(`--daemon must be an http:// URL, got '${daemonUrl}'`);
  // One request at a time: the admin API holds each source to a few unauthenticated connections at once.
  const answers: unknown[] = [];
  for (const path of ['/api/info', '/api/devices', '/api/needs', '/api/grants', '/api/decisions?limit=20']) answers.push(await getJson(base, path, token, timeoutMs));
  const [info, devices, needs, grants, decisions] = answers;
  return { info: (info ?? {}) as Record<string, unknown>, devices: list(devices), needs: list(needs), grants: list(grants), decisions: list(decisions) };
}

/** The token: a file's first line, or the environment. */
export function adminTokenOf(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (tokenFile !== undefined) {
    const text = readFileSync(tokenFile, 'utf8').trim();
    if (text === '') throw new DaemonReadError(`${tokenFile} is empty`);
    return text;
  }
  const fromEnv = env.HOMENET_ADMIN_TOKEN;
  if (!fromEnv) throw new DaemonReadError('--daemon needs the admin token: --token-file FILE or HOMENET_ADMIN_TOKEN');
  return fromEnv;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** The daemon's view as a person reads it. */
export function printDaemonView(io: CliIo, view: DaemonView): void {
  const i = view.info;
  io.out(`${text(i.server)} (${text(i.deployment)}): ${text(i.enforcement)} via ${text(i.applier)}${i.router ? `, router ${text(i.router)}` : ''}${i.external_ipv4 ? `, WAN ${text(i.external_ipv4)}` : ''}`);
  if (i.note) io.out(`  ${text(i.note)}`);
  const report = i.router_report as Record<string, unknown> | undefined;
  if (report) io.out(`  router: ${text(report.summary)}; WAN IPv4 ${text(report.wan_ipv4)}`);
  io.out('devices:');
  for (const d of view.devices) {
    const kinds = list(d.kinds).map((k) => `${text(k.kind)} (${text(k.evidence)})`).join('; ') || 'unknown';
    const addresses = list(d.addresses).map((a) => text(a.address)).join(', ');
    io.out(`  ${text(d.id)}  [${text(d.enforcement)}]  kinds: ${kinds}  addresses: ${addresses}`);
  }
  io.out(`needs: ${view.needs.length}`);
  for (const n of view.needs) io.out(`  ${text(n.id)}  ${text(n.verdict)}  from ${text(n.source)} (${text(n.deviceId)})`);
  io.out(`grants: ${view.grants.length}`);
  for (const g of view.grants) io.out(`  ${text(g.family)} ${text(g.protocol)} ${text(g.internalClient)}:${text(g.internalPort)}${g.externalPort ? ` ext ${text(g.externalPort)}` : ''}  lease ${text(g.leaseSeconds)} s`);
  io.out(`decisions (latest ${view.decisions.length}):`);
  for (const d of view.decisions) {
    const r = list(d.reasons)[0];
    io.out(`  ${text(d.deviceId)}  ${text(d.verdict)}${r ? `  ${text(r.rule)}/${text(r.code)}${r.detail ? `: ${text(r.detail)}` : ''}` : ''}`);
  }
}
