/**
 * The stdin/stdout protocol of the lab's command agents (`pcp-agent.ts`,
 * `plugin/hub/router-lab-agent.ts`): one JSON command per line on stdin, each
 * answered by one JSON line `{"id", "ok": true, ...result}` or
 * `{"id", "ok": false, "error"}`; a line that is not JSON is answered with
 * `{"id": null, "ok": false, "error": {"name": "SyntaxError"}}`.
 *
 * @example
 * ```ts
 * serveJsonLineCommands<{ id: number; op: string }>(
 *   async (c) => { if (c.op === 'ping') return { pong: true }; throw new Error(`unknown command '${c.op}'`); },
 *   { errorJson: pcpErrorJson, onClose: () => process.exit(0) },
 * );
 * printJsonLine({ ready: true });
 * ```
 */
import { createInterface } from 'node:readline';
import { PcpResultError } from '../../adapters/pcp';

/** A command as the agents read it: an id to answer with, and the rest of what the agent's own commands carry. */
export interface JsonLineCommand {
  readonly id: number;
}

/** Writes `line` to stdout as one JSON line. */
export function printJsonLine(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** An error as an agent answers it: name and message, with the PCP result code and its name when a PCP server refused. */
export function pcpErrorJson(error: unknown): Record<string, unknown> {
  const e = error as Error;
  return {
    name: e.name,
    message: e.message,
    ...(error instanceof PcpResultError ? { resultCode: error.resultCode, resultName: error.resultName } : {}),
  };
}

/** Answers each JSON command line on stdin with `run`'s result (or its error, as `errorJson` puts it); `onClose` runs when stdin ends. */
export function serveJsonLineCommands<C extends JsonLineCommand>(
  run: (command: C) => Promise<object>,
  options: { readonly errorJson: (error: unknown) => Record<string, unknown>; readonly onClose: () => void },
): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let command: C;
    try {
      command = JSON.parse(line) as C;
    } catch {
      printJsonLine({ id: null, ok: false, error: { name: 'SyntaxError', message: `not JSON: ${line}` } });
      return;
    }
    run(command).then(
      (result) => printJsonLine({ id: command.id, ok: true, ...result }),
      (error: unknown) => printJsonLine({ id: command.id, ok: false, error: options.errorJson(error) }),
    );
  });
  lines.on('close', options.onClose);
}
