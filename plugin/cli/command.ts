/**
 * The shape of one `homenet` sub-command.
 *
 * Each command lives in its own file under `plugin/cli/commands/` and is listed in
 * `plugin/cli/main.ts`. `run` gets the arguments after the command name and an
 * {@link CliIo} to write to, and resolves to the process exit code.
 *
 * @example
 * ```ts
 * import { CliCommand } from './command';
 * export const hello: CliCommand = {
 *   name: 'hello',
 *   summary: 'print a greeting',
 *   usage: 'homenet hello [--json]',
 *   async run(argv, io) { io.out('hello'); return 0; },
 * };
 * ```
 */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Where a command writes. Tests pass their own to capture output. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); used by foreground commands. */
  interrupted(): Promise<void>;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The process's own stdout/stderr and signals. */
export function processIo(): CliIo {
  let stop: Promise<void> | undefined;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    interrupted() {
      stop ??= new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return stop;
    },
  };
}
