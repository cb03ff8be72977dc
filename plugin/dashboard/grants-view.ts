/**
 * The open ports (the engine's grants), each with its lease counting down.
 *
 * @example
 * ```ts
 * byId('grants').replaceChildren(grantsView(model, Date.now()));
 * ```
 */
import { DashboardModel, formatDuration, grantEndpoint, leaseLeft } from './dashboard-model';
import { h } from './dom';

export function grantsView(model: DashboardModel, now: number): HTMLElement {
  if (!model.grants.length) return h('p', { class: 'muted' }, 'No port is open.');
  return h(
    'ul',
    { class: 'rows' },
    ...model.grants.map((g) => {
      const left = leaseLeft(g.expiresAt, now);
      return h(
        'li',
        { class: `row grant state-${g.state}`, 'data-grant': g.id, 'data-client': g.internalClient, 'data-port': String(g.internalPort) },
        h('span', { class: `badge badge-${g.family}` }, g.table === 'pinhole' ? 'pinhole' : 'mapping'),
        h('code', { class: 'endpoint' }, grantEndpoint(g)),
        h('span', { class: 'lease', title: `lease ${g.leaseSeconds} s` }, g.leaseSeconds > 0 ? formatDuration(left) : 'no lease'),
        g.state !== 'active' ? h('span', { class: 'badge badge-pending' }, g.state) : null,
      );
    }),
  );
}
