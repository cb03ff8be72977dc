import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** Bundles the crash writer into `outDir` (the native modules better-sqlite3 and koffi stay external, found through NODE_PATH). */
export function bundleCrashWriter(outDir: string): string {
  const outfile = join(outDir, 'crash-writer.js');
  buildSync({ entryPoints: [join(__dirname, 'crash-writer.ts')], bundle: true, platform: 'node', target: 'node20', outfile, external: ['better-sqlite3', 'koffi'], logLevel: 'error' });
  return outfile;
}

/** What the writer acknowledged before it was killed. */
export interface Acknowledged {
  readonly lines: string[];
  /** grant id -> last acknowledged op and lease. */
  readonly lastOp: Map<string, { op: string; lease: number }>;
  readonly ended: Set<string>;
  /** Needs whose ending had started when the writer was killed but was not acknowledged: either outcome is right. */
  readonly ending: Set<string>;
  readonly stderr: string;
  readonly exitSignal: NodeJS.Signals | null;
}

/**
 * Runs the writer, lets it work `runMs` after it is ready, then `kill -9`.
 */
export function runAndKill(script: string, args: string[], runMs: number): Promise<Acknowledged> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: join(__dirname, '../../../../node_modules') },
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!timer && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), runMs);
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      const lines = out.split('\n').filter((l) => l.length > 0);
      const lastOp = new Map<string, { op: string; lease: number }>();
      const ended = new Set<string>();
      const ending = new Set<string>();
      for (const l of lines) {
        const p = l.split(' ');
        if (p[0] === 'A') lastOp.set(p[2], { op: p[3], lease: Number(p[4]) });
        if (p[0] === 'S') ending.add(p[1]);
        if (p[0] === 'E') {
          ended.add(p[1]);
          ending.delete(p[1]);
        }
      }
      resolve({ lines, lastOp, ended, ending, stderr: err, exitSignal: signal });
    });
  });
}
