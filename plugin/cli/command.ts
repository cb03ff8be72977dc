import { UpnpError } from '../../adapters/upnp/upnp-errors';
import { UpnpFault } from '../../adapters/upnp/upnp-fault';
import { InternalClientError } from '../agent/internal-client';

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

/**
 * What a `--json` command prints on stdout, as one line, when it cannot give
 * its normal answer: `{"error":{"code":"…","message":"…"}}`. Codes:
 * - `bad-arguments` (exit 2): an unknown option, a missing or malformed value;
 * - `internal-client` (exit 1): no address of this host can be used, or the
 *   `--address` given is not this host's;
 * - `upnp-<kind>` (exit 1): a UPnP failure, `kind` from the adapter's
 *   `UpnpError` (`network`, `timeout`, `protocol`, …; a router's refusal is
 *   `upnp-fault` with its UPnP error code in `faultCode`);
 * - `system` (exit 1): an operating-system error, its errno name in `systemCode`;
 * - `error` (exit 1): anything else.
 */
export interface JsonErrorReport {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly systemCode?: string;
    readonly faultCode?: number;
  };
}

/** True for the errors `main` reports as bad arguments (exit 2). */
export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || ((error as { code?: unknown })?.code?.toString() ?? '').startsWith('ERR_PARSE_ARGS');
}

/** The exit code and `--json` error object for an error a command threw. */
export function jsonErrorOf(error: unknown): { exitCode: 1 | 2; report: JsonErrorReport } {
  const message = error instanceof Error ? error.message : String(error);
  if (isUsageError(error)) return { exitCode: 2, report: { error: { code: 'bad-arguments', message } } };
  if (error instanceof InternalClientError) return { exitCode: 1, report: { error: { code: 'internal-client', message } } };
  if (error instanceof UpnpFault) return { exitCode: 1, report: { error: { code: 'upnp-fault', message, faultCode: error.code } } };
  if (error instanceof UpnpError) return { exitCode: 1, report: { error: { code: `upnp-${error.kind}`, message } } };
  const systemCode = (error as { code?: unknown } | undefined)?.code;
  if (typeof systemCode === 'string' && /^E[A-Z0-9]+$/.test(systemCode)) {
    return { exitCode: 1, report: { error: { code: 'system', message, systemCode } } };
  }
  return { exitCode: 1, report: { error: { code: 'error', message } } };
}

/**
 * Makes a command keep its `--json` promise when it fails: with `--json`
 * anywhere in its arguments, an error (bad arguments included, even ones the
 * option parser rejects before `--json` is read) is printed on stdout as a
 * {@link JsonErrorReport} and the exit code is returned (2 bad arguments, 1
 * otherwise); the usual message (with the usage, for bad arguments) still goes
 * to stderr for people.
 * Without `--json` errors propagate to `main` as before.
 *
 * @example
 * ```ts
 * export const helloCommand = withJsonErrors({ name: 'hello', summary: '…', usage: 'homenet hello [--json]',
 *   async run(argv, io) { throw new UsageError('no'); } });
 * // homenet hello --json  ->  stdout {"error":{"code":"bad-arguments","message":"no"}}, exit 2
 * ```
 */
export function withJsonErrors(command: CliCommand): CliCommand {
  return {
    ...command,
    async run(argv, io) {
      try {
        return await command.run(argv, io);
      } catch (error) {
        if (!argv.includes('--json')) throw error;
        const { exitCode, report } = jsonErrorOf(error);
        io.out(JSON.stringify(report));
        io.err(`homenet ${command.name}: ${report.error.message}${exitCode === 2 ? `\nusage: ${command.usage}` : ''}`);
        return exitCode;
      }
    },
  };
}
