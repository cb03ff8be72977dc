/**
 * The activity plot as SVG: open ports (a step line) and decisions (ticks:
 * green granted, red denied, grey other) over the last minutes.
 *
 * @example
 * ```ts
 * byId('plot').replaceChildren(plotView(model, Date.now()));
 * ```
 */
import { activityPlot } from './activity-plot';
import { DashboardModel } from './dashboard-model';
import { svg } from './dom';

export const PLOT_WINDOW_MS = 10 * 60_000;
const W = 600;
const H = 120;
const TICKS = 14;

export function plotView(model: DashboardModel, now: number): SVGElement {
  const plot = activityPlot({ samples: model.openPorts, decisions: model.decisions, now, windowMs: PLOT_WINDOW_MS, width: W, height: H - TICKS });
  const grid = [0.25, 0.5, 0.75].map((f) => svg('line', { class: 'grid', x1: W * f, x2: W * f, y1: 0, y2: H }));
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img', 'aria-label': `open ports (max ${plot.maxOpen}) and ${plot.marks.length} decisions in the last ${PLOT_WINDOW_MS / 60_000} minutes` },
    ...grid,
    svg('text', { x: 4, y: 12, class: 'axis' }, `${plot.maxOpen} open`),
    svg('text', { x: W - 4, y: H - TICKS - 4, class: 'axis end' }, 'now'),
    svg('text', { x: 4, y: H - TICKS - 4, class: 'axis' }, `-${PLOT_WINDOW_MS / 60_000} min`),
    plot.openPath ? svg('path', { d: plot.openPath, class: 'open-line' }) : null,
    ...plot.marks.map((m) => svg('line', { class: `mark mark-${m.verdict}`, x1: m.x, x2: m.x, y1: H - TICKS + 2, y2: H, 'data-seq': m.seq })),
  );
}
