/**
 * The test/bench side of a lab command agent (`json-line-agent.ts`): the
 * agent is a child process (usually `ip netns exec NS node AGENT.js ...`);
 * this waits for its ready line, sends one JSON command per call and resolves
 * each with the agent's answer, and keeps the agent's `{"event", "wallMs", ...}`
 * lines with a way to wait for one.
 *
 * @example
 * ```ts
 * const child = spawn('ip', ['netns', 'exec', 'lab-console', process.execPath, labScript('pcp-agent'), local, server], { stdio: ['pipe', 'pipe', 'pipe'] });
 * const agent = await startJsonLineAgent(child, 'pcp-agent in console');
 * const answer = await agent.command({ op: 'announce' });
 * await agent.stop();
 * ```
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** A line the agent printed on its own (not an answer), with its wall time. */
export interface JsonLineAgentEvent {
  readonly event: string;
  readonly wallMs: number;
  readonly [key: string]: unknown;
}

/** An answer: `ok` false carries `error` (an agent that exited answers `{ name: 'Exited' }`). */
export type JsonLineAgentAnswer = Record<string, unknown> & { ok: boolean; error?: { name: string; message: string } };

export interface JsonLineAgent<A extends JsonLineAgentAnswer = JsonLineAgentAnswer> {
  /** The agent's ready line (`{"ready": true, ...}`). */
  readonly ready: Readonly<Record<string, unknown>>;
  /** Every event the agent printed so far, in order. */
  readonly events: JsonLineAgentEvent[];
  /** Sends one command; resolves with the agent's answer. */
  command(c: Record<string, unknown>): Promise<A>;
  /** Resolves with the first event (seen so far or later) that `match` accepts; rejects after `timeoutMs`. */
  waitForEvent(match: (e: JsonLineAgentEvent) => boolean, timeoutMs: number): Promise<JsonLineAgentEvent>;
  /** kill -9: no goodbye. */
  kill(): Promise<void>;
  /** Ends its stdin (the agent closes what it opened and exits); SIGKILL after 3 s. */
  stop(): Promise<void>;
}

/** Resolves once `child` prints its ready line (20 s at most); `name` names the agent in the errors. */
export function startJsonLineAgent<A extends JsonLineAgentAnswer = JsonLineAgentAnswer>(child: ChildProcessWithoutNullStreams, name: string): Promise<JsonLineAgent<A>> {
  const pending = new Map<number, (answer: A) => void>();
  const events: JsonLineAgentEvent[] = [];
  const waiters = new Set<{ match: (e: JsonLineAgentEvent) => boolean; resolve: (e: JsonLineAgentEvent) => void }>();
  let nextId = 1;
  let stderr = '';
  let buffer = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolveReady, rejectReady) => {
    const readyTimer = setTimeout(() => rejectReady(new Error(`${name} did not start: ${stderr}`)), 20_000);
    child.on('exit', (code) => {
      clearTimeout(readyTimer);
      rejectReady(new Error(`${name} exited (${code}): ${stderr}`));
      for (const [, resolve] of pending) resolve({ ok: false, error: { name: 'Exited', message: `${name} exited (${code}): ${stderr}` } } as A);
    });
    child.stdout.on('data', (b: Buffer) => {
      buffer += b.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.ready) {
          clearTimeout(readyTimer);
          resolveReady(agent(msg));
        } else if (typeof msg.event === 'string') {
          const e = msg as JsonLineAgentEvent;
          events.push(e);
          for (const w of [...waiters]) {
            if (!w.match(e)) continue;
            waiters.delete(w);
            w.resolve(e);
          }
        } else if (typeof msg.id === 'number') {
          pending.get(msg.id)?.(msg as A);
          pending.delete(msg.id);
        }
      }
    });
  });

  function agent(ready: Record<string, unknown>): JsonLineAgent<A> {
    return {
      ready,
      events,
      command: (c) =>
        new Promise((resolve) => {
          const id = nextId++;
          pending.set(id, resolve);
          child.stdin.write(`${JSON.stringify({ ...c, id })}\n`);
        }),
      waitForEvent: (match, timeoutMs) => {
        const seen = events.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const w = { match, resolve: (e: JsonLineAgentEvent) => (clearTimeout(t), resolve(e)) };
          const t = setTimeout(() => (waiters.delete(w), reject(new Error(`no matching ${name} event within ${timeoutMs} ms; events: ${JSON.stringify(events)}`))), timeoutMs);
          waiters.add(w);
        });
      },
      kill: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => (clearTimeout(kill), resolve()));
          child.stdin.end();
        }),
    };
  }
}
