import { spawn } from 'node:child_process';

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command that exited non-zero, with what it printed. */
export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(`'${command}' exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandFailedError';
  }
}

export interface RunOptions {
  /** Written to the command's standard input. */
  readonly input?: string;
  /** Resolve with a non-zero result instead of rejecting. */
  readonly allowFailure?: boolean;
  /** Kill the command after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** Environment of the command (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the command (default: this process's). */
  readonly cwd?: string;
}

/**
 * Runs a program (no shell) and collects its output.
 *
 * @example
 * ```ts
 * const { stdout } = await runCommand('ip', ['-j', 'netns', 'list']);
 * ```
 */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run '${file}': ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !options.allowFailure) {
        reject(new CommandFailedError([file, ...args].join(' '), result));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
