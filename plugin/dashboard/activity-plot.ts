/**
 * The geometry of the dashboard's plot: open ports (a step line) and decisions
 * (ticks, coloured by verdict) over the last few minutes. Pure — it computes
 * coordinates and an SVG path; `plot-view.ts` turns them into SVG elements.
 *
 * @example
 * ```ts
 * const plot = activityPlot({ samples: [{ at: 0, open: 0 }, { at: 5000, open: 1 }], decisions: [], now: 10_000, windowMs: 10_000, width: 100, height: 40 });
 * plot.openPath; // 'M0,40H50V2H100' (SVG y grows downwards; maxOpen 1 is drawn 2 px below the top)
 * ```
 */
import { DecisionView, OpenPortsSample } from './dashboard-model';

export interface PlotInput {
  readonly samples: readonly OpenPortsSample[];
  readonly decisions: readonly DecisionView[];
  readonly now: number;
  readonly windowMs: number;
  readonly width: number;
  readonly height: number;
}

export interface DecisionMark {
  readonly x: number;
  readonly verdict: 'granted' | 'denied' | 'other';
  readonly seq: number;
}

export interface ActivityPlot {
  /** The step line of open grants (`M..H..V..`), empty when there is no sample. */
  readonly openPath: string;
  /** The top of the y scale (at least 1). */
  readonly maxOpen: number;
  readonly marks: readonly DecisionMark[];
}

const round = (n: number): number => Math.round(n * 10) / 10;

export function activityPlot(input: PlotInput): ActivityPlot {
  const { samples, decisions, now, windowMs, width, height } = input;
  if (!(windowMs > 0) || !(width > 0) || !(height > 0)) throw new RangeError(`activityPlot: windowMs, width and height must be positive (got ${windowMs}, ${width}, ${height})`);
  const start = now - windowMs;
  const x = (t: number): number => round(((Math.min(Math.max(t, start), now) - start) / windowMs) * width);
  // The value at the window's start is the last sample before it.
  let from = 0;
  for (let i = 0; i < samples.length; i++) if (samples[i].at <= start) from = i;
  const visible = samples.slice(from).filter((s) => s.at <= now);
  const maxOpen = Math.max(1, ...visible.map((s) => s.open));
  const y = (open: number): number => round(height - (open / maxOpen) * (height - 2));
  let openPath = '';
  if (visible.length) {
    openPath = `M${x(visible[0].at)},${y(visible[0].open)}`;
    for (let i = 1; i < visible.length; i++) openPath += `H${x(visible[i].at)}V${y(visible[i].open)}`;
    openPath += `H${x(now)}`;
  }
  const marks: DecisionMark[] = decisions
    .filter((d) => d.at >= start && d.at <= now)
    .map((d) => ({
      x: x(d.at),
      seq: d.seq,
      verdict: d.verdict === 'denied' ? 'denied' : d.verdict === 'granted' || d.verdict === 'granted-with-changes' ? 'granted' : 'other',
    }));
  return { openPath, maxOpen, marks };
}

export const MIN_WINDOW_MS = 2 * 60_000;
export const MAX_WINDOW_MS = 60 * 60_000;

/**
 * How much time the plot spans: everything it knows (the oldest decision or sample) plus a
 * tenth, at least {@link MIN_WINDOW_MS} and at most {@link MAX_WINDOW_MS}, so a quiet home's
 * few events do not all crowd at the right edge.
 */
export function plotWindowMs(samples: readonly OpenPortsSample[], decisions: readonly DecisionView[], now: number): number {
  const oldest = Math.min(samples[0]?.at ?? now, decisions[0]?.at ?? now);
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.ceil(((now - oldest) * 1.1) / 60_000) * 60_000));
}
