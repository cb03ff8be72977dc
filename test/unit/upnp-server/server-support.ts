// Shared helpers of the IGD front tests: a lab-like engine (two consoles and a Matter plug),
// raw HTTP exchanges from chosen loopback source addresses, and response parsing.
import net from 'node:net';
import { VirtualTimeScheduler } from 'rxjs';
import { PolicyEngine, createPolicyEngine } from '../../../policies';
import { unmappedAddress } from '../../../policies/model/address';

export const CONSOLE_A = { id: 'console-a', v4: '192.168.77.10', v6: '2001:db8:77::10' };
export const CONSOLE_B = { id: 'console-b', v4: '192.168.77.11', v6: '2001:db8:77::11' };
export const PLUG = { id: 'matter-plug', v4: '192.168.77.42', v6: '2001:db8:77::42' };

/**
 * Loopback source address -> the lab address it stands for. Captured requests came from the
 * lab's console (2001:db8:77::10 / 192.168.77.10) and a second client (::11 / .11); the tests
 * connect from these 127.0.x.y sources and the server's `peerAddress` maps them back.
 */
export const LOOPBACK_PEERS: Record<string, string> = {
  '127.0.4.10': CONSOLE_A.v4,
  '127.0.4.11': CONSOLE_B.v4,
  '127.0.4.42': PLUG.v4,
  '127.0.6.10': CONSOLE_A.v6,
  '127.0.6.11': CONSOLE_B.v6,
  '127.0.6.42': PLUG.v6,
};

/** The loopback source that stands for `labAddress`. */
export function sourceFor(labAddress: string): string {
  const hit = Object.entries(LOOPBACK_PEERS).find(([, lab]) => lab === labAddress);
  if (!hit) throw new Error(`no loopback source for ${labAddress}`);
  return hit[0];
}

export const mapLoopbackPeer = (socket: net.Socket): string | undefined => {
  const remote = unmappedAddress(socket.remoteAddress ?? '') ?? '';
  return LOOPBACK_PEERS[remote] ?? socket.remoteAddress;
};

export interface LabEngine {
  engine: PolicyEngine;
  scheduler: VirtualTimeScheduler;
  deviceIdOf: (address: string) => string | undefined;
}

/** An engine that knows the gateway, two consoles and (optionally) a Matter plug. */
export function labEngine(withPlug = true): LabEngine {
  const scheduler = new VirtualTimeScheduler();
  const engine = createPolicyEngine({ scheduler });
  engine.submit({ type: 'gateway-seen', gatewayId: 'self', bootId: '1' });
  const devices = [CONSOLE_A, CONSOLE_B, ...(withPlug ? [PLUG] : [])];
  for (const d of devices) {
    engine.submit({
      type: 'device-seen',
      deviceId: d.id,
      kinds: [d === PLUG ? { kind: 'matter', evidence: 'mdns:_matter._tcp' } : { kind: 'game-console', evidence: 'dhcp-vendor-class' }],
      addresses: [{ address: d.v6 }, { address: d.v4 }],
    });
  }
  const byAddress = new Map(devices.flatMap((d) => [[d.v4, d.id], [d.v6, d.id]] as Array<[string, string]>));
  return { engine, scheduler, deviceIdOf: (a) => byAddress.get(a) };
}

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
  errorCode?: number;
}

export function parseRawResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const head = (split >= 0 ? text.slice(0, split) : text).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const body = split >= 0 ? text.slice(split + 4) : '';
  const code = /<errorCode>(\d+)<\/errorCode>/.exec(body)?.[1];
  return { status, headers, body, ...(code !== undefined ? { errorCode: Number(code) } : {}) };
}

/** Sends raw bytes and collects everything until the server closes (or `timeoutMs`). */
export function exchange(port: number, bytes: Buffer | string, options: { host?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    }, options.timeoutMs ?? 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('connect', () => socket.end(bytes));
  });
}

/** A SOAP POST with `Connection: close`. */
export function soapRequest(path: string, serviceType: string, action: string, args: Array<[string, string | number]>): string {
  const inner = args.map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  const body = `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${serviceType}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset="utf-8"\r\nSOAPAction: "${serviceType}#${action}"\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
