/**
 * The dashboard's line to the admin API: one WebSocket (`/ws` on the page's own
 * origin) authenticated the way a browser can — a browser cannot set an
 * `Authorization` header on a WebSocket, so the first message is
 * `{"command":"auth","args":{"token":..}}` (see ADMIN-API.md). Commands are
 * answered by `message_id`; pushed `{event, data}` messages go to `onEvent`.
 * A dropped socket reconnects with backoff (0.5 s doubling to 10 s); a wrong
 * token stops it.
 *
 * @example
 * ```ts
 * const conn = new AdminConnection(location, token, {
 *   onReady: async (info) => console.log(await conn.call('start_listening')),
 *   onEvent: (event, data) => console.log(event, data),
 *   onStatus: (status) => console.log(status),
 * });
 * conn.connect();
 * ```
 */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

export interface ConnectionHandlers {
  /** Authenticated: `info` is the server's `server_info`. Called again after every reconnect. */
  onReady(info: unknown): void;
  onEvent(event: string, data: unknown): void;
  onStatus(status: ConnectionStatus, detail?: string): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** An error answer's `details` as text. */
function detailsOf(message: Record<string, unknown>): string {
  return typeof message.details === 'string' ? message.details : JSON.stringify(message.details ?? '');
}

export class AdminCommandFailed extends Error {
  constructor(
    readonly code: string,
    details: string,
  ) {
    super(`${code}: ${details}`);
  }
}

export class AdminConnection {
  private ws: WebSocket | undefined;
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private backoffMs = 500;
  private stopped = false;
  private timer: number | undefined;

  constructor(
    private readonly location: { protocol: string; host: string },
    private readonly token: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  connect(): void {
    this.stopped = false;
    this.handlers.onStatus(this.ws ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(`${this.location.protocol === 'https:' ? 'wss' : 'ws'}://${this.location.host}/ws`);
    this.ws = ws;
    let authed = false;
    ws.onopen = () => ws.send(JSON.stringify({ message_id: 'auth', command: 'auth', args: { token: this.token } }));
    ws.onmessage = (message: MessageEvent) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(String(message.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!authed) {
        if (parsed.message_id === 'auth' && 'result' in parsed) {
          authed = true;
          this.backoffMs = 500;
          this.handlers.onStatus('live');
          this.handlers.onReady(parsed.result);
        } else if (parsed.error_code === 'unauthorized') {
          this.stopped = true;
          this.handlers.onStatus('unauthorized', detailsOf(parsed));
        }
        return;
      }
      if (typeof parsed.event === 'string') {
        this.handlers.onEvent(parsed.event, parsed.data);
        return;
      }
      const id = typeof parsed.message_id === 'string' ? parsed.message_id : undefined;
      const waiting = id !== undefined ? this.pending.get(id) : undefined;
      if (!waiting || id === undefined) return;
      this.pending.delete(id);
      if ('result' in parsed) waiting.resolve(parsed.result);
      else waiting.reject(new AdminCommandFailed(String(parsed.error_code), detailsOf(parsed)));
    };
    ws.onclose = (close: CloseEvent) => {
      for (const p of this.pending.values()) p.reject(new Error(`connection closed (${close.code})`));
      this.pending.clear();
      if (close.code === 4401) {
        this.stopped = true;
        this.handlers.onStatus('unauthorized', 'the token was refused');
      }
      if (this.stopped) return;
      this.handlers.onStatus('reconnecting', `closed (${close.code}); again in ${this.backoffMs / 1000} s`);
      this.timer = window.setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(10_000, this.backoffMs * 2);
    };
  }

  /** Sends one command; resolves with its `result`, rejects with {@link AdminCommandFailed}. */
  call<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const id = `d${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as T), reject });
      ws.send(JSON.stringify({ message_id: id, command, ...(args ? { args } : {}) }));
    });
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) window.clearTimeout(this.timer);
    this.ws?.close(1000, 'logout');
  }
}
