// Small loopback HTTP servers for the hardened-fetch and SOAP tests.
import http from 'node:http';
import net from 'node:net';

export interface Loopback {
  url(path?: string): string;
  port: number;
  host: string;
  connections: number;
  requests: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; remoteAddress?: string; body: string }>;
  close(): Promise<void>;
}

export async function startHttp(host: string, handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<Loopback> {
  const sockets = new Set<net.Socket>();
  const lb: Loopback = {
    port: 0, host, connections: 0, requests: [],
    url: (path = '/') => `http://${host.includes(':') ? `[${host}]` : host}:${lb.port}${path}`,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry: Loopback['requests'][number] = { headers: req.headers, body };
      if (req.method) entry.method = req.method;
      if (req.url) entry.url = req.url;
      if (req.socket.remoteAddress) entry.remoteAddress = req.socket.remoteAddress;
      lb.requests.push(entry);
      handler(req, res, body);
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: net.Socket) => {
    lb.connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  lb.port = (server.address() as net.AddressInfo).port;
  lb.close = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return lb;
}

/** A raw TCP server: full control over the bytes (or silence). */
export async function startRaw(host: string, onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
