/**
 * Structured logs for the gateway daemon: one JSON object per line with
 * `time` (ISO 8601), `level`, `component`, `msg` and the call's fields.
 * Lines below the configured level are dropped before any formatting.
 *
 * @example
 * ```ts
 * import { createLogger } from './structured-log';
 * const log = createLogger({ level: 'info', write: (line) => process.stdout.write(line) });
 * log.child('journal').info('recovered', { needs: 3 });
 * // {"time":"2025-01-01T00:00:00.000Z","level":"info","component":"journal","msg":"recovered","needs":3}
 * ```
 */
import { LogLevel } from './gateway-config';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly component: string;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** True when lines of `level` are written (skip building costly fields otherwise). */
  enabled(level: LogLevel): boolean;
  /** The same sink and level, another component name. */
  child(component: string): Logger;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Receives whole lines, newline included (default: stdout). */
  readonly write?: (line: string) => void;
  /** Wall clock in ms (default `Date.now`). */
  readonly now?: () => number;
  readonly component?: string;
}

function errorFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  return out;
}

/** Creates a JSON-lines logger. Reserved keys in `fields` (time, level, component, msg) are not overwritten. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? Date.now;
  const threshold = RANK[options.level];
  const make = (component: string): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (RANK[level] < threshold) return;
      const line: LogFields = { time: new Date(now()).toISOString(), level, component, msg };
      if (fields) for (const [k, v] of Object.entries(errorFields(fields))) if (!(k in line)) line[k] = v;
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch {
        text = JSON.stringify({ time: line.time, level, component, msg, fields: '(not serialisable)' });
      }
      write(`${text}\n`);
    };
    return {
      component,
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      enabled: (level) => RANK[level] >= threshold,
      child: (name) => make(name),
    };
  };
  return make(options.component ?? 'gateway');
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });
