/**
 * The two ends of a reachability probe, run inside lab namespaces as
 * `node probe-agent.js listen|send ...`. The listener prints `ready`, then one
 * JSON line for the first datagram or connection it gets, and exits 0; it exits
 * 3 when nothing arrives in time, 4 when it cannot listen. The sender prints `sent` once its first
 * datagram (or SYN) is out and keeps trying (a datagram or a TCP connect every
 * 100 ms) until it is killed or its time runs out.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

type Protocol = 'udp' | 'tcp';

function listen(protocol: Protocol, family: 4 | 6, port: number, timeoutMs: number): void {
  const host = family === 6 ? '::' : '0.0.0.0';
  const done = (from: string) => {
    process.stdout.write(`${JSON.stringify({ from })}\n`);
    process.exit(0);
  };
  // A listener that cannot listen must not look like a dropped packet: exit 4 with the reason.
  const cannotListen = (error: Error) => {
    process.stderr.write(`cannot listen on ${protocol} port ${port}: ${error.message}\n`);
    process.exit(4);
  };
  setTimeout(() => process.exit(3), timeoutMs).unref();
  if (protocol === 'udp') {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
    socket.on('error', cannotListen);
    socket.on('message', (_msg, rinfo) => done(rinfo.address));
    socket.bind(port, host, () => process.stdout.write('ready\n'));
  } else {
    const server = createServer((sock) => done(sock.remoteAddress ?? '?'));
    server.on('error', cannotListen);
    server.listen({ port, host, ipv6Only: family === 6 }, () => process.stdout.write('ready\n'));
  }
  setInterval(() => undefined, 1000);
}

function send(protocol: Protocol, family: 4 | 6, address: string, port: number, timeoutMs: number): void {
  setTimeout(() => process.exit(0), timeoutMs).unref();
  if (protocol === 'udp') {
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    let n = 0;
    let announced = false;
    const tick = () =>
      socket.send(`probe-${n++}`, port, address, () => {
        if (!announced) process.stdout.write('sent\n'); // the prober's window starts now
        announced = true;
      });
    tick();
    setInterval(tick, 100);
  } else {
    const attempt = () => {
      const sock = connect({ host: address, port, timeout: 90 });
      sock.on('connect', () => {
        sock.end();
        process.exit(0);
      });
      sock.on('timeout', () => sock.destroy());
      sock.on('error', () => undefined);
    };
    attempt();
    process.stdout.write('sent\n'); // the first SYN is on its way: the prober's window starts now
    setInterval(attempt, 100);
  }
}

function main(argv: string[]): void {
  const [mode, protocol, family, ...rest] = argv;
  if ((protocol !== 'udp' && protocol !== 'tcp') || (family !== '4' && family !== '6')) {
    process.stderr.write('usage: probe-agent listen udp|tcp 4|6 PORT TIMEOUT_MS | send udp|tcp 4|6 ADDRESS PORT TIMEOUT_MS\n');
    process.exit(2);
  }
  const fam = family === '6' ? 6 : 4;
  if (mode === 'listen') listen(protocol, fam, Number(rest[0]), Number(rest[1]));
  else if (mode === 'send') send(protocol, fam, rest[0], Number(rest[1]), Number(rest[2]));
  else process.exit(2);
}

main(process.argv.slice(2));
