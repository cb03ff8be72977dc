/**
 * The activity plot as SVG: open ports (a step line) and decisions (ticks:
 * green granted, red denied, grey other) over the time the page knows of
 * (2 to 60 minutes, `plotWindowMs`), labels in HTML.
 *
 * @example
 * ```ts
 * byId('plot').replaceChildren(plotView(model, Date.now()));
 * ```
 */
import { activityPlot, plotWindowMs } from './activity-plot';
import { DashboardModel } from './dashboard-model';
import { h, svg } from './dom';

const W = 600;
const H = 120;
const TICKS = 14;

export function plotView(model: DashboardModel, now: number): HTMLElement {
  const windowMs = plotWindowMs(model.openPorts, model.decisions, now);
  const plot = activityPlot({ samples: model.openPorts, decisions: model.decisions, now, windowMs, width: W, height: H - TICKS });
  const grid = [0.25, 0.5, 0.75].map((f) => svg('line', { class: 'grid', x1: W * f, x2: W * f, y1: 0, y2: H }));
  const minutes = windowMs / 60_000;
  const denied = plot.marks.filter((m) => m.verdict === 'denied').length;
  const granted = plot.marks.filter((m) => m.verdict === 'granted').length;
  // The SVG stretches to the width (preserveAspectRatio none, strokes not scaled); the labels are HTML so they keep their size.
  return h(
    'div',
    { class: 'plot-wrap' },
    svg(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'plot', role: 'img', 'aria-label': `open ports (max ${plot.maxOpen}) and ${plot.marks.length} decisions in the last ${minutes} minutes` },
      ...grid,
      svg('line', { class: 'baseline', x1: 0, x2: W, y1: H - TICKS, y2: H - TICKS }),
      plot.openPath ? svg('path', { d: plot.openPath, class: 'open-line' }) : null,
      ...plot.marks.map((m) => svg('line', { class: `mark mark-${m.verdict}`, x1: m.x, x2: m.x, y1: H - TICKS + 2, y2: H, 'data-seq': m.seq })),
    ),
    h(
      'div',
      { class: 'plot-axis small muted' },
      h('span', {}, `-${minutes} min`),
      h('span', {}, h('b', { class: 'key-open' }, `open ports (max ${plot.maxOpen})`), ' · ', h('b', { class: 'key-granted' }, `${granted} granted`), ' · ', h('b', { class: 'key-denied' }, `${denied} denied`)),
      h('span', {}, 'now'),
    ),
  );
}
