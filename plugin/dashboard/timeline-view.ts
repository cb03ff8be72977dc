/**
 * The decision timeline, newest first, each with its verdict, device, need and
 * every reason (rule/code, the party it conflicts with, the detail).
 *
 * @example
 * ```ts
 * byId('timeline').replaceChildren(...timelineItems(model, { verdict: 'denied' }));
 * ```
 */
import { DashboardModel, reasonText, timeline, TimelineFilter } from './dashboard-model';
import { h } from './dom';

function clock(at: number): string {
  const d = new Date(at);
  return Number.isFinite(d.getTime()) ? d.toTimeString().slice(0, 8) : '?';
}

export function timelineItems(model: DashboardModel, filter: TimelineFilter): HTMLElement[] {
  const shown = timeline(model, filter);
  if (!shown.length) return [h('li', { class: 'muted' }, model.decisions.length ? 'No decision matches the filters.' : 'No decision yet.')];
  return shown.map((d) =>
    h(
      'li',
      { class: `decision verdict-${d.verdict}`, 'data-seq': String(d.seq), 'data-verdict': d.verdict, 'data-device': d.deviceId },
      h('div', { class: 'decision-head' }, h('time', {}, clock(d.at)), h('span', { class: `badge verdict-${d.verdict}` }, d.verdict), h('b', {}, d.deviceId), h('span', { class: 'muted small' }, d.cause)),
      h('code', { class: 'need small' }, d.needId),
      h('ul', { class: 'reasons' }, ...d.reasons.map((r) => h('li', { class: 'reason', 'data-code': r.code }, reasonText(r)))),
    ),
  );
}
