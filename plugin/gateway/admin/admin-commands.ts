/**
 * The admin API's commands, shared by the WebSocket and `POST /api/command`.
 * Each checks its `args` (an error names the argument and the value) and
 * answers from the running daemon. The admin may open a port for any LAN
 * host: its needs have class `admin`, which passes the requester-owns-target
 * rule; Matter isolation still applies (and names the device it protects).
 *
 * @example
 * ```ts
 * const result = await runCommand(services, { message_id: 1, command: 'open_port',
 *   args: { internal_client: '2001:db8:77::10', internal_port: 3074, protocol: 'udp' } }, { actor: 'api' });
 * ```
 */
import { canonicalAddress, familyOf } from '../../../policies/model/address';
import { GatewayDaemonServices } from '../gateway-daemon';
import { adminAnswerOf } from './admin-answer-table';
import { LiveNeed } from '../gateway-needs';
import { AdminCommandError, AdminRequest } from './admin-protocol';

/** Who runs a command, and what the transport can do. */
export interface CommandContext {
  /** A name for the API client, recorded as the requester of its needs. */
  readonly actor: string;
  /** WebSocket only: subscribe to / unsubscribe from live events. */
  readonly listen?: (on: boolean) => void;
}

type Args = Record<string, unknown>;

interface Command {
  readonly args: readonly string[];
  readonly summary: string;
  run(services: GatewayDaemonServices, args: Args, context: CommandContext): unknown;
}

function bad(name: string, value: unknown, expected: string): never {
  throw new AdminCommandError('invalid_args', `args.${name}: expected ${expected}, got ${value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80)}`);
}

