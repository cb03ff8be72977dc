import { VirtualTimeScheduler } from 'rxjs';
import { FamilyOpener, OpenerResult } from '../../../plugin/agent/family-opener';
import { LeaseKeeper } from '../../../plugin/agent/lease-keeper';
import { Reachability } from '../../../plugin/agent/reachability';

/** An opener that records calls; the router's behaviour is scripted per call. */
class RecordingOpener implements FamilyOpener<number> {
  readonly family = 'ipv6' as const;
  readonly calls: string[] = [];
  failRenewals = 0;
  private nextId = 1;

  constructor(private readonly lease: number) {}

  private open_(client: string, id: number): OpenerResult<number> {
    const reachability: Reachability = {
      family: 'ipv6', verdict: 'open', reason: 'test', protocol: 'udp', externalAddress: client, externalPort: 40000,
      internalClient: client, internalPort: 40000, leaseSeconds: this.lease, uniqueId: id, gateway: 'g',
    };
    return { reachability, held: id };
  }

  async open(client: string) {
    this.calls.push(`open ${client}`);
    return this.open_(client, this.nextId++);
  }

  async renew(client: string, held: number) {
    this.calls.push(`renew ${client} ${held}`);
    if (this.failRenewals > 0) {
      this.failRenewals -= 1;
      throw new Error('router unreachable');
    }
    return this.open_(client, held);
  }

  async close(client: string, held: number) {
    this.calls.push(`close ${client} ${held}`);
  }
}

/** Advances virtual time step by step, letting the promises each step starts settle. */
async function advance(scheduler: VirtualTimeScheduler, toMs: number, stepMs = 100): Promise<void> {
  while (scheduler.now() < toMs) {
    const target = Math.min(toMs, scheduler.now() + stepMs);
    scheduler.maxFrames = target;
    scheduler.flush();
    scheduler.frame = Math.max(scheduler.frame, target); // the clock moves on even when nothing was due
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  }
}

describe('LeaseKeeper on virtual time', () => {
  it('renews before half of the lease, again and again', async () => {
    const scheduler = new VirtualTimeScheduler();
    const opener = new RecordingOpener(100);
    const keeper = new LeaseKeeper({ opener, scheduler });
    await keeper.open('2001:db8::1');
    await advance(scheduler, 44_000);
    expect(opener.calls).toEqual(['open 2001:db8::1']);
    await advance(scheduler, 46_000);
    expect(opener.calls).toEqual(['open 2001:db8::1', 'renew 2001:db8::1 1']);
    await advance(scheduler, 200_000);
    // 45 s, 90 s, 135 s, 180 s: each renewal scheduled at 45 % of the 100 s lease.
    expect(opener.calls.filter((c) => c.startsWith('renew'))).toHaveLength(4);
    keeper.detach();
  });

  it('a failed renewal is retried soon, well before the lease ends', async () => {
    const scheduler = new VirtualTimeScheduler();
    const opener = new RecordingOpener(100);
    const keeper = new LeaseKeeper({ opener, scheduler, onError: () => undefined });
    await keeper.open('2001:db8::1');
    opener.failRenewals = 2;
    await advance(scheduler, 50_000);
    expect(opener.calls.filter((c) => c.startsWith('renew'))).toHaveLength(3); // 45 s fails, +1 s fails, +2 s works
    expect(keeper.reachability).toMatchObject({ verdict: 'open' });
    keeper.detach();
  });

  it('moving to a new address opens there first, then closes the old one', async () => {
    const opener = new RecordingOpener(100);
    const keeper = new LeaseKeeper({ opener, scheduler: new VirtualTimeScheduler() });
    await keeper.open('2001:db8::1');
    await keeper.moveTo('2001:db8::2', true);
    expect(opener.calls).toEqual(['open 2001:db8::1', 'open 2001:db8::2', 'close 2001:db8::1 1']);
    expect(keeper.internalClient).toBe('2001:db8::2');
    await keeper.moveTo('2001:db8::3', false); // the old address is gone: nothing can be sent from it
    expect(opener.calls.at(-1)).toBe('open 2001:db8::3');
    await keeper.close();
    expect(opener.calls.at(-1)).toBe('close 2001:db8::3 3');
  });

  it('close stops renewals and completes the verdict stream', async () => {
    const scheduler = new VirtualTimeScheduler();
    const opener = new RecordingOpener(10);
    const keeper = new LeaseKeeper({ opener, scheduler });
    const seen: (Reachability | undefined)[] = [];
    let completed = false;
    keeper.reachability$.subscribe({ next: (r) => seen.push(r), complete: () => (completed = true) });
    await keeper.open('2001:db8::1');
    await keeper.close();
    await advance(scheduler, 60_000);
    expect(opener.calls).toEqual(['open 2001:db8::1', 'close 2001:db8::1 1']);
    expect(completed).toBe(true);
    expect(seen.filter(Boolean)).toHaveLength(1);
  });

  it('a permanent lease (0 s) is never renewed', async () => {
    const scheduler = new VirtualTimeScheduler();
    const opener = new RecordingOpener(0);
    const keeper = new LeaseKeeper({ opener, scheduler });
    await keeper.open('2001:db8::1');
    await advance(scheduler, 10 * 86_400_000, 3_600_000);
    expect(opener.calls).toEqual(['open 2001:db8::1']);
    keeper.detach();
  });
});
