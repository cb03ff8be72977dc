/**
 * Event logs: one JSON object per line, an input event of the policy engine
 * with a timestamp `at` (milliseconds on the virtual clock, or an ISO 8601
 * date; dates are made relative to the first one). Blank lines and lines
 * starting with `#` or `//` are skipped.
 *
 * @example
 * ```jsonl
 * {"at": 0, "type": "gateway-seen", "gatewayId": "gw", "bootId": "1"}
 * {"at": 1500, "type": "need-submitted", "need": {"id": "a", "requester": {"deviceId": "console-a"}, "protocol": "udp", "internalPort": 3074, "family": "both", "class": "game-session"}}
 * ```
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidEventError, PolicyEvent, validateEvent } from '../../policies';

/** An input event and the virtual time it happens at. */
export interface TimedEvent {
  readonly at: number;
  readonly line: number;
  readonly event: PolicyEvent;
}

/** A bad line of an event log; the message starts with `<source>:<line>:`. */
export class EventLogError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    message: string,
  ) {
    super(`${source}:${line}: ${message}`);
    this.name = 'EventLogError';
  }
}

/** Incremental parser: feed lines in order, get timed events. */
export class EventLogParser {
  private lineNo = 0;
  private origin: number | undefined;
  private last = 0;
  private usesDates: boolean | undefined;

  constructor(private readonly source = 'events') {}

  /** Parses one line; returns `undefined` for blank and comment lines. */
  push(text: string): TimedEvent | undefined {
    const line = ++this.lineNo;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new EventLogError(this.source, line, `invalid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new EventLogError(this.source, line, 'expected a JSON object with "at" and "type"');
    }
    const { at: rawAt, ...rest } = value as Record<string, unknown>;
    let at: number;
    if (typeof rawAt === 'number' && Number.isFinite(rawAt) && rawAt >= 0) {
      if (this.usesDates === true) throw new EventLogError(this.source, line, '"at" mixes numbers and dates');
      this.usesDates = false;
      at = rawAt;
    } else if (typeof rawAt === 'string' && !Number.isNaN(Date.parse(rawAt))) {
      if (this.usesDates === false) throw new EventLogError(this.source, line, '"at" mixes numbers and dates');
      this.usesDates = true;
      const epoch = Date.parse(rawAt);
      this.origin ??= epoch;
      at = epoch - this.origin;
    } else {
      throw new EventLogError(this.source, line, '"at" must be milliseconds >= 0 or an ISO 8601 date');
    }
    if (at < this.last) throw new EventLogError(this.source, line, `"at" goes back in time (${at} < ${this.last})`);
    this.last = at;
    let event: PolicyEvent;
    try {
      event = validateEvent(rest);
    } catch (error) {
      if (error instanceof InvalidEventError) throw new EventLogError(this.source, line, error.message);
      throw error;
    }
    return { at, line, event };
  }
}

/** Parses a whole log held in memory. */
export function parseEventLog(text: string, source = 'events'): TimedEvent[] {
  const parser = new EventLogParser(source);
  const out: TimedEvent[] = [];
  for (const line of text.split('\n')) {
    const e = parser.push(line);
    if (e) out.push(e);
  }
  return out;
}

/** Reads a log file line by line (large logs do not need to fit in one string). */
export async function readEventLog(path: string): Promise<TimedEvent[]> {
  const parser = new EventLogParser(path);
  const out: TimedEvent[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    const e = parser.push(line);
    if (e) out.push(e);
  }
  return out;
}

/** One JSON line of a log for an event at a time. */
export function formatEventLine(at: number, event: PolicyEvent): string {
  return JSON.stringify({ at, ...event });
}
