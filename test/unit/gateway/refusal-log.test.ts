// Rate-limited logging of repeated refusals (issue 9, item 5).
import { OTHER_CLIENTS, RefusalLog } from '../../../plugin/gateway/refusal-log';
import { createLogger } from '../../../plugin/gateway/structured-log';

function setup(maxKeys?: number) {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', now: () => now, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const refusals = new RefusalLog({ log, windowMs: 60_000, now: () => now, ...(maxKeys !== undefined ? { maxKeys } : {}) });
  return { refusals, lines, advance: (ms: number) => (now += ms) };
}

describe('RefusalLog', () => {
  it('logs the first refusal in full, counts the rest, and says how many when the window ends', () => {
    const { refusals, lines, advance } = setup();
    for (let i = 0; i < 58; i++) refusals.refused('control refused', '192.168.77.66', 'AddPinhole 606', { action: 'AddPinhole', code: 606 });
    expect(lines).toEqual([expect.objectContaining({ msg: 'control refused', action: 'AddPinhole', code: 606 })]);
    advance(59_999);
    expect(refusals.flush()).toBe(0);
    advance(1);
    expect(refusals.flush()).toBe(1);
    expect(lines[1]).toMatchObject({ msg: 'control refused (repeated)', client: '192.168.77.66', reason: 'AddPinhole 606', count: 57, windowSeconds: 60 });
    expect(refusals.size).toBe(0);
    // A new window: in full again.
    refusals.refused('control refused', '192.168.77.66', 'AddPinhole 606', { n: 2 });
    expect(lines[2]).toMatchObject({ msg: 'control refused', n: 2 });
  });

  it('keeps clients and reasons apart, and writes nothing more for a single refusal', () => {
    const { refusals, lines, advance } = setup();
    refusals.refused('control refused', 'a', 'r1');
    refusals.refused('control refused', 'b', 'r1');
    refusals.refused('control refused', 'a', 'r2');
    refusals.refused('control refused', 'a', 'r1');
    advance(60_000);
    refusals.flush();
    expect(lines.map((l) => [l.msg, l.client ?? '', l.count ?? 0])).toEqual([
      ['control refused', '', 0],
      ['control refused', '', 0],
      ['control refused', '', 0],
      ['control refused (repeated)', 'a', 1],
    ]);
  });

  it('ends a due window on the next refusal even without a timer', () => {
    const { refusals, lines, advance } = setup();
    refusals.refused('decision', 'd1', 'denied x/y');
    refusals.refused('decision', 'd1', 'denied x/y');
    advance(61_000);
    refusals.refused('decision', 'd2', 'denied x/y');
    expect(lines.map((l) => l.msg)).toEqual(['decision', 'decision (repeated)', 'decision']);
  });

  it('is bounded: beyond maxKeys new clients are counted together, and followed ones are never evicted', () => {
    const { refusals, lines, advance } = setup(4);
    for (let c = 0; c < 4; c++) refusals.refused('control refused', `victim-${c}`, 'r');
    for (let c = 0; c < 10_000; c++) refusals.refused('control refused', `attacker-${c}`, 'r');
    refusals.refused('control refused', 'victim-0', 'r'); // still followed: counted under its own name
    expect(refusals.size).toBe(5);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatchObject({ msg: 'control refused', followedClients: 4 });
    advance(60_000);
    refusals.flush();
    expect(lines.slice(5)).toEqual([
      expect.objectContaining({ client: 'victim-0', count: 1 }),
      expect.objectContaining({ client: OTHER_CLIENTS, count: 9_999 }),
    ]);
  });

  it('flush(true) ends every window (on stop)', () => {
    const { refusals, lines } = setup();
    refusals.refused('m', 'a', 'r');
    refusals.refused('m', 'a', 'r');
    expect(refusals.flush(true)).toBe(1);
    expect(lines[1]).toMatchObject({ msg: 'm (repeated)', count: 1 });
  });

  it('refuses a bad window or bound', () => {
    const log = createLogger({ level: 'info', write: () => undefined });
    expect(() => new RefusalLog({ log, windowMs: 0, now: Date.now })).toThrow('refusal log window must be a positive number of ms, got 0');
    expect(() => new RefusalLog({ log, windowMs: 1000, now: Date.now, maxKeys: 0 })).toThrow('refusal log maxKeys must be a positive whole number, got 0');
  });
});
