/**
 * What the lab's homenet daemons (the homenet router, `homenet-router.ts`,
 * and the hub, `lab-hub.ts`) start the same way: an admin token kept in the
 * daemon's directory, a configuration of base sections merged with the
 * caller's, and `homenet serve` in a namespace that counts as started once
 * its TCP ports listen.
 *
 * @example
 * ```ts
 * const token = await labAdminToken(paths.token);
 * const config = mergeConfigSections({ log: { level: 'info' } }, { log: { level: 'debug' } });
 * const proc = await startLabDaemon({ name: 'homenet-hub', namespace: 'lab-hub', command: [process.execPath, homenetCliScript(), 'serve'], log: paths.log, ports: [5390], what: 'the hub', timeoutMs: 20_000 });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { runCommand } from '../../adapters/system/run-command';
import { isPidRunning, LabProcess, startInNamespace, stopLabProcess } from './lab-process';

/** Where a lab daemon keeps its files (all under `dir`). */
export interface LabDaemonPaths {
  readonly dir: string;
  readonly config: string;
  readonly journal: string;
  readonly token: string;
  readonly log: string;
}

/** A started lab daemon: its process, its files, and where its admin API answers with which token. */
export interface LabDaemon {
  readonly process: LabProcess;
  readonly paths: LabDaemonPaths;
  readonly admin: { readonly url: string; readonly token: string };
}

/** How a test or the demo adjusts a lab daemon. */
export interface LabDaemonOptions {
  /** Keys merged into the daemon's configuration a section at a time (`mergeConfigSections`), e.g. `{ leases: { capSeconds: { 'game-session': 60 } } }`. */
  readonly config?: Record<string, unknown>;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** The admin token kept in `path`; a fresh one (24 random bytes, hex, mode 0600) written there the first time. */
export async function labAdminToken(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const token = randomBytes(24).toString('hex');
    await writeFile(path, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

/** `base` with `extra` merged in a section at a time: an object section's keys replace the base section's, anything else the whole section. */
export function mergeConfigSections(base: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    merged[key] = value && typeof value === 'object' && !Array.isArray(value) ? { ...(merged[key] as object), ...value } : value;
  }
  return merged;
}

/** Whether something in `namespace` listens on `port` (TCP by default). */
export async function isListeningOn(namespace: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
  const flag = protocol === 'tcp' ? '-Hltn' : '-Hlun';
  const { stdout } = await runCommand('ip', ['netns', 'exec', namespace, 'ss', flag, `sport = :${port}`], { allowFailure: true });
  return stdout.trim().length > 0;
}

/** The last `lines` lines of `file` ('' when it cannot be read). */
export async function tailOfFile(file: string, lines = 40): Promise<string> {
  const { stdout } = await runCommand('tail', ['-n', String(lines), file], { allowFailure: true });
  return stdout;
}

export interface LabDaemonStart {
  /** The lab process name (what the lab state records). */
  readonly name: string;
  readonly namespace: string;
  readonly command: readonly string[];
  /** Its stdout and stderr; the errors quote its tail. */
  readonly log: string;
  /** The TCP ports that all listen once it has started. */
  readonly ports: readonly number[];
  /** How the errors name it, e.g. 'homenet serve --mode hub'. */
  readonly what: string;
  readonly timeoutMs: number;
}

/** Starts the daemon and resolves once all its ports listen; it is killed (and this rejects with its log's tail) if they do not within `timeoutMs`, or if it exits. */
export async function startLabDaemon(start: LabDaemonStart): Promise<LabProcess> {
  const proc = startInNamespace(start.name, start.namespace, start.command, start.log);
  const deadline = Date.now() + start.timeoutMs;
  for (;;) {
    if (!isPidRunning(proc.pid)) throw new Error(`${start.what} exited during start:\n${await tailOfFile(start.log)}`);
    let listening = true;
    for (const port of start.ports) {
      listening = await isListeningOn(start.namespace, port);
      if (!listening) break;
    }
    if (listening) return proc;
    if (Date.now() > deadline) {
      await stopLabProcess(proc, 1000, 'SIGKILL');
      throw new Error(`${start.what} did not listen within ${start.timeoutMs / 1000} s:\n${await tailOfFile(start.log)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
