// A scriptable SsdpTransport: records M-SEARCHes and lets the test answer them or push NOTIFYs.
import type { SsdpDatagram, SsdpDatagramListener, SsdpTransport } from '../../../adapters/upnp';

export class FakeTransport implements SsdpTransport {
  readonly searches: Array<{ searchTarget: string; mx: number }> = [];
  private readonly listeners = new Set<SsdpDatagramListener>();
  started = false;
  closed = false;

  constructor(
    readonly family: 'ipv4' | 'ipv6',
    /** Called on each search; may deliver answers. */
    private readonly onSearch?: (t: FakeTransport, searchTarget: string) => void,
    private readonly failStart?: Error,
  ) {}

  async start(): Promise<void> {
    if (this.failStart) throw this.failStart;
    this.started = true;
  }

  async search(searchTarget: string, mx: number): Promise<void> {
    this.searches.push({ searchTarget, mx });
    this.onSearch?.(this, searchTarget);
  }

  onDatagram(listener: SsdpDatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  deliver(data: Buffer | string, from: Partial<SsdpDatagram> & { remoteAddress: string }): void {
    const d: SsdpDatagram = {
      data: Buffer.isBuffer(data) ? data : Buffer.from(data),
      remotePort: 1900,
      family: this.family,
      via: 'search',
      ...from,
    };
    for (const l of [...this.listeners]) l(d);
  }
}
