import { VirtualTimeScheduler } from 'rxjs';
import { PcpDatagram, PcpDatagramListener, PcpTransport } from '../../../adapters/pcp';

/** A transport that records what the client sends and lets a test answer as the router. */
export class FakePcpTransport implements PcpTransport {
  readonly sent: { atMs: number; data: Buffer }[] = [];
  readonly serverPort = 5351;
  private readonly listeners = new Set<PcpDatagramListener>();
  closed = false;

  constructor(
    readonly localAddress: string,
    readonly serverAddress: string,
    private readonly scheduler: VirtualTimeScheduler,
  ) {}

  send(data: Uint8Array): Promise<void> {
    this.sent.push({ atMs: this.scheduler.now(), data: Buffer.from(data) });
    return Promise.resolve();
  }

  onDatagram(listener: PcpDatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Delivers a datagram as if from the server (or `from`). */
  deliver(data: Buffer, options: Partial<Omit<PcpDatagram, 'data'>> = {}): void {
    const d: PcpDatagram = { data, remoteAddress: options.remoteAddress ?? this.serverAddress, remotePort: options.remotePort ?? 5351, via: options.via ?? 'unicast' };
    for (const l of [...this.listeners]) l(d);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** Runs virtual time forward by `ms`, executing every timer due on the way. */
export function advance(scheduler: VirtualTimeScheduler, ms: number): void {
  const target = scheduler.frame + ms;
  scheduler.maxFrames = target;
  scheduler.flush();
  scheduler.frame = target;
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
}

/** Lets promise callbacks run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
