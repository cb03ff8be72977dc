/**
 * `--via auto`: the first protocol to prove the port open wins; the other is
 * aborted (UPnP) or closed again as soon as it answers, so exactly one stays
 * open, including when both open nearly at once.
 */
import { Opened, raceFamily } from '../../../plugin/agent/protocol-race';
import { Reachability } from '../../../plugin/agent/reachability';

class FakeKeeper {
  closed = 0;
  detached = 0;
  reasserted = 0;
  /** Order of the calls across keepers (shared log). */
  constructor(private readonly calls: string[] = [], private readonly name = '') {}
  async close(): Promise<void> {
    this.closed += 1;
    this.calls.push(`${this.name} close`);
  }
  async reassert(): Promise<void> {
    this.reasserted += 1;
    this.calls.push(`${this.name} reassert`);
  }
  detach(): void {
    this.detached += 1;
  }
}

const open = (family: 'ipv6', kind: 'upnp' | 'pcp'): Reachability => ({
  family,
  verdict: 'open',
  protocol: 'udp',
  externalAddress: '2001:db8:77::10',
  externalPort: 40000,
  internalClient: '2001:db8:77::10',
  internalPort: 40000,
  leaseSeconds: 120,
  gateway: kind,
  reason: `opened by ${kind}`,
});

/** A promise settled by the test. */
function later<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('raceFamily (--via auto)', () => {
  it('PCP first: UPnP is aborted, and its late success is closed again before cleanup resolves', async () => {
    const pcpKeeper = new FakeKeeper();
    const upnpKeeper = new FakeKeeper();
    const upnp = later<Opened<FakeKeeper>>();
    let signal: AbortSignal | undefined;
    const race = raceFamily<FakeKeeper>(
      (s) => ((signal = s), upnp.promise),
      async () => ({ kind: 'pcp', keeper: pcpKeeper, verdict: open('ipv6', 'pcp') }),
      3000,
    );
    const { winner, cleanup } = await race;
    expect(winner.kind).toBe('pcp');
    expect(signal?.aborted).toBe(true);
    let cleaned = false;
    void cleanup.then(() => (cleaned = true));
    await tick();
    expect(cleaned).toBe(false); // UPnP's AddPinhole is still in flight
    upnp.resolve({ kind: 'upnp', keeper: upnpKeeper, verdict: open('ipv6', 'upnp') });
    await cleanup;
    expect([upnpKeeper.closed, pcpKeeper.closed, pcpKeeper.detached]).toEqual([1, 0, 0]);
  });

  it('the winner is asked for again after an open loser is closed (a homenet gateway holds both as one need)', async () => {
    const calls: string[] = [];
    const pcpKeeper = new FakeKeeper(calls, 'pcp');
    const upnpKeeper = new FakeKeeper(calls, 'upnp');
    const upnp = later<Opened<FakeKeeper>>();
    const { winner, cleanup } = await raceFamily<FakeKeeper>(
      () => upnp.promise,
      async () => ({ kind: 'pcp', keeper: pcpKeeper, verdict: open('ipv6', 'pcp') }),
      3000,
    );
    expect(winner.kind).toBe('pcp');
    upnp.resolve({ kind: 'upnp', keeper: upnpKeeper, verdict: open('ipv6', 'upnp') });
    await cleanup;
    expect(calls).toEqual(['upnp close', 'pcp reassert']);
  });

  it('a loser that opened nothing costs the winner no second request', async () => {
    const pcpKeeper = new FakeKeeper();
    const upnpKeeper = new FakeKeeper();
    const { cleanup } = await raceFamily<FakeKeeper>(
      async () => ({ kind: 'upnp', keeper: upnpKeeper, verdict: open('ipv6', 'upnp') }),
      async () => ({ kind: 'pcp', keeper: pcpKeeper, verdict: { ...open('ipv6', 'pcp'), verdict: 'denied' } }),
      3000,
    );
    await cleanup;
    expect([upnpKeeper.reasserted, pcpKeeper.detached]).toEqual([0, 1]);
  });

  it('UPnP first: the PCP mapping that arrives just after is deleted; the PCP attempt got the short give-up', async () => {
    const pcpKeeper = new FakeKeeper();
    const upnpKeeper = new FakeKeeper();
    const pcp = later<Opened<FakeKeeper>>();
    let giveUp = 0;
    const { winner, cleanup } = await raceFamily<FakeKeeper>(
      async () => ({ kind: 'upnp', keeper: upnpKeeper, verdict: open('ipv6', 'upnp') }),
      (ms) => ((giveUp = ms), pcp.promise),
      2500,
    );
    expect(winner.kind).toBe('upnp');
    expect(giveUp).toBe(2500);
    pcp.resolve({ kind: 'pcp', keeper: pcpKeeper, verdict: open('ipv6', 'pcp') });
    await cleanup;
    expect([pcpKeeper.closed, upnpKeeper.closed]).toEqual([1, 0]);
  });

  it('neither opens: the most telling verdict wins (denied before unsupported) and nothing is closed', async () => {
    const pcpKeeper = new FakeKeeper();
    const denied: Reachability = { family: 'ipv6', verdict: 'denied', code: 2, name: 'NOT_AUTHORIZED', reason: 'no', via: 'pcp' };
    const unsupported: Reachability = { family: 'ipv6', verdict: 'unsupported', grade: 'D', reason: 'no IGD' };
    const { winner, cleanup } = await raceFamily<FakeKeeper>(
      async () => ({ kind: 'upnp', verdict: unsupported }),
      async () => ({ kind: 'pcp', keeper: pcpKeeper, verdict: denied }),
      3000,
    );
    expect(winner.verdict).toBe(denied);
    await cleanup;
    expect([pcpKeeper.closed, pcpKeeper.detached]).toEqual([0, 0]);
  });

  it("a tie between two refusals keeps UPnP's (it carries the router's own description)", async () => {
    const upnpDenied: Reachability = { family: 'ipv6', verdict: 'denied', code: 606, name: 'ActionNotAuthorized', reason: 'The router says: matter-device-isolation' };
    const pcpDenied: Reachability = { family: 'ipv6', verdict: 'denied', code: 2, name: 'NOT_AUTHORIZED', reason: 'the router refused', via: 'pcp' };
    const { winner } = await raceFamily<FakeKeeper>(
      async () => ({ kind: 'upnp', verdict: upnpDenied }),
      async () => ({ kind: 'pcp', verdict: pcpDenied }),
      3000,
    );
    expect(winner.verdict).toBe(upnpDenied);
  });

  it('a loser that opened nothing is detached (its sockets closed), not closed', async () => {
    const pcpKeeper = new FakeKeeper();
    const upnpKeeper = new FakeKeeper();
    const { cleanup } = await raceFamily<FakeKeeper>(
      async () => ({ kind: 'upnp', keeper: upnpKeeper, verdict: open('ipv6', 'upnp') }),
      async () => {
        await tick();
        return { kind: 'pcp', keeper: pcpKeeper, verdict: { family: 'ipv6', verdict: 'unsupported', grade: 'D', reason: 'no PCP server answered' } };
      },
      3000,
    );
    await cleanup;
    expect([pcpKeeper.closed, pcpKeeper.detached, upnpKeeper.closed]).toEqual([0, 1, 0]);
  });

  it('both fail: rejects with an error', async () => {
    await expect(
      raceFamily<FakeKeeper>(
        async () => Promise.reject(new Error('SSDP port busy')),
        async () => Promise.reject(new Error('cannot send from 2001:db8::1')),
        3000,
      ),
    ).rejects.toThrow(/cannot send from|SSDP port busy/);
  });
});
