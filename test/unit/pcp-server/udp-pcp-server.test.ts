// The PCP server's UDP sockets: one per LAN address, answers from the server port, and
// address changes followed by refresh() (a new address gets a socket, a gone one loses it).
import { createSocket } from 'node:dgram';
import { LanAddress, UdpPcpServer } from '../../../adapters/pcp/server';

const PORT = 21_000 + (process.pid % 20_000);

function send(host: string, data: Buffer, timeoutMs = 500): Promise<{ data: Buffer; from: string; port: number } | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on('message', (answer, rinfo) => {
      clearTimeout(timer);
      socket.close();
      resolve({ data: answer, from: rinfo.address, port: rinfo.port });
    });
    socket.send(data, PORT, host);
  });
}

describe('UdpPcpServer', () => {
  it('answers from the address and port it was asked on, and follows address changes', async () => {
    let addresses: LanAddress[] = [{ address: '127.0.0.1' }];
    const seen: string[] = [];
    const server = new UdpPcpServer({
      addresses: () => addresses,
      port: PORT,
      onDatagram: async (data, from) => {
        seen.push(from);
        return Buffer.concat([Buffer.from('re:'), data]);
      },
    });
    try {
      expect(await server.refresh()).toEqual([]);
      expect(server.boundAddresses()).toEqual(['127.0.0.1']);
      const first = await send('127.0.0.1', Buffer.from('a'));
      expect(first).toMatchObject({ from: '127.0.0.1', port: PORT });
      expect(first?.data.toString()).toBe('re:a');
      expect(await send('127.0.0.2', Buffer.from('b'))).toBeUndefined();
      addresses = [{ address: '127.0.0.2' }];
      await server.refresh();
      expect(server.boundAddresses()).toEqual(['127.0.0.2']);
      expect((await send('127.0.0.2', Buffer.from('c')))?.from).toBe('127.0.0.2');
      expect(await send('127.0.0.1', Buffer.from('d'))).toBeUndefined();
      expect(seen).toEqual(['127.0.0.1', '127.0.0.1']);
    } finally {
      await server.close();
    }
  });

  it('an address that cannot be bound is reported, the others still served', async () => {
    const server = new UdpPcpServer({ addresses: () => [{ address: '127.0.0.1' }, { address: '192.0.2.250' }], port: PORT + 1, onDatagram: async () => undefined });
    try {
      const errors = await server.refresh();
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('192.0.2.250')]);
      expect(server.boundAddresses()).toEqual(['127.0.0.1']);
    } finally {
      await server.close();
    }
  });
});
