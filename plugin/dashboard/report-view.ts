/**
 * The gateway report: which deployment answers (gateway or hub), what it can
 * enforce, how it applies decisions, and the WAN it sits on.
 *
 * @example
 * ```ts
 * byId('report').replaceChildren(reportView(model));
 * ```
 */
import { DashboardModel } from './dashboard-model';
import { h } from './dom';

function row(label: string, value: string, key: string): HTMLElement {
  return h('div', { class: 'fact', 'data-fact': key }, h('dt', {}, label), h('dd', {}, value));
}

export function reportView(model: DashboardModel): HTMLElement {
  const info = model.info;
  if (!info) return h('p', { class: 'muted' }, 'Waiting for the server…');
  const router = info.router === undefined ? undefined : typeof info.router === 'string' ? info.router : JSON.stringify(info.router);
  return h(
    'dl',
    { class: 'facts' },
    row('Deployment', info.deployment ?? '?', 'deployment'),
    row('Enforcement', info.enforcement ?? '?', 'enforcement'),
    row('Applier', info.applier ?? '?', 'applier'),
    row('WAN IPv4', info.external_ipv4 ?? 'none', 'wan'),
    row('Open ports', String(model.grants.length), 'grants'),
    row('Live needs', String(model.needs.length), 'needs'),
    router ? row('Router', router, 'router') : null,
    info.firewall_table ? row('Firewall table', info.firewall_table, 'table') : null,
    info.started_at ? row('Up since', info.started_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), 'started') : null,
    info.note ? row('Note', info.note, 'note') : null,
  );
}
