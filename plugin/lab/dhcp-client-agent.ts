/**
 * An RFC 8925 client for the lab's console: `node dhcp-client-agent.js IFACE INTERVAL_MS`
 * sends a DHCPDISCOVER asking for option 108 (broadcast flag set) every
 * interval and prints one JSON line per OFFER:
 * `{"event":"offer","at":...,"v6OnlyWait":1800,"yourAddress":"192.168.77.1xx"}`.
 * It never takes an IPv4 lease: an offer with option 108 means "stay IPv6-only".
 *
 * @example
 * ```sh
 * ip netns exec m1-console node dist/plugin/lab/dhcp-client-agent.js eth0 3000
 * ```
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeDhcpMessage, DHCP_OPTION_V6ONLY, DhcpMessageType, encodeDhcpDiscover } from '../../adapters/observe/dhcpv4-message';

function main(): void {
  const [iface = 'eth0', interval = '3000'] = process.argv.slice(2);
  const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  let xid = Math.floor(Math.random() * 0xffffffff);
  socket.on('message', (msg) => {
    try {
      const m = decodeDhcpMessage(new Uint8Array(msg));
      if (m.op !== 2 || m.xid !== xid || m.messageType !== DhcpMessageType.OFFER) return;
      process.stdout.write(`${JSON.stringify({ event: 'offer', at: Date.now(), v6OnlyWait: m.v6OnlyWait ?? null, yourAddress: m.yourAddress })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ event: 'bad-reply', error: (error as Error).message })}\n`);
    }
  });
  socket.bind(68, '0.0.0.0', () => {
    socket.setBroadcast(true);
    const send = () => {
      xid = (xid + 1) >>> 0;
      socket.send(encodeDhcpDiscover({ mac, xid, requested: [1, 3, 6, DHCP_OPTION_V6ONLY] }), 67, '255.255.255.255');
    };
    send();
    setInterval(send, Number(interval));
  });
}

main();
