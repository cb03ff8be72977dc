import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliCommand, CliIo, UsageError } from '../command';
import { EventLogError, formatEventLine, readEventLog } from '../../replay/event-log';
import { replayEvents } from '../../replay/replay';
import { formatSummary } from '../../replay/summary';
import { generateSyntheticHome } from '../../replay/synthetic-home';

const USAGE = [
  'homenet replay EVENTS.jsonl [--out DECISIONS.jsonl] [--summary-json] [--tail MS] [--auto-ack]',
  '       homenet replay --generate --devices N --needs N [--seed S] [--gateways G] [--hours H] --out EVENTS.jsonl',
  '',
  '  Runs the policy engine over a JSONL event log on a virtual clock ({"at": ms, "type": ...} per line).',
  '  --out FILE       write every decision and action as JSON lines (- for stdout); the summary goes to stdout',
  '                   (to stderr when --out -)',
  '  --summary-json   print the summary as one JSON object instead of text',
  '  --tail MS        keep the virtual clock running MS after the last event (renewals)',
  '  --auto-ack       acknowledge every add/renew as a working router would (logs without feedback)',
  '  --generate       write a deterministic synthetic home to --out instead of replaying',
].join('\n');

function positiveInt(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

/** Buffered line writer on a file descriptor (or the CLI's stdout). */
function lineSink(target: string | undefined, io: CliIo): { write(line: string): void; close(): void } {
  if (target === undefined) return { write() {}, close() {} };
  if (target === '-') return { write: (line) => io.out(line), close() {} };
  const fd = openSync(target, 'w');
  let buf: string[] = [];
  let size = 0;
  const flush = () => {
    if (buf.length) writeSync(fd, buf.join('\n') + '\n');
    buf = [];
    size = 0;
  };
  return {
    write(line) {
      buf.push(line);
      size += line.length;
      if (size > 1 << 20) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

export const replayCommand: CliCommand = {
  name: 'replay',
  summary: 'replay an event log through the policy engine (or generate a synthetic home)',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          out: { type: 'string' },
          'summary-json': { type: 'boolean' },
          tail: { type: 'string' },
          'auto-ack': { type: 'boolean' },
          generate: { type: 'boolean' },
          devices: { type: 'string' },
          needs: { type: 'string' },
          seed: { type: 'string' },
          gateways: { type: 'string' },
          hours: { type: 'string' },
        },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.generate) {
      if (positionals.length > 0) throw new UsageError('--generate takes no EVENTS file; use --out');
      if (!values.out) throw new UsageError('--generate needs --out FILE (or - for stdout)');
      const events = generateSyntheticHome({
        devices: positiveInt(values.devices, 'devices'),
        needs: positiveInt(values.needs, 'needs'),
        seed: positiveInt(values.seed, 'seed', 1),
        ...(values.gateways !== undefined ? { gateways: positiveInt(values.gateways, 'gateways') } : {}),
        durationMs: positiveInt(values.hours, 'hours', 4) * 3600_000,
      });
      const sink = lineSink(values.out, io);
      for (const e of events) sink.write(formatEventLine(e.at, e.event));
      sink.close();
      if (values.out !== '-') io.out(`wrote ${events.length} events to ${values.out}`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one EVENTS.jsonl file');
    const tailMs = positiveInt(values.tail, 'tail', 0);
    let events;
    try {
      events = await readEventLog(positionals[0]);
    } catch (error) {
      if (error instanceof EventLogError) {
        io.err(`homenet replay: ${error.message}`);
        return 1;
      }
      throw error;
    }
    const sink = lineSink(values.out, io);
    let result;
    try {
      result = replayEvents(events, { tailMs, autoAck: values['auto-ack'] === true, onOutput: (o) => sink.write(JSON.stringify(o)) });
    } finally {
      sink.close();
    }
    const text = values['summary-json'] ? JSON.stringify(result.summary) : formatSummary(result.summary);
    if (values.out === '-') io.err(text);
    else io.out(text);
    return 0;
  },
};
