/**
 * The hostile LAN host and its victims, as self-contained node scripts run
 * inside lab namespaces (`ip netns exec <ns> node -e <script>`): the attacker
 * holds slow sockets on the IGD and admin ports (reconnecting whatever the
 * server closes) and unauthenticated WebSockets (raw handshakes, never an
 * auth message); the victims time their own requests. Bounded: counts and a
 * hold time given by the caller (at most 30 s).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Attacker: argv = host igdPort adminPort slowPerPort webSockets holdMs reconnectMs. Prints "ready" then, at the end, one JSON line of counts. */
const ATTACKER = String.raw`
const net = require('net');
const [host, igdPort, adminPort, perPort, wsCount, holdMs, reconnectMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const stats = { opened: 0, closedByServer: 0, answered503: 0, wsUpgraded: 0, wsRefused: 0 };
let stopping = false;
const sockets = new Set();
function slow(port, head, isWs) {
  if (stopping) return Promise.resolve();
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    sockets.add(s);
    s.on('connect', () => { stats.opened++; s.write(head); resolve(); });
    s.on('data', (d) => {
      const t = d.toString('latin1');
      if (t.startsWith('HTTP/1.1 503')) stats.answered503++;
      if (isWs && t.startsWith('HTTP/1.1 101')) stats.wsUpgraded++;
      else if (isWs && t.startsWith('HTTP/1.1 ')) stats.wsRefused++;
    });
    s.on('error', () => resolve());
    s.on('close', () => {
      sockets.delete(s);
      resolve();
      if (stopping) return;
      stats.closedByServer++;
      setTimeout(() => slow(port, head, isWs), reconnectMs); // reconnect: keep the pressure on
    });
  });
}
const httpHead = (path) => 'GET ' + path + ' HTTP/1.1\r\nHost: ' + host + '\r\n';
const wsHead = 'GET /ws HTTP/1.1\r\nHost: ' + host + '\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
(async () => {
  const jobs = [];
  // The WebSockets first, so they (not the slow HTTP sockets) take the plug's unauthenticated admin slots.
  for (let i = 0; i < wsCount; i++) jobs.push(() => slow(adminPort, wsHead, true));
  for (let i = 0; i < perPort; i++) { jobs.push(() => slow(igdPort, httpHead('/igd/desc.xml'), false)); jobs.push(() => slow(adminPort, httpHead('/api/grants'), false)); }
  for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((j) => j()));
  const drip = setInterval(() => { for (const s of sockets) if (s.writable) s.write('X-Slow: 1\r\n'); }, 1000);
  process.stdout.write('ready\n');
  setTimeout(() => {
    stopping = true;
    clearInterval(drip);
    for (const s of sockets) s.destroy();
    process.stdout.write(JSON.stringify(stats) + '\n');
    process.exit(0);
  }, holdMs);
})();
`;

/** Victim: argv = url count intervalMs [bearer] [soapAction]. Sequential, paced requests on fresh connections; prints one JSON line. */
const VICTIM = String.raw`
const http = require('http');
const [url, count, intervalMs, bearer, soapAction] = process.argv.slice(1);
const u = new URL(url);
const body = soapAction ? '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:' + soapAction.split('#')[1] + ' xmlns:u="' + soapAction.split('#')[0] + '"></u:' + soapAction.split('#')[1] + '></s:Body></s:Envelope>' : undefined;
function once() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const headers = {};
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    if (body) { headers['Content-Type'] = 'text/xml; charset="utf-8"'; headers.SOAPAction = '"' + soapAction + '"'; headers['Content-Length'] = Buffer.byteLength(body); }
    const req = http.request({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: u.pathname, method: body ? 'POST' : 'GET', headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(body);
  });
}
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    out.push(await once());
    await new Promise((r) => setTimeout(r, Number(intervalMs)));
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})();
`;

export interface AttackCounts {
  readonly opened: number;
  readonly closedByServer: number;
  readonly answered503: number;
  readonly wsUpgraded: number;
  readonly wsRefused: number;
}

export interface RunningAttack {
  /** Waits for the attacker to finish its hold time; its counts. */
  done(): Promise<AttackCounts>;
  readonly child: ChildProcess;
}

/** Starts the attacker in `namespace` (undefined: this namespace) and resolves once its sockets are open. */
export async function startAttacker(
  namespace: string | undefined,
  target: { host: string; igdPort: number; adminPort: number; slowPerPort: number; webSockets: number; holdMs: number; reconnectMs: number },
): Promise<RunningAttack> {
  if (target.holdMs > 30_000) throw new RangeError('the attack is bounded to 30 s');
  const args = ['-e', ATTACKER, target.host, String(target.igdPort), String(target.adminPort), String(target.slowPerPort), String(target.webSockets), String(target.holdMs), String(target.reconnectMs)];
  const child = namespace ? spawn('ip', ['netns', 'exec', namespace, process.execPath, ...args]) : spawn(process.execPath, args);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`attacker did not get ready: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    done: async () => {
      const code = await exited;
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) throw new Error(`attacker exited ${code}: ${err}`);
      return JSON.parse(line) as AttackCounts;
    },
  };
}

export interface Timed {
  readonly status: number;
  readonly ms: number;
}

/**
 * `count` sequential requests to `url` from `namespace` (fresh connection each, `intervalMs`
 * apart: a well-behaved client stays under the admin API's per-address rate limit); GET, or a
 * SOAP POST when `soapAction` is `serviceType#Action`.
 */
export function timeRequests(namespace: string | undefined, url: string, count: number, options: { bearer?: string; soapAction?: string; intervalMs?: number } = {}): Promise<Timed[]> {
  const args = ['-e', VICTIM, url, String(count), String(options.intervalMs ?? 25), options.bearer ?? '', ...(options.soapAction ? [options.soapAction] : [])];
  const child = namespace ? spawn('ip', ['netns', 'exec', namespace, process.execPath, ...args]) : spawn(process.execPath, args);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`victim exited ${String(code)}: ${err}`));
      else resolve(JSON.parse(out.trim()) as Timed[]);
    });
  });
}

/** Resident memory (kB) of a process, from /proc. */
export async function residentKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb);
}
