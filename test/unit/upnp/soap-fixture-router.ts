// A loopback "router" that replays the captured miniupnpd answers byte for byte: it reads one
// HTTP request, finds the captured case with the same SOAPAction and the same arguments, and
// writes that case's captured response (status line, headers, body) to the socket.
import net from 'node:net';
import { parseSoapRequest } from '../../../adapters/upnp';
import { SoapCase, readHttpCapture, readReference, soapCases } from '../../support/reference-fixtures';

export interface ReceivedRequest {
  caseName: string | undefined;
  headers: Map<string, string>;
  remoteAddress: string | undefined;
}

export interface FixtureRouter {
  port: number;
  /** The case to answer next; the request must match that case's captured request. */
  next: string | undefined;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

function key(action: string, args: Array<[string, string]>): string {
  return `${action}|${args.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export async function startFixtureRouter(host: string): Promise<FixtureRouter> {
  const byRequest = new Map<string, SoapCase[]>();
  for (const c of soapCases()) {
    const cap = readHttpCapture(`${c.name}.request.http`);
    const req = parseSoapRequest(cap.headers.get('soapaction') ?? '', cap.body);
    const k = key(req.action, req.args);
    byRequest.set(k, [...(byRequest.get(k) ?? []), c]);
  }
  const received: ReceivedRequest[] = [];
  const router: FixtureRouter = { port: 0, next: undefined, received, close: async () => undefined };
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('utf8').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
      }
      const length = Number(headers.get('content-length') ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
      buf = buf.subarray(end + 4 + length);
      let caseName: string | undefined;
      try {
        const req = parseSoapRequest(headers.get('soapaction') ?? '', body);
        const candidates = byRequest.get(key(req.action, req.args)) ?? [];
        // Some requests were captured more than once with different answers (e.g. DeletePinhole 1,
        // then again once deleted): the test names the case it is replaying.
        caseName = (router.next ? candidates.find((c) => c.name === router.next) : candidates[0])?.name;
      } catch {
        caseName = undefined;
      }
      received.push({ caseName, headers, remoteAddress: socket.remoteAddress });
      if (!caseName) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      socket.end(readReference('soap', `${caseName}.response.http`));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  router.port = (server.address() as net.AddressInfo).port;
  router.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return router;
}
