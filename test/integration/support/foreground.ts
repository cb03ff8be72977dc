import { ChildProcess, spawn } from 'node:child_process';
import { LabHandle } from '../../../plugin/lab/lab';
import { LabRole } from '../../../plugin/lab/lab-plan';
import { HOMENET } from './lab-fixture';

/** A `homenet ... --json` running in the foreground in a lab namespace, read line by line. */
export class ForegroundHomenet {
  readonly events: Record<string, unknown>[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(lab: LabHandle, role: LabRole, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', lab.plan.hosts[role].namespace, process.execPath, HOMENET, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env, // jest's sandboxed process.env, not the worker's
    });
    let buffer = '';
    this.child.stdout!.on('data', (b: Buffer) => {
      buffer += b.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as Record<string, unknown>);
        this.waiters.forEach((w) => w());
      }
    });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
    void this.exited.then(() => this.waiters.forEach((w) => w())); // `exited` never rejects
  }

  /** Resolves with the first event matching `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: (e: Record<string, unknown>) => boolean, timeoutMs: number, what = 'event'): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find(predicate);
        if (hit) {
          cleanup();
          resolve(hit);
        } else if (this.child.exitCode !== null) {
          cleanup();
          reject(new Error(`homenet exited (${this.child.exitCode}) before ${what}; stderr:\n${this.stderr}\nevents: ${JSON.stringify(this.events)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms; stderr:\n${this.stderr}\nevents: ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Asks it to stop (SIGTERM, as a user's Ctrl-C would) and waits for the exit code. */
  async stop(): Promise<number> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
