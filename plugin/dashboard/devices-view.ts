/**
 * The devices the controller knows: kinds with their evidence, addresses, and
 * whether the policy keeps each one closed (protected) and whether that is
 * enforced (the router obeys only the controller) or advised.
 *
 * @example
 * ```ts
 * byId('devices').replaceChildren(devicesView(model));
 * ```
 */
import { DashboardModel, deviceProtection, DeviceView } from './dashboard-model';
import { h } from './dom';

function deviceCard(device: DeviceView, deployment: string | undefined): HTMLElement {
  const protection = deviceProtection(device);
  // A device from an event or the start_listening snapshot carries no `enforcement` yet: the deployment's holds for every device.
  const enforcement = device.enforcement ?? deployment ?? 'unknown';
  const identities = Object.entries(device.identities ?? {})
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${v ?? ''}`)
    .join(' · ');
  return h(
    'li',
    { class: `card device${protection.protected ? ' protected' : ''}`, 'data-device': device.id, 'data-protected': String(protection.protected), 'data-enforcement': enforcement },
    h(
      'div',
      { class: 'card-head' },
      h('b', { class: 'name' }, device.id),
      h('span', { class: `badge ${protection.protected ? 'badge-protected' : 'badge-open'}`, title: protection.because }, protection.protected ? 'protected' : 'not isolated'),
      h('span', { class: `badge badge-${enforcement}` }, enforcement),
    ),
    h('div', { class: 'kinds' }, ...(device.kinds.length ? device.kinds.map((k) => h('span', { class: 'kind', title: k.evidence }, `${k.kind} `, h('small', {}, `(${k.evidence})`))) : [h('span', { class: 'muted' }, 'kind unknown')])),
    protection.protected ? h('div', { class: 'why' }, `closed to the Internet: ${protection.because}`) : null,
    h('div', { class: 'addresses' }, ...device.addresses.map((a) => h('code', { class: a.deprecated ? 'deprecated' : '', title: `${a.family}${a.scope ? ` ${a.scope}` : ''}${a.stable === false ? ' temporary' : ''}` }, a.address))),
    identities ? h('div', { class: 'muted small' }, identities) : null,
    device.ipv6Only ? h('div', { class: 'muted small' }, `IPv6-only (${device.ipv6Only})`) : null,
  );
}

export function devicesView(model: DashboardModel): HTMLElement {
  if (!model.devices.length) return h('p', { class: 'muted' }, 'No device known yet.');
  return h('ul', { class: 'cards' }, ...model.devices.map((d) => deviceCard(d, model.info?.enforcement)));
}
