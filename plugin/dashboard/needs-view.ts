/**
 * Needs still waiting for a grant (queued, ineffective, undecided): what a
 * host asked for and has not got.
 *
 * @example
 * ```ts
 * byId('needs').replaceChildren(needsView(model, Date.now()));
 * ```
 */
import { DashboardModel, formatDuration, waitingNeeds } from './dashboard-model';
import { h } from './dom';

export function needsView(model: DashboardModel, now: number): HTMLElement {
  const waiting = waitingNeeds(model);
  const granted = model.needs.length - waiting.length;
  const summary = h('p', { class: 'muted small' }, `${model.needs.length} live need(s), ${granted} granted`);
  if (!waiting.length) return h('div', {}, summary, h('p', { class: 'muted' }, 'Nothing waiting.'));
  return h(
    'div',
    {},
    summary,
    h(
      'ul',
      { class: 'rows' },
      ...waiting.map((n) =>
        h(
          'li',
          { class: 'row need', 'data-need': n.id },
          h('span', { class: `badge verdict-${n.verdict}` }, n.verdict),
          h('code', {}, `${n.protocol} ${n.internalClient} :${n.internalPort}`),
          h('span', { class: 'muted' }, n.deviceId),
          typeof n.deadline === 'number' ? h('span', { class: 'lease' }, formatDuration((n.deadline - now) / 1000)) : null,
        ),
      ),
    ),
  );
}
