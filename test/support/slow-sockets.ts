// An attacker's slow sockets (slowloris) and latency statistics, for the listener fairness tests.
import net from 'node:net';

export interface SlowSocketsAttack {
  /** Sockets the server accepted and that are still open. */
  open(): number;
  /** Sockets the server closed (refused, evicted or cut off by a deadline). */
  closedByServer(): number;
  /** Bytes the server sent back, all sockets together (e.g. 503 answers). */
  received(): string[];
  stop(): void;
}

/**
 * Opens `count` sockets to host:port from `localAddress`, each sending `head` once and then
 * one header line every `dripMs` (never finishing the head), reconnecting none. Connects in
 * batches so the local backlog is not the bottleneck.
 */
export async function openSlowSockets(options: { host: string; port: number; localAddress?: string; count: number; head?: string; dripMs?: number }): Promise<SlowSocketsAttack> {
  const sockets: net.Socket[] = [];
  const answers: string[] = [];
  let closedByServer = 0;
  let stopping = false;
  const drips: NodeJS.Timeout[] = [];
  const connectOne = (): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect({ host: options.host, port: options.port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
      sockets.push(s);
      s.on('connect', () => {
        if (options.head !== undefined) s.write(options.head);
        resolve();
      });
      s.on('data', (c: Buffer) => answers.push(c.toString('latin1')));
      s.on('error', () => resolve());
      s.on('close', () => {
        if (!stopping) closedByServer++;
        resolve();
      });
    });
  for (let i = 0; i < options.count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, options.count - i) }, connectOne));
  }
  if (options.dripMs !== undefined) {
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed && s.writable) s.write('X-Slow: 1\r\n');
    }, options.dripMs);
    drips.push(drip);
  }
  return {
    open: () => sockets.filter((s) => !s.destroyed && !s.readableEnded).length,
    closedByServer: () => closedByServer,
    received: () => answers,
    stop: () => {
      stopping = true;
      drips.forEach(clearInterval);
      for (const s of sockets) s.destroy();
    },
  };
}

/** The p-th percentile (0..100, nearest rank) of `values`; throws on an empty list (a test must not pass on nothing). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
