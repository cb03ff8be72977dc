/**
 * A real mosquitto (Debian's /usr/sbin/mosquitto) for tests: its own config,
 * password file and port, optionally inside a network namespace; killed and
 * started again on the same port (no persistence: a restarted broker has lost
 * every retained message, so what comes back was published again).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { connect, MqttClient, OnMessageCallback } from 'mqtt';
import { join } from 'node:path';

export interface MosquittoBroker {
  readonly port: number;
  readonly host: string;
  /** `mqtt://host:port` */
  readonly url: string;
  readonly dir: string;
  /** SIGKILL (no clean shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (or the given host, in this namespace). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function listening(host: string, port: number, namespace: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const args = ['-lnt', `sport = :${port}`];
      const out = namespace ? execFileSync('ip', ['netns', 'exec', namespace, 'ss', ...args]).toString() : execFileSync('ss', args).toString();
      if (out.includes(`:${port}`)) return;
    } catch {
      // ss not ready: try again
    }
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts mosquitto listening on `host:port` (default 127.0.0.1, a free port),
 * with `users` (name -> password) required when given, else anonymous.
 */
export async function startMosquitto(options: { host?: string; port?: number; namespace?: string; users?: Record<string, string> } = {}): Promise<MosquittoBroker> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'homenet-mosquitto-'));
  const lines = [`listener ${port} ${host}`, 'user root', 'persistence false', `log_dest file ${join(dir, 'mosquitto.log')}`, 'log_type error', 'log_type warning', 'log_type notice'];
  if (options.users) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    for (const [user, password] of Object.entries(options.users)) execFileSync('mosquitto_passwd', ['-b', pw, user, password]);
    lines.push('allow_anonymous false', `password_file ${pw}`);
  } else lines.push('allow_anonymous true');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let proc: ChildProcess | undefined;
  const start = async () => {
    const cmd = options.namespace ? ['ip', ['netns', 'exec', options.namespace, '/usr/sbin/mosquitto', '-c', conf]] as const : ['/usr/sbin/mosquitto', ['-c', conf]] as const;
    const p = spawn(cmd[0], [...cmd[1]], { stdio: 'ignore' });
    proc = p;
    await listening(host, port, options.namespace, 5000);
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    host,
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`,
    dir,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What the broker holds retained under `filter` now: a fresh subscriber's
 * retained deliveries within `settleMs` (empty payloads are not held).
 */
export async function retainedOn(url: string, filter = '#', settleMs = 300): Promise<Map<string, string>> {
  const client = connect(url, { reconnectPeriod: 0, clientId: `retained-${process.pid}-${Date.now()}` });
  const held = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) held.set(topic, payload.toString());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    client.end(true);
  }
  return held;
}

/**
 * A subscriber on every topic (`#`, QoS 1) that hands each message to `onMessage`; resolves once it is subscribed.
 * `client.end(true)` closes it.
 */
export async function watchEverything(url: string, onMessage: OnMessageCallback): Promise<MqttClient> {
  const client = connect(url, { reconnectPeriod: 100 });
  client.on('message', onMessage);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync('#', { qos: 1 });
  return client;
}
