import fc from 'fast-check';
import { activityPlot, MAX_WINDOW_MS, MIN_WINDOW_MS, plotWindowMs } from '../../../plugin/dashboard/activity-plot';
import { DecisionView } from '../../../plugin/dashboard/dashboard-model';

const decision = (seq: number, at: number, verdict: string): DecisionView => ({ seq, at, verdict, cause: 'need-submitted', needId: 'n', deviceId: 'd', reasons: [] });

describe('activity plot geometry', () => {
  it('draws the open-port count as steps, the value before the window carried to its left edge', () => {
    const plot = activityPlot({
      samples: [
        { at: 0, open: 2 },
        { at: 1000, open: 1 },
        { at: 6000, open: 2 },
      ],
      decisions: [],
      now: 11_000,
      windowMs: 10_000,
      width: 100,
      height: 42,
    });
    expect(plot.maxOpen).toBe(2);
    // 1 open at the left edge (t=1000 is the window's start), 2 from t=6000 (x=50) to now.
    expect(plot.openPath).toBe('M0,22H50V2H100');
  });

  it('places decisions in the window by time, coloured by verdict, and drops the ones outside', () => {
    const plot = activityPlot({
      samples: [],
      decisions: [decision(1, 500, 'granted'), decision(2, 2000, 'granted-with-changes'), decision(3, 6000, 'denied'), decision(4, 11_000, 'queued'), decision(5, 12_000, 'denied')],
      now: 11_000,
      windowMs: 10_000,
      width: 100,
      height: 40,
    });
    expect(plot.openPath).toBe('');
    expect(plot.marks).toEqual([
      { x: 10, seq: 2, verdict: 'granted' },
      { x: 50, seq: 3, verdict: 'denied' },
      { x: 100, seq: 4, verdict: 'other' },
    ]);
  });

  it('stays inside the drawing whatever the samples', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: -5000, max: 20_000 }), open: fc.integer({ min: 0, max: 500 }) })), (raw) => {
        const samples = [...raw].sort((a, b) => a.at - b.at);
        const plot = activityPlot({ samples, decisions: [], now: 10_000, windowMs: 10_000, width: 300, height: 80 });
        const numbers = (plot.openPath.match(/-?[\d.]+/g) ?? []).map(Number);
        for (const n of numbers) {
          expect(n).toBeGreaterThanOrEqual(0);
          expect(n).toBeLessThanOrEqual(300);
        }
        expect(plot.maxOpen).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('refuses a window or size that is not positive', () => {
    expect(() => activityPlot({ samples: [], decisions: [], now: 0, windowMs: 0, width: 10, height: 10 })).toThrow(/must be positive/);
  });

  it('spans what it knows, between 2 and 60 minutes', () => {
    const now = 10_000_000;
    expect(plotWindowMs([], [], now)).toBe(MIN_WINDOW_MS);
    expect(plotWindowMs([{ at: now - 5 * 60_000, open: 0 }], [], now)).toBe(6 * 60_000);
    expect(plotWindowMs([], [decision(1, now - 3 * 3600_000, 'denied')], now)).toBe(MAX_WINDOW_MS);
  });
});
