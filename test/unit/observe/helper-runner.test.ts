import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';
import { helperArgv, helperDirectories, helperScriptPath, runHelper, runJsonHelper } from '../../../adapters/observe/helper-runner';
import type { ObserverProblem } from '../../../adapters/observe/observer-problem';

const REPO = join(__dirname, '..', '..', '..');
const SOURCE = join(REPO, 'adapters', 'observe');
const HELPERS = join(SOURCE, 'helpers');

/** Everything a finite observable emits, and how it ended. */
function collect<T>(o: Observable<T>): Promise<{ values: T[]; error?: Error }> {
  return new Promise((resolve) => {
    const values: T[] = [];
    o.subscribe({ next: (v) => values.push(v), error: (error: Error) => resolve({ values, error }), complete: () => resolve({ values }) });
  });
}

describe('helper programs', () => {
  it('are found from the source tree, the compiled tree and the bundle', () => {
    for (const file of ['ra_capture.py', 'dhcp_sniff.py', 'die_with_parent.py']) {
      expect(helperScriptPath(file, SOURCE)).toBe(join(HELPERS, file));
      expect(helperScriptPath(file, join(REPO, 'dist', 'adapters', 'observe'))).toBe(join(HELPERS, file));
      expect(helperScriptPath(file, join(REPO, 'dist'))).toBe(join(HELPERS, file));
    }
    expect(helperDirectories(SOURCE)[0]).toBe(HELPERS);
  });

  it('a missing or oddly named program is a clear error', () => {
    expect(() => helperScriptPath('nope.py', SOURCE)).toThrow(/helper program nope.py not found \(looked in .*helpers/);
    expect(() => helperScriptPath('../x.py', SOURCE)).toThrow(/helper program names are like/);
  });

  it('are valid Python that starts (usage errors only without privileges or arguments)', async () => {
    const { values, error } = await collect(runHelper({ name: 'sniffer', script: 'dhcp_sniff.py' }));
    expect(values).toEqual([]);
    expect(error?.message).toMatch(/the sniffer exited \(1\): .*IndexError/s);
  });

  it('run through the launcher, in a namespace when asked', () => {
    const argv = helperArgv({ name: 'x', script: 'ra_capture.py', args: ['eth0'], namespace: 'lab-r', python: '/usr/bin/python3' });
    expect(argv).toEqual(['ip', 'netns', 'exec', 'lab-r', '/usr/bin/python3', join(HELPERS, 'die_with_parent.py'), '/usr/bin/python3', join(HELPERS, 'ra_capture.py'), 'eth0']);
    expect(() => helperArgv({ name: 'x' })).toThrow(/exactly one of script and command/);
    expect(() => helperArgv({ name: 'x', script: 'ra_capture.py', command: 'ip' })).toThrow(/exactly one/);
  });
});

describe('runHelper', () => {
  it('frames lines, then errors with the exit code and standard error', async () => {
    const { values, error } = await collect(runHelper({ name: 'test helper', command: 'sh', args: ['-c', 'printf "a\\nb b\\n"; echo oops >&2; exit 4'] }));
    expect(values).toEqual(['a', 'b b']);
    expect(error?.message).toBe('the test helper exited (4): oops');
  });

  it('restarts with backoff, then gives up', async () => {
    const started = Date.now();
    const { values, error } = await collect(runHelper({ name: 'flaky', command: 'sh', args: ['-c', 'echo up; exit 3'], restart: { retries: 2, initialDelayMs: 100 } }));
    expect(values).toEqual(['up', 'up', 'up']);
    expect(error?.message).toMatch(/the flaky exited \(3\).*gave up after 2 restarts/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // 100 + 200 ms of backoff
  });

  it('a program that cannot start is an error', async () => {
    const { error } = await collect(runHelper({ name: 'ghost', command: '/nonexistent/helper' }));
    expect(error?.message).toBe('the ghost exited (127): cannot run /nonexistent/helper: No such file or directory');
  });

  it('unsubscribing ends the helper', async () => {
    const first = await firstValueFrom(runHelper({ name: 'sleeper', command: 'sh', args: ['-c', 'echo $$; exec sleep 30'] }));
    const pid = Number(first);
    expect(pid).toBeGreaterThan(1);
    await waitFor(() => !alive(pid));
  });

  it('frames JSON lines, skipping the ready banner and reporting other junk', async () => {
    const problems: ObserverProblem[] = [];
    const values = await lastValueFrom(
      new Observable<unknown>((s) =>
        runJsonHelper({ name: 'json helper', command: 'sh', args: ['-c', 'printf \'ready\\n{"a":1}\\nnope\\n[2]\\n\'; sleep 0.2'] }, (p) => problems.push(p)).subscribe({
          next: (v) => s.next(v),
          error: () => s.complete(),
        }),
      ).pipe(toArray()),
    );
    expect(values).toEqual([{ a: 1 }, [2]]);
    expect(problems.map((p) => p.message)).toEqual(['not a JSON line: "nope"']);
  });
});

function alive(pid: number): boolean {
  // A zombie (reaped later by init) counts as gone.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a helper dies with its parent', () => {
  it('even when the parent is killed with SIGKILL (PR_SET_PDEATHSIG)', async () => {
    // A parent process that runs the real runner (transpiled on load) and prints its helper's pid.
    const script = `
const ts = require('typescript'); const fs = require('fs');
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
const { runHelper } = require(${JSON.stringify(join(SOURCE, 'helper-runner.ts'))});
runHelper({ name: 'sleeper', command: 'sh', args: ['-c', 'echo $$; exec sleep 60'] }).subscribe((line) => console.log(line));
setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited ${code}`)));
    });
    expect(alive(pid)).toBe(true);
    // The shell printed its pid, then became `sleep` (PR_SET_PDEATHSIG survives exec).
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === 'sleep');
    parent.kill('SIGKILL');
    await waitFor(() => !alive(pid));
    expect(existsSync(`/proc/${pid}`) ? alive(pid) : false).toBe(false);
  });
});
