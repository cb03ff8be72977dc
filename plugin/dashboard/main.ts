/**
 * The dashboard page: token login (kept in sessionStorage, for this tab only),
 * then the live view over the admin API's WebSocket — the gateway report, a
 * plot of open ports and decisions, the grants with their leases counting
 * down, the needs waiting, the devices and the decision timeline with filters.
 * Built by `npm run build` (esbuild, `plugin/dashboard/build-dashboard.js`)
 * into `dist/dashboard/`, served by the admin API at `/dashboard/`.
 *
 * @example
 * ```sh
 * npm run build && homenet serve --mode gateway
 * # then open http://<admin listen address>/dashboard/ and paste the admin token
 * ```
 */
import { AdminConnection, ConnectionStatus } from './admin-connection';
import { clockOffsetMs, DashboardModel, DecisionView, DeviceView, emptyModel, GrantView, NeedView, ServerInfo, timelineDevices, withDecisions, withDevices, withGrants, withInfo, withNeeds, withServer, withSnapshot } from './dashboard-model';
import { devicesView } from './devices-view';
import { byId, h } from './dom';
import { grantsView } from './grants-view';
import { needsView } from './needs-view';
import { plotView } from './plot-view';
import { reportView } from './report-view';
import { timelineItems } from './timeline-view';

const TOKEN_KEY = 'homenet.adminToken';

let model: DashboardModel = emptyModel();
let connection: AdminConnection | undefined;
let renderQueued = false;
/** The server's clock minus this device's (leases count down on the server's clock). */
let clockOffset = 0;
const serverNow = (): number => Date.now() + clockOffset;

/** Reads the server's clock from a `Date` header (`/api/health` needs no token). */
async function syncClock(): Promise<void> {
  const answer = await fetch('/api/health', { cache: 'no-store' }).catch(() => undefined);
  if (answer) clockOffset = clockOffsetMs(answer.headers.get('Date'), Date.now());
}

function render(): void {
  renderQueued = false;
  const now = serverNow();
  byId('report').replaceChildren(reportView(model));
  byId('plot').replaceChildren(plotView(model, now));
  byId('grants').replaceChildren(grantsView(model, now));
  byId('needs').replaceChildren(needsView(model, now));
  byId('devices').replaceChildren(devicesView(model));
  const deviceFilter = byId<HTMLSelectElement>('filter-device');
  const chosen = deviceFilter.value;
  const ids = timelineDevices(model);
  if (deviceFilter.options.length !== ids.length + 1 || ids.some((id, i) => deviceFilter.options[i + 1]?.value !== id)) {
    deviceFilter.replaceChildren(h('option', { value: '' }, 'all devices'), ...ids.map((id) => h('option', { value: id }, id)));
    deviceFilter.value = ids.includes(chosen) ? chosen : '';
  }
  const verdict = byId<HTMLSelectElement>('filter-verdict').value;
  byId('timeline').replaceChildren(...timelineItems(model, { deviceId: deviceFilter.value, verdict }));
}

function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function setStatus(status: ConnectionStatus | 'checking', detail = ''): void {
  const el = byId('status');
  el.textContent = status === 'live' ? 'live' : `${status}${detail ? ` — ${detail}` : ''}`;
  el.className = `status status-${status}`;
  document.body.dataset.status = status;
}

/** Re-reads lists after events, at most once per 50 ms per list. */
const refreshers = new Map<string, number>();
function refreshSoon(what: 'grants' | 'needs' | 'devices' | 'info'): void {
  if (refreshers.has(what)) return;
  refreshers.set(
    what,
    window.setTimeout(() => {
      refreshers.delete(what);
      void refresh(what);
    }, 50),
  );
}

async function refresh(what: 'grants' | 'needs' | 'devices' | 'info'): Promise<void> {
  const conn = connection;
  if (!conn) return;
  try {
    // Await first, then apply to the model as it is then: other refreshes may have changed it meanwhile.
    if (what === 'grants') {
      const grants = await conn.call<GrantView[]>('get_grants');
      model = withGrants(model, grants, serverNow());
    } else if (what === 'needs') {
      const needs = await conn.call<NeedView[]>('get_needs');
      model = withNeeds(model, needs);
    } else if (what === 'devices') {
      const devices = await conn.call<DeviceView[]>('get_devices');
      model = withDevices(model, devices);
    } else {
      const info = await conn.call<ServerInfo>('server_info');
      model = withInfo(model, info);
    }
    queueRender();
  } catch {
    // The socket dropped: the reconnect reloads everything.
  }
}

function onEvent(event: string, data: unknown): void {
  switch (event) {
    case 'decision':
      model = withDecisions(model, [data as DecisionView]);
      refreshSoon('grants');
      refreshSoon('needs');
      break;
    case 'need_opened':
    case 'need_renewed':
    case 'need_ended':
    case 'firewall_applied':
      refreshSoon('grants');
      refreshSoon('needs');
      break;
    case 'device_seen':
      refreshSoon('devices');
      break;
    case 'reconciled':
    case 'agent_report':
      refreshSoon('grants');
      break;
    default:
      break;
  }
  queueRender();
}

async function onReady(info: unknown): Promise<void> {
  const conn = connection;
  if (!conn) return;
  model = withServer(model, info as ServerInfo);
  const snapshot = await conn.call<{ devices: DeviceView[]; needs: NeedView[]; grants: GrantView[] }>('start_listening');
  model = withSnapshot(model, snapshot, serverNow());
  // The engine's devices carry no `enforcement`; get_devices adds it.
  const devices = await conn.call<DeviceView[]>('get_devices');
  model = withDevices(model, devices);
  const decisions = await conn.call<DecisionView[]>('get_decisions', { limit: 200 });
  model = withDecisions(model, decisions);
  queueRender();
}

function showLogin(message = ''): void {
  connection?.close();
  connection = undefined;
  byId('app').hidden = true;
  byId('logout').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message;
  setStatus('unauthorized', message ? 'log in' : '');
  byId<HTMLInputElement>('token').focus();
}

function start(token: string): void {
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = false;
  model = emptyModel();
  const conn = new AdminConnection(window.location, token, {
    onReady: (info) => void onReady(info).catch(() => undefined),
    onEvent,
    onStatus: (status, detail) => {
      if (status === 'unauthorized') {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(`The token was refused${detail ? ` (${detail})` : ''}.`);
        return;
      }
      setStatus(status, detail);
    },
  });
  connection = conn;
  void syncClock().then(queueRender);
  conn.connect();
  queueRender();
}

async function login(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const token = byId<HTMLInputElement>('token').value.trim();
  if (!token) return;
  setStatus('checking');
  const answer = await fetch('/api/info', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' }).catch(() => undefined);
  if (!answer) {
    showLogin('The API did not answer.');
    return;
  }
  if (answer.status === 401) {
    showLogin('Wrong token.');
    return;
  }
  if (!answer.ok) {
    showLogin(`The API answered HTTP ${answer.status}.`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  byId<HTMLInputElement>('token').value = '';
  start(token);
}

function main(): void {
  byId<HTMLFormElement>('login-form').addEventListener('submit', (e) => void login(e));
  byId('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });
  byId('filter-device').addEventListener('change', queueRender);
  byId('filter-verdict').addEventListener('change', queueRender);
  // Leases count down and the plot moves on even without events.
  window.setInterval(() => {
    if (connection) queueRender();
  }, 1000);
  window.setInterval(() => {
    if (connection) refreshSoon('info');
  }, 15_000);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) start(saved);
  else showLogin();
}

main();
