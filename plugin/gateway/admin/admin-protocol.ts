/**
 * The admin API's message shapes, in the style hubs use for Matter servers:
 * a request `{message_id, command, args}` is answered `{message_id, result}`
 * or `{message_id, error_code, details}`; live events are pushed as
 * `{event, data}`. See `plugin/gateway/ADMIN-API.md`.
 *
 * @example
 * ```ts
 * parseRequest('{"message_id":"1","command":"get_grants"}');
 * // { ok: true, request: { message_id: '1', command: 'get_grants', args: {} } }
 * parseRequest('{oops'); // { ok: false, error: { message_id: null, error_code: 'invalid_json', details: ... } }
 * ```
 */

/** Stable error codes. */
export const ERROR_CODES = {
  /** The message is not JSON. */
  invalid_json: 'invalid_json',
  /** JSON, but not `{message_id, command, args?}`. */
  invalid_message: 'invalid_message',
  unknown_command: 'unknown_command',
  /** `args` is missing a field or has a bad value; `details` names it. */
  invalid_args: 'invalid_args',
  /** No token, or a wrong one. */
  unauthorized: 'unauthorized',
  /** Over the per-connection (WebSocket) or per-address (HTTP) message rate. */
  rate_limited: 'rate_limited',
  message_too_large: 'message_too_large',
  /** The need (or other object) named does not exist. */
  not_found: 'not_found',
  /** The policy engine refused: `details` names the rule and the conflicting party; `decision` is attached. */
  policy_denied: 'policy_denied',
  /** The firewall could not apply the change. */
  firewall_failed: 'firewall_failed',
  /** The command only exists on the WebSocket (start_listening). */
  websocket_only: 'websocket_only',
  internal_error: 'internal_error',
  /** The Host header names no allowed host (`admin.allowedHosts`): DNS rebinding is refused. */
  host_not_allowed: 'host_not_allowed',
  /** A browser Origin not in `admin.allowedOrigins`. */
  origin_not_allowed: 'origin_not_allowed',
  /** The connection budget is spent for this source (or the unauthenticated pool is full). */
  over_capacity: 'over_capacity',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type MessageId = string | number;

export interface AdminRequest {
  readonly message_id: MessageId;
  readonly command: string;
  readonly args: Record<string, unknown>;
}

export interface AdminResult {
  readonly message_id: MessageId;
  readonly result: unknown;
}

export interface AdminError {
  readonly message_id: MessageId | null;
  readonly error_code: ErrorCode;
  readonly details: string;
  readonly [extra: string]: unknown;
}

export interface AdminEvent {
  readonly event: string;
  readonly data: unknown;
}

/** An error a command handler throws to answer `{error_code, details}`. */
export class AdminCommandError extends Error {
  constructor(
    readonly code: ErrorCode,
    details: string,
    /** Extra fields for the error message (e.g. the decision of a policy denial). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(details);
    this.name = 'AdminCommandError';
  }
}

export function errorMessage(messageId: MessageId | null, code: ErrorCode, details: string, extra: Record<string, unknown> = {}): AdminError {
  return { message_id: messageId, error_code: code, details, ...extra };
}

const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const COMMAND = /^[a-z][a-z0-9_]{0,63}$/;

/** Parses and checks one request message. */
export function parseRequest(text: string): { ok: true; request: AdminRequest } | { ok: false; error: AdminError } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: errorMessage(null, 'invalid_json', `the message is not JSON: ${(error as Error).message}`) };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, error: errorMessage(null, 'invalid_message', 'a message is a JSON object {message_id, command, args}') };
  }
  const obj = json as Record<string, unknown>;
  const id = obj.message_id;
  const validId = (typeof id === 'string' && MESSAGE_ID.test(id)) || (typeof id === 'number' && Number.isSafeInteger(id));
  if (!validId) {
    return { ok: false, error: errorMessage(null, 'invalid_message', `message_id must be a string of 1-64 [A-Za-z0-9_.:-] or an integer, got ${JSON.stringify(id)?.slice(0, 80)}`) };
  }
  const messageId = id;
  if (typeof obj.command !== 'string' || !COMMAND.test(obj.command)) {
    return { ok: false, error: errorMessage(messageId, 'invalid_message', `command must be a snake_case name, got ${JSON.stringify(obj.command)?.slice(0, 80)}`) };
  }
  for (const key of Object.keys(obj)) {
    if (key !== 'message_id' && key !== 'command' && key !== 'args') {
      return { ok: false, error: errorMessage(messageId, 'invalid_message', `unknown field '${key.slice(0, 64)}' (a message has message_id, command, args)`) };
    }
  }
  const args = obj.args === undefined ? {} : obj.args;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    return { ok: false, error: errorMessage(messageId, 'invalid_args', 'args must be a JSON object') };
  }
  return { ok: true, request: { message_id: messageId, command: obj.command, args: args as Record<string, unknown> } };
}
