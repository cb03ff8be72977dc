// A loopback "router" for agent tests: each SOAP action is answered with the next
// response captured from the real miniupnpd (soap/<case>.response.http), byte for
// byte. A test may rewrite a captured answer only to stand for what miniupnpd cannot
// be made to say (another fault code, a CGNAT external address); such rewrites are
// named at the call site.
import net from 'node:net';
import { readReference } from './reference-fixtures';

export interface ScriptedAnswer {
  /** Captured case name, e.g. '6fc-AddPinhole-ok'. */
  readonly capture: string;
  /** Optional rewrite of the captured bytes (Content-Length is fixed up). */
  readonly rewrite?: (text: string) => string;
}

export interface ScriptedRouter {
  readonly port: number;
  url(path: string): string;
  /** Actions received, in order, with the source address of each connection. */
  readonly received: { action: string; body: string; remoteAddress: string | undefined }[];
  close(): Promise<void>;
}

function answerBytes(answer: ScriptedAnswer): Buffer {
  const raw = readReference('soap', `${answer.capture}.response.http`).toString('utf8');
  if (!answer.rewrite) return Buffer.from(raw, 'utf8');
  const split = raw.indexOf('\r\n\r\n');
  const body = answer.rewrite(raw.slice(split + 4));
  const head = raw.slice(0, split).replace(/Content-Length: \d+/i, `Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${head}\r\n\r\n${body}`, 'utf8');
}

/**
 * Starts the router on `host`. `script[action]` lists the answers to give, in order;
 * the last one repeats. An action with no script gets a 500 with no body (a test bug).
 */
export async function startScriptedRouter(host: string, script: Record<string, ScriptedAnswer[]>): Promise<ScriptedRouter> {
  const served = new Map<string, number>();
  const received: ScriptedRouter['received'] = [];
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('utf8');
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
      buf = buf.subarray(end + 4 + length);
      const action = /soapaction:\s*"?[^#"]*#(\w+)"?/i.exec(head)?.[1] ?? '?';
      received.push({ action, body, remoteAddress: socket.remoteAddress });
      const answers = script[action];
      if (!answers || answers.length === 0) {
        socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const n = served.get(action) ?? 0;
      served.set(action, n + 1);
      socket.end(answerBytes(answers[Math.min(n, answers.length - 1)]));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (path) => `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Rewrites a captured UPnP fault to another code and description. */
export function faultCode(code: number, description: string): (text: string) => string {
  return (text) =>
    text
      .replace(/<errorCode>\d+<\/errorCode>/, `<errorCode>${code}</errorCode>`)
      .replace(/<errorDescription>[^<]*<\/errorDescription>/, `<errorDescription>${description}</errorDescription>`);
}