function int(args: Args, name: string, min: number, max: number, fallback?: number): number {
  const v = args[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(name, v, `an integer in ${min}..${max}`);
  return v;
}

function str(args: Args, name: string, pattern: RegExp, expected: string, fallback?: string): string {
  const v = args[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !pattern.test(v)) bad(name, v, expected);
  return v;
}

function ip(args: Args, name: string, optional = false): string {
  const v = args[name];
  if (v === undefined && optional) return '';
  const canonical = typeof v === 'string' ? canonicalAddress(v) : undefined;
  if (canonical === undefined) bad(name, v, 'an IPv4 or IPv6 address');
  return canonical;
}

/** A live need as the API shows it (snake_case keys are for arguments; results keep the engine's names). */
function needView(need: LiveNeed, verdicts: Map<string, { verdict: string; grantIds: readonly string[] }>) {
  const v = verdicts.get(need.id);
  return {
    id: need.id,
    source: need.source,
    deviceId: need.request.requester.deviceId,
    requesterAddress: need.request.requester.address ?? null,
    family: need.request.family,
    protocol: need.request.protocol,
    internalClient: need.request.internalClient,
    internalPort: need.request.internalPort,
    externalPort: need.grantedExternalPort ?? need.request.externalPort ?? null,
    remoteHost: need.request.remoteHost ?? '',
    remotePort: need.request.remotePort ?? 0,
    class: need.request.class,
    uniqueId: need.uniqueId ?? null,
    description: need.description ?? '',
    createdAt: need.createdAt,
    deadline: need.deadline,
    verdict: v?.verdict ?? 'unknown',
    grantIds: v?.grantIds ?? [],
  };
}


/** Who answers, how it applies, and what it can enforce (snake_case like the rest of the API). */
function deploymentFields(s: GatewayDaemonServices): Record<string, unknown> {
  const d = s.deploymentInfo();
  return {
    deployment: d.deployment, enforcement: d.enforcement, applier: d.applier, ...(d.router ? { router: d.router } : {}), ...(d.note ? { note: d.note } : {}),
    ...(d.routerReport ? { router_report: { summary: d.routerReport.summary, grade: d.routerReport.grade ?? null, third_party: d.routerReport.thirdParty, wan_ipv4: d.routerReport.wanIpv4 } } : {}),
  };
}

/** The lists the API serves (also for the plain HTTP GET endpoints). */
export const listings = {
  // Each device says whether the decisions about it are enforced (the router obeys only the controller) or only advised.
  devices: (s: GatewayDaemonServices) => {
    const { enforcement } = s.deploymentInfo();
    return s.engine.snapshot().devices.map((d) => ({ ...d, enforcement }));
  },
  grants: (s: GatewayDaemonServices) => s.engine.snapshot().grants,
  needs: (s: GatewayDaemonServices) => {
    const verdicts = new Map(s.engine.snapshot().needs.map((n) => [n.need.id, { verdict: n.verdict, grantIds: n.grantIds }]));
    return s.needs.list().map((n) => needView(n, verdicts));
  },
  decisions: (s: GatewayDaemonServices, limit: number, filter?: { needId?: string; deviceId?: string }) => s.history.recent(limit, filter),
  info: (s: GatewayDaemonServices) => ({
    server: s.deploymentInfo().deployment === 'hub' ? 'homenet-hub' : 'homenet-gateway',
    ...deploymentFields(s),
    schema_version: 1,
    started_at: new Date(s.startedAt).toISOString(),
    external_ipv4: s.externalIpv4() || null,
    firewall_table: s.config.firewall.table,
    needs: s.needs.size,
    grants: s.engine.snapshot().grants.length,
    commands: Object.keys(COMMANDS),
  }),
};

const ID = /^[\x21-\x7e]{1,200}$/;

export const COMMANDS: Record<string, Command> = {
  server_info: { args: [], summary: 'server name, schema version, counts', run: (s) => listings.info(s) },
  get_devices: { args: [], summary: 'the LAN devices the engine knows', run: (s) => listings.devices(s) },
  get_needs: { args: [], summary: 'live needs (UPnP and admin) with their verdicts and deadlines', run: (s) => listings.needs(s) },
  get_grants: { args: [], summary: 'the grants (pinholes and port mappings) the engine holds', run: (s) => listings.grants(s) },
  get_decisions: {
    args: ['limit', 'need_id', 'device_id'],
    summary: 'recent decisions, oldest first (bounded by admin.decisionsKept)',
    run: (s, args) => {
      const limit = int(args, 'limit', 1, s.config.admin.decisionsKept, 100);
      const filter: { needId?: string; deviceId?: string } = {};
      if (args.need_id !== undefined) filter.needId = str(args, 'need_id', ID, 'a need id');
      if (args.device_id !== undefined) filter.deviceId = str(args, 'device_id', ID, 'a device id');
      return listings.decisions(s, limit, filter);
    },
  },
  open_port: {
    args: ['internal_client', 'internal_port', 'protocol', 'family', 'external_port', 'lease_seconds', 'remote_host', 'remote_port', 'description'],
    summary: 'open a pinhole (IPv6) or port mapping (IPv4) to any LAN host, as the admin',
    async run(s, args, context) {
      const internalClient = ip(args, 'internal_client');
      const clientFamily = familyOf(internalClient);
      const family = str(args, 'family', /^ipv[46]$/, '"ipv4" or "ipv6"', clientFamily) as 'ipv4' | 'ipv6';
      if (family !== clientFamily) bad('family', args.family, `"${clientFamily}" for internal_client ${internalClient}`);
      const protocol = str(args, 'protocol', /^(udp|tcp)$/, '"udp" or "tcp"') as 'udp' | 'tcp';
      const internalPort = int(args, 'internal_port', 1, 65535);
      if (args.external_port !== undefined && family === 'ipv6') bad('external_port', args.external_port, 'nothing for an IPv6 pinhole');
      const externalPort = family === 'ipv4' ? int(args, 'external_port', 1, 65535, internalPort) : undefined;
      const leaseSeconds = int(args, 'lease_seconds', 0, 86400, 0);
      const remoteHost = ip(args, 'remote_host', true);
      if (remoteHost && familyOf(remoteHost) !== family) bad('remote_host', args.remote_host, `an ${family} address`);
      const remotePort = int(args, 'remote_port', 0, 65535, 0);
      const description = args.description === undefined ? undefined : str(args, 'description', /^[\x20-\x7e]{0,128}$/, 'printable text of at most 128 characters');
      const outcome = await s.needs.open({
        source: 'admin',
        family,
        protocol,
        internalClient,
        internalPort,
        ...(externalPort !== undefined ? { externalPort } : {}),
        remoteHost,
        remotePort,
        leaseSeconds,
        actor: context.actor,
        ...(description !== undefined ? { description } : {}),
        acceptOtherExternalPort: true,
      });
      if (!outcome.ok) {
        if ('invalid' in outcome) throw new AdminCommandError('invalid_args', outcome.invalid, { need_id: outcome.needId });
        const answer = adminAnswerOf(outcome.decision);
        throw new AdminCommandError(answer.error_code, answer.details, { need_id: outcome.needId, decision: outcome.decision });
      }
      return {
        need_id: outcome.needId,
        verdict: outcome.decision.verdict,
        renewed: outcome.renewed,
        grant: outcome.grant,
        lease_seconds: outcome.leaseSeconds,
        expires_at: outcome.deadline,
        ...(outcome.externalPort !== undefined ? { external_port: outcome.externalPort } : {}),
        decision: outcome.decision,
      };
    },
  },
  close_port: {
    args: ['need_id'],
    summary: 'end any need (admin or UPnP): its pinhole or mapping is removed',
    async run(s, args) {
      const needId = str(args, 'need_id', ID, 'a need id (see get_needs)');
      if (!(await s.needs.close(needId, 'deleted'))) throw new AdminCommandError('not_found', `no live need '${needId}'`);
      return { need_id: needId, closed: true };
    },
  },
  set_port_opening: {
    args: ['device_id', 'allowed'],
    summary: "the owner's \"Allow port opening\" switch for a device (persisted): off, its needs are refused (owner-port-opening/port-opening-disabled)",
    run: (s, args, context) => {
      const deviceId = str(args, 'device_id', ID, 'a device id (see get_devices)');
      const allowed = args.allowed;
      if (typeof allowed !== 'boolean') bad('allowed', allowed, 'true or false');
      if (!s.portOpening) throw new AdminCommandError('unknown_command', 'set_port_opening is not available in this daemon');
      const changed = s.portOpening.set(deviceId, allowed, `admin:${context.actor}`);
      return { device_id: deviceId, allowed, changed };
    },
  },
  reconcile: {
    args: [],
    summary: 'read the firewall table back and make it equal the engine grants now',
    run: (s) => s.reconcile(),
  },
  start_listening: {
    args: [],
    summary: 'WebSocket: push every decision and state change as {event, data}; answers the current state',
    run: (s, _args, context) => {
      if (!context.listen) throw new AdminCommandError('websocket_only', 'start_listening needs the WebSocket (/ws)');
      context.listen(true);
      const snapshot = s.engine.snapshot();
      return { devices: snapshot.devices, needs: listings.needs(s), grants: snapshot.grants };
    },
  },
  stop_listening: {
    args: [],
    summary: 'WebSocket: stop pushing events',
    run: (_s, _args, context) => {
      if (!context.listen) throw new AdminCommandError('websocket_only', 'stop_listening needs the WebSocket (/ws)');
      context.listen(false);
      return { listening: false };
    },
  },
};

/** Runs one request; throws {@link AdminCommandError} for a clear error answer. */
export async function runAdminCommand(services: GatewayDaemonServices, request: AdminRequest, context: CommandContext): Promise<unknown> {
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, request.command) ? COMMANDS[request.command] : undefined;
  if (!command) throw new AdminCommandError('unknown_command', `unknown command '${request.command}'; known: ${Object.keys(COMMANDS).join(', ')}`);
  for (const key of Object.keys(request.args)) {
    if (!command.args.includes(key)) {
      throw new AdminCommandError('invalid_args', `args.${key.slice(0, 64)}: not an argument of ${request.command}${command.args.length ? ` (it takes ${command.args.join(', ')})` : ' (it takes none)'}`);
    }
  }
  return command.run(services, request.args, context);
}
