/**
 * The one way the observers run a helper process (the raw-socket capture
 * helpers Node cannot do itself, in `helpers/*.py`): spawned (optionally in a
 * network namespace) through `helpers/die_with_parent.py`, so it ends with
 * this process even when this process is killed (PR_SET_PDEATHSIG); its
 * standard output framed as lines or JSON lines; restarted with exponential
 * backoff when it dies, if asked; killed on unsubscribe.
 *
 * The Python helpers are real files, read from the source tree next to the
 * compiled code: `adapters/observe/helpers/` seen from the TypeScript source
 * (ts-jest), from `dist/adapters/observe/` and from the `dist/` bundle.
 *
 * @example
 * ```ts
 * runHelper({ name: 'RA capture helper', script: 'ra_capture.py', args: ['eth0'] })
 *   .subscribe((line) => console.log(line));
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Observable } from 'rxjs';
import type { ProblemSink } from './observer-problem';

/** When and how often a helper that died is started again. */
export interface HelperRestart {
  /** Restarts in a row before giving up (the stream then errors). */
  readonly retries: number;
  /** Delay before the first restart; doubled each time (default 500 ms). */
  readonly initialDelayMs?: number;
  /** Upper bound of the delay (default 30 s). */
  readonly maxDelayMs?: number;
  /** A helper that ran this long before dying starts the count afresh (default 60 s). */
  readonly stableAfterMs?: number;
}

export interface HelperSpec {
  /** For messages, e.g. `RA capture helper on eth0`. */
  readonly name: string;
  /** A Python program in `adapters/observe/helpers/` (run with {@link HelperSpec.python}) ... */
  readonly script?: string;
  /** ... or any other program (looked up in PATH). Exactly one of the two. */
  readonly command?: string;
  readonly args?: readonly string[];
  /** Run it inside this network namespace (`ip netns exec`). */
  readonly namespace?: string;
  /** The Python 3 interpreter (default `/usr/bin/python3`, Debian's, then `python3`). */
  readonly python?: string;
  /** Absent: the first exit is an error. */
  readonly restart?: HelperRestart;
}

/** The directories searched for `helpers/*.py`: source tree, compiled tree, bundle. */
export function helperDirectories(base: string = __dirname): string[] {
  return [join(base, 'helpers'), join(base, '..', '..', '..', 'adapters', 'observe', 'helpers'), join(base, '..', 'adapters', 'observe', 'helpers')];
}

/** The path of a helper program; throws naming every place looked at when it is missing. */
export function helperScriptPath(file: string, base: string = __dirname): string {
  if (!/^[a-z0-9_]+\.py$/.test(file)) throw new Error(`helper program names are like 'ra_capture.py', got ${JSON.stringify(file)}`);
  const dirs = helperDirectories(base);
  for (const dir of dirs) {
    const path = join(dir, file);
    if (existsSync(path)) return path;
  }
  throw new Error(`helper program ${file} not found (looked in ${dirs.join(', ')})`);
}

function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** The argv that runs a helper: `[ip netns exec NS] python3 die_with_parent.py PROGRAM ARGS`. */
export function helperArgv(spec: HelperSpec): string[] {
  if ((spec.script === undefined) === (spec.command === undefined)) throw new Error(`${spec.name}: give exactly one of script and command`);
  const python = spec.python ?? defaultPython();
  const program = spec.script !== undefined ? [python, helperScriptPath(spec.script)] : [spec.command as string];
  const argv = [python, helperScriptPath('die_with_parent.py'), ...program, ...(spec.args ?? [])];
  return spec.namespace !== undefined ? ['ip', 'netns', 'exec', spec.namespace, ...argv] : argv;
}

/**
 * A helper's standard output, one string per line (`\n` removed), for as
 * long as it is subscribed to. Errors when it cannot start, or when it exits
 * and no restart is left (the message carries its exit code and the end of
 * its standard error).
 */
export function runHelper(spec: HelperSpec): Observable<string> {
  return new Observable<string>((subscriber) => {
    let argv: string[];
    try {
      argv = helperArgv(spec);
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    const restart = spec.restart;
    let stopping = false;
    let failures = 0;
    let timer: NodeJS.Timeout | undefined;
    let kill: (() => void) | undefined;

    const start = (): void => {
      const startedAt = Date.now();
      const child = spawn(argv[0], argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOMENET_HELPER_PARENT: String(process.pid) },
      });
      let stderr = '';
      let failed = false;
      kill = () => child.kill();
      child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!stopping) subscriber.next(line);
      });
      child.on('error', (error) => {
        failed = true;
        if (!stopping) subscriber.error(new Error(`cannot start the ${spec.name} (${argv[0]}): ${error.message}`));
      });
      child.on('close', (code, signal) => {
        kill = undefined;
        if (stopping || failed) return;
        const how = `the ${spec.name} exited (${code ?? signal}): ${stderr.trim()}`;
        if (restart === undefined) return subscriber.error(new Error(how));
        if (Date.now() - startedAt >= (restart.stableAfterMs ?? 60_000)) failures = 0;
        if (failures >= restart.retries) return subscriber.error(new Error(`${how} (gave up after ${failures} restarts)`));
        const delay = Math.min((restart.initialDelayMs ?? 500) * 2 ** failures, restart.maxDelayMs ?? 30_000);
        failures++;
        timer = setTimeout(start, delay);
        timer.unref();
      });
    };
    start();
    return () => {
      stopping = true;
      if (timer) clearTimeout(timer);
      kill?.();
    };
  });
}

/**
 * A helper that prints one JSON value per line: each parsed value; a line
 * that is not JSON (e.g. a `ready` banner) is skipped and, when it is not
 * `ready`, reported to `onProblem`.
 */
export function runJsonHelper(spec: HelperSpec, onProblem?: ProblemSink): Observable<unknown> {
  return new Observable<unknown>((subscriber) =>
    runHelper(spec).subscribe({
      next: (line) => {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          if (line.trim() !== 'ready') onProblem?.({ source: spec.name, message: `not a JSON line: ${JSON.stringify(line.slice(0, 200))}`, at: Date.now() });
          return;
        }
        subscriber.next(value);
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    }),
  );
}
