import fc from 'fast-check';
import { ConnectionBudget, ConnectionBudgetLimits, ConnectionTicket, isLoopbackSource, RefusalExplainer } from '../../../adapters/system/connection-budget';

const LIMITS: ConnectionBudgetLimits = { maxTotal: 12, maxPerSource: 5, maxUnauthenticated: 8, maxUnauthenticatedPerSource: 3 };
const untrusted = { trusted: () => false };

describe('ConnectionBudget', () => {
  it('refuses a source over its cap and counts sources by exact address (IPv4-mapped = IPv4)', () => {
    const b = new ConnectionBudget(LIMITS, untrusted);
    expect(b.admit('192.168.1.20', () => undefined).admitted).toBe(true);
    expect(b.admit('::ffff:192.168.1.20', () => undefined).admitted).toBe(true);
    expect(b.admit('192.168.1.20', () => undefined).admitted).toBe(true);
    const fourth = b.admit('192.168.1.20', () => undefined);
    expect(fourth).toMatchObject({ admitted: false, reason: 'source-cap', source: '192.168.1.20' });
    expect(b.heldBy('192.168.1.20')).toBe(3);
    // Another address of the same /64 is another source.
    expect(b.admit('2001:db8::1', () => undefined).admitted).toBe(true);
    expect(b.admit('2001:db8::2', () => undefined).admitted).toBe(true);
    expect(b.stats()).toEqual({ total: 5, unauthenticated: 5, trusted: 0, sources: 3 });
  });

  it('refuses a peer that is no address', () => {
    const b = new ConnectionBudget(LIMITS);
    expect(b.admit(undefined, () => undefined)).toMatchObject({ admitted: false, reason: 'bad-source' });
    expect(b.admit('not-an-ip', () => undefined)).toMatchObject({ admitted: false, reason: 'bad-source' });
  });

  it('when full, evicts the newest unauthenticated socket of the heaviest source for a newcomer', () => {
    const b = new ConnectionBudget({ maxTotal: 4, maxPerSource: 3, maxUnauthenticated: 4, maxUnauthenticatedPerSource: 3 }, untrusted);
    const evicted: string[] = [];
    for (let i = 0; i < 3; i++) b.admit('10.0.0.66', () => evicted.push(`attacker#${i}`));
    b.admit('10.0.0.7', () => evicted.push('victim'));
    const newcomer = b.admit('10.0.0.8', () => evicted.push('newcomer'));
    expect(newcomer.admitted).toBe(true);
    expect(evicted).toEqual(['attacker#2']);
    expect(b.heldBy('10.0.0.66')).toBe(2);
    // Now everyone but the attacker holds 1 and the attacker 2: a second newcomer evicts the attacker again.
    expect(b.admit('10.0.0.9', () => undefined).admitted).toBe(true);
    expect(evicted).toEqual(['attacker#2', 'attacker#1']);
    // All hold 1: a source already holding one is refused rather than evicting a peer.
    expect(b.admit('10.0.0.9', () => undefined)).toMatchObject({ admitted: false, reason: 'full' });
  });

  it('never evicts an authenticated socket; the unauthenticated pool cannot take the reserve', () => {
    const b = new ConnectionBudget({ maxTotal: 4, maxPerSource: 4, maxUnauthenticated: 2, maxUnauthenticatedPerSource: 2 }, untrusted);
    const hub = b.admit('10.0.0.5', () => {
      throw new Error('the hub must not be evicted');
    });
    if (!hub.admitted) throw new Error('hub refused');
    hub.ticket.authenticate();
    b.admit('10.0.0.66', () => undefined);
    b.admit('10.0.0.66', () => undefined);
    expect(b.admit('10.0.0.66', () => undefined)).toMatchObject({ admitted: false, reason: 'source-cap' });
    expect(b.stats()).toMatchObject({ total: 3, unauthenticated: 2 });
    // The hub's second socket: the unauthenticated pool is full, the attacker's newest goes.
    const hub2 = b.admit('10.0.0.5', () => undefined);
    expect(hub2).toMatchObject({ admitted: true });
    expect(b.heldBy('10.0.0.66')).toBe(1);
  });

  it('keeps loopback apart: a LAN host filling the budget never locks it out', () => {
    const b = new ConnectionBudget({ maxTotal: 2, maxPerSource: 2, maxUnauthenticated: 2, maxUnauthenticatedPerSource: 2 });
    b.admit('10.0.0.66', () => undefined);
    b.admit('10.0.0.66', () => undefined);
    const local = b.admit('127.0.0.1', () => undefined);
    expect(local).toMatchObject({ admitted: true });
    expect(b.admit('::1', () => undefined)).toMatchObject({ admitted: true });
    expect(b.admit('127.0.0.1', () => undefined)).toMatchObject({ admitted: false, reason: 'full' });
    expect(b.stats()).toEqual({ total: 2, unauthenticated: 2, trusted: 2, sources: 1 });
    expect(isLoopbackSource('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackSource('192.168.1.1')).toBe(false);
  });

  it('rejects limits that contradict each other', () => {
    expect(() => new ConnectionBudget({ ...LIMITS, maxPerSource: 13 })).toThrow(/maxPerSource \(13\) must not exceed maxTotal/);
    expect(() => new ConnectionBudget({ ...LIMITS, maxUnauthenticated: 0 })).toThrow(/maxUnauthenticated must be an integer >= 1/);
    expect(() => new ConnectionBudget({ ...LIMITS, maxUnauthenticatedPerSource: 6 })).toThrow(/maxUnauthenticatedPerSource/);
  });

  it('release is idempotent and frees the slot', () => {
    const b = new ConnectionBudget(LIMITS, untrusted);
    const a = b.admit('10.0.0.2', () => undefined);
    if (!a.admitted) throw new Error('refused');
    a.ticket.release();
    a.ticket.release();
    a.ticket.authenticate();
    expect(b.stats()).toEqual({ total: 0, unauthenticated: 0, trusted: 0, sources: 0 });
  });

  it('explains the first refusal of a source each period, and remembers a bounded number of sources', () => {
    let t = 0;
    const e = new RefusalExplainer(1000, () => t, 2);
    expect([e.shouldExplain('10.0.0.66'), e.shouldExplain('10.0.0.66'), e.shouldExplain('10.0.0.7')]).toEqual([true, false, true]);
    t = 999;
    expect(e.shouldExplain('10.0.0.66')).toBe(false);
    t = 1000;
    expect(e.shouldExplain('10.0.0.66')).toBe(true);
    e.shouldExplain('10.0.0.8'); // a third source: the oldest (10.0.0.7) is forgotten
    expect(e.shouldExplain('10.0.0.7')).toBe(true);
  });

  describe('fairness properties (random open / authenticate / close sequences)', () => {
    type Op = { kind: 'open'; source: number } | { kind: 'auth'; pick: number } | { kind: 'close'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('open' as const), source: fc.integer({ min: 0, max: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('auth' as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }) },
    );
    const limitsArb = fc
      .record({ n: fc.integer({ min: 2, max: 16 }), m: fc.integer({ min: 1, max: 16 }), u: fc.integer({ min: 1, max: 16 }), mu: fc.integer({ min: 1, max: 16 }) })
      .map(({ n, m, u, mu }) => {
        const maxPerSource = Math.min(m, n - 1);
        const maxUnauthenticated = Math.min(u, n);
        return { maxTotal: n, maxPerSource, maxUnauthenticated, maxUnauthenticatedPerSource: Math.min(mu, maxPerSource, maxUnauthenticated) };
      });

    it('no source over M (Mu unauthenticated), totals within N and U, authenticated never evicted, a source holding nothing gets in while any unauthenticated socket is open', () => {
      fc.assert(
        fc.property(limitsArb, fc.array(op, { maxLength: 200 }), (limits, ops) => {
          const b = new ConnectionBudget(limits, untrusted);
          const open: { source: string; ticket: ConnectionTicket }[] = [];
          let evictedAuthenticated = 0;
          for (const o of ops) {
            if (o.kind === 'open') {
              const source = `10.0.0.${o.source + 1}`;
              const before = b.stats();
              const heldBefore = b.heldBy(source);
              const entry: { source: string; ticket?: ConnectionTicket } = { source };
              const a = b.admit(source, () => {
                if (entry.ticket?.authenticated) evictedAuthenticated++;
                const i = open.findIndex((x) => x.ticket === entry.ticket);
                if (i >= 0) open.splice(i, 1);
              });
              if (a.admitted) {
                entry.ticket = a.ticket;
                open.push({ source, ticket: a.ticket });
              } else if (heldBefore === 0) {
                // A newcomer is refused only when no unauthenticated socket could make room.
                expect(a.reason).toBe('full');
                expect(before.total).toBe(limits.maxTotal);
                expect(before.unauthenticated).toBe(0);
              }
            } else if (open.length > 0) {
              const i = o.pick % open.length;
              const t = open[i];
              if (o.kind === 'auth') t.ticket.authenticate();
              else {
                t.ticket.release();
                open.splice(i, 1);
              }
            }
            const s = b.stats();
            expect(s.total).toBe(open.length);
            expect(s.total).toBeLessThanOrEqual(limits.maxTotal);
            expect(s.unauthenticated).toBeLessThanOrEqual(limits.maxUnauthenticated);
            expect(s.unauthenticated).toBe(open.filter((x) => !x.ticket.authenticated).length);
            for (let k = 1; k <= 7; k++) {
              const src = `10.0.0.${k}`;
              const mine = open.filter((x) => x.source === src);
              expect(mine.length).toBeLessThanOrEqual(limits.maxPerSource);
              expect(mine.filter((x) => !x.ticket.authenticated).length).toBeLessThanOrEqual(limits.maxUnauthenticatedPerSource);
              expect(b.heldBy(src)).toBe(mine.length);
            }
          }
          expect(evictedAuthenticated).toBe(0);
        }),
        { numRuns: 300 },
      );
    });

    it('one source alone never leaves the others fewer than N - M slots', () => {
      fc.assert(
        fc.property(limitsArb, fc.integer({ min: 1, max: 100 }), (limits, attempts) => {
          const b = new ConnectionBudget(limits, untrusted);
          for (let i = 0; i < attempts; i++) b.admit('10.0.0.66', () => undefined);
          expect(b.heldBy('10.0.0.66')).toBeLessThanOrEqual(limits.maxPerSource);
          let others = 0;
          for (let k = 1; k <= limits.maxTotal; k++) if (b.admit(`10.0.1.${k}`, () => undefined).admitted) others++;
          expect(others).toBeGreaterThanOrEqual(Math.min(limits.maxUnauthenticated, limits.maxTotal - limits.maxPerSource));
        }),
        { numRuns: 300 },
      );
    });
  });
});
