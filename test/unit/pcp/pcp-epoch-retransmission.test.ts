import { asyncScheduler } from 'rxjs';
import { PcpEpochTracker, retransmissionDelays, scheduleAfter } from '../../../adapters/pcp';

describe('PcpEpochTracker (RFC 6887 8.5)', () => {
  it('accepts the first epoch and steady progress, with the RFC tolerance', () => {
    const t = new PcpEpochTracker();
    expect(t.observe(1000, 0)).toBe(false);
    expect(t.observe(1060, 60_000)).toBe(false);
    expect(t.observe(1062, 64_000)).toBe(false); // 4 s of client time, 2 s of server time: within 2 s + 1/16
    expect(t.observe(1061, 64_500)).toBe(false); // back by one second: tolerated
    expect(t.lastEpoch).toBe(1061);
  });

  it('flags an epoch that goes back by more than a second', () => {
    const t = new PcpEpochTracker();
    t.observe(50, 0);
    expect(t.observe(48, 100)).toBe(true);
  });

  it('flags server time running ahead of client time (a jump)', () => {
    const t = new PcpEpochTracker();
    t.observe(10, 0);
    expect(t.observe(100, 10_000)).toBe(true);
  });

  it('flags server time falling behind client time (a restart in between)', () => {
    const t = new PcpEpochTracker();
    t.observe(10, 0);
    expect(t.observe(15, 60_000)).toBe(true);
  });

  it('starts over after reset', () => {
    const t = new PcpEpochTracker();
    t.observe(500, 0);
    t.reset();
    expect(t.lastEpoch).toBeUndefined();
    expect(t.observe(0, 1)).toBe(false);
  });
});

describe('retransmissionDelays (RFC 6887 8.1.1 with a fast first retry)', () => {
  it('retries fast, then 3 s doubling up to 1024 s', () => {
    const next = retransmissionDelays({ random: () => 0.5 });
    const delays = Array.from({ length: 14 }, () => next());
    expect(delays).toEqual([100, 3000, 6000, 12000, 24000, 48000, 96000, 192000, 384000, 768000, 1024000, 1024000, 1024000, 1024000]);
  });

  it('adds at most ±10 % jitter', () => {
    const low = retransmissionDelays({ random: () => 0, firstRetryMs: 0 });
    const high = retransmissionDelays({ random: () => 0.999999, firstRetryMs: 0 });
    expect(low()).toBe(2700);
    expect(high()).toBe(3300);
  });

  it('refuses nonsense', () => {
    expect(() => retransmissionDelays({ initialMs: 0 })).toThrow(RangeError);
    expect(() => retransmissionDelays({ initialMs: 5000, maxMs: 1000 })).toThrow(/maxMs >= initialMs/);
  });
});

describe('scheduleAfter', () => {
  it('does not fire a delay beyond a Node timer\'s 2^31-1 ms at once (real timers)', async () => {
    let fired = false;
    const sub = scheduleAfter(asyncScheduler, 2 ** 32, () => (fired = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toBe(false);
    sub.unsubscribe();
  });

  it('fires a short delay once', async () => {
    let count = 0;
    scheduleAfter(asyncScheduler, 5, () => (count += 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(count).toBe(1);
  });
});
