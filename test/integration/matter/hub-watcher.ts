import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPlan } from '../../../plugin/lab/lab-plan';
import type { DeviceSeen, NetworkChanged } from '../../../policies/model/event';

export const CLI = join(__dirname, '..', '..', '..', 'dist', 'plugin', 'cli', 'main.js');

export interface WatchLine {
  at: number;
  event?: DeviceSeen | NetworkChanged;
  firstPacketAt?: number;
  problem?: { source: string; message: string };
  ready?: boolean;
}

/**
 * `homenet devices --watch --json` running in the hub's namespace (where the
 * real mDNS is): every observer event as it arrives, with its wall-clock time.
 */
export class HubWatcher {
  readonly lines: WatchLine[] = [];
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];
  private stderr = '';

  constructor(plan: LabPlan, args: string[]) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    this.child = spawn('ip', ['netns', 'exec', plan.hosts.hub.namespace, process.execPath, CLI, 'devices', '--watch', '--json', ...args], {
      cwd: plan.runDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.lines.push(JSON.parse(line) as WatchLine);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the first line (from `from` on) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (line: WatchLine) => boolean, timeoutMs: number, from = 0): Promise<WatchLine> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.slice(from).find(match);
        if (hit) return resolve(hit);
        if (Date.now() > deadline) return reject(new Error(`no matching watcher line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-800)}\nlines: ${JSON.stringify(this.lines.slice(-5))}`));
        this.waiters.push(check);
        setTimeout(check, Math.min(200, Math.max(0, deadline - Date.now())));
      };
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise((resolve) => this.child.once('close', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}

export function deviceEvents(lines: readonly WatchLine[]): DeviceSeen[] {
  return lines.map((l) => l.event).filter((e): e is DeviceSeen => e?.type === 'device-seen');
}
