// Types for the part of node-ssdp 4 (plain JavaScript, no published types) that
// ssdp-ipv4-transport.ts uses. `sockets`, `_createSockets` and `_send` are internals of
// node-ssdp's base class; the transport needs them to fill gaps node-ssdp leaves (see there).
declare module 'node-ssdp' {
  import { EventEmitter } from 'node:events';
  import type { Socket } from 'node:dgram';

  interface SsdpOptions {
    interfaces?: string[];
    explicitSocketBind?: boolean;
    reuseAddr?: boolean;
    sourcePort?: number;
    ssdpIp?: string;
    ssdpPort?: number;
    ssdpTtl?: number;
    customLogger?: (...args: unknown[]) => void;
  }

  class Client extends EventEmitter {
    constructor(options?: SsdpOptions);
    start(cb?: (err?: Error) => void): Promise<void>;
    stop(): void;
    search(serviceType: string): unknown;
    /** Internal: sockets keyed by local IPv4 address, created by _createSockets(). */
    sockets: Record<string, Socket> | null;
    _createSockets(): void;
    _send(message: Buffer, cb: (err?: Error | null) => void): void;
  }

  export { Client, SsdpOptions };
}
