// The admin view's decision history: bounded, and fair between devices (issue 9: one hostile host must not push out another's history).
import fc from 'fast-check';
import type { Decision } from '../../../policies/model/decision';
import { DecisionHistory } from '../../../plugin/gateway/decision-history';

let seq = 0;
const decision = (deviceId: string, needId = `${deviceId}-need`): Decision =>
  ({
    type: 'decision',
    seq: ++seq,
    at: seq,
    cause: 'need-submitted',
    needId,
    deviceId,
    verdict: 'denied',
    reasons: [],
    changes: [],
    grants: [],
  }) as unknown as Decision;

describe('DecisionHistory', () => {
  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new DecisionHistory(bad)).toThrow(`capacity must be a positive integer, got ${bad}`);
  });

  it('keeps the most recent decisions, oldest first, up to its capacity', () => {
    const history = new DecisionHistory(3);
    const pushed = ['a', 'b', 'c', 'd'].map((id) => decision(id));
    pushed.forEach((d) => history.push(d));
    expect(history.size).toBe(3);
    expect(history.recent().map((d) => d.deviceId)).toEqual(['b', 'c', 'd']);
    expect(history.recent(2).map((d) => d.deviceId)).toEqual(['c', 'd']);
  });

  it("keeps a quiet device's recent decisions through another host's flood of 100,000 refusals", () => {
    const history = new DecisionHistory(64);
    const quiet = [decision('plug', 'plug-a'), decision('plug', 'plug-b'), decision('plug', 'plug-c'), decision('plug', 'plug-d'), decision('plug', 'plug-e')];
    history.push(decision('console'));
    quiet.forEach((d) => history.push(d));
    for (let i = 0; i < 100_000; i++) history.push(decision('hostile', `hostile-${i}`));
    expect(history.size).toBe(64);
    expect(history.recent(64, { deviceId: 'plug' })).toEqual(quiet);
    expect(history.recent(64, { deviceId: 'console' })).toHaveLength(1);
    expect(history.heldBy('hostile')).toBe(64 - 5 - 1);
    // The flooder keeps its newest, not its oldest.
    expect(history.recent(1)[0].needId).toBe('hostile-99999');
    expect(history.recent(64, { needId: 'plug-c' })).toEqual([quiet[2]]);
    expect(history.recent(64, { deviceId: 'plug', needId: 'plug-e' })).toEqual([quiet[4]]);
  });

  it('evicts the oldest decision of the device holding the most, not the oldest overall', () => {
    const history = new DecisionHistory(6);
    const first = decision('a');
    history.push(first); // the oldest overall
    for (let i = 0; i < 3; i++) history.push(decision('b'));
    history.push(decision('c'));
    history.push(decision('a'));
    const bOldest = history.recent(6, { deviceId: 'b' })[0];
    history.push(decision('c')); // full: b holds the most (3)
    expect(history.recent(6, { deviceId: 'a' })[0]).toBe(first);
    expect(history.recent(6, { deviceId: 'b' })).not.toContain(bOldest);
    expect([history.heldBy('a'), history.heldBy('b'), history.heldBy('c')]).toEqual([2, 2, 2]);
    // Now all hold 2: a tie goes to the device that reached that count first (a; b came back down to it last).
    history.push(decision('d'));
    expect(history.recent(6, { deviceId: 'a' })).toHaveLength(1);
    expect(history.recent(6, { deviceId: 'a' })[0]).not.toBe(first);
  });

  it('property: bounded, in arrival order, each device keeps a suffix of its own, and a device that lost any holds at least the largest holding minus one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 300 }), (capacity, devices) => {
        const history = new DecisionHistory(capacity);
        const all: Decision[] = [];
        const lost = new Set<string>();
        for (const n of devices) {
          const d = decision(`dev${n}`);
          all.push(d);
          const before = new Map(['dev0', 'dev1', 'dev2', 'dev3', 'dev4', 'dev5'].map((id) => [id, history.heldBy(id)]));
          history.push(d);
          const held = history.recent();
          expect(held.length).toBe(Math.min(capacity, all.length));
          expect(history.size).toBe(held.length);
          // Arrival order.
          const order = held.map((h) => all.indexOf(h));
          expect([...order].sort((a, b) => a - b)).toEqual(order);
          for (const [id, was] of before) {
            const now = history.heldBy(id);
            if (now < was + (id === d.deviceId ? 1 : 0)) lost.add(id);
            // Each device keeps its newest decisions: a suffix of its own.
            const mine = all.filter((x) => x.deviceId === id);
            expect(history.recent(capacity, { deviceId: id })).toEqual(mine.slice(mine.length - now));
          }
          const largest = Math.max(...[...before.keys()].map((id) => history.heldBy(id)));
          for (const id of lost) expect(history.heldBy(id)).toBeGreaterThanOrEqual(largest - 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
