import { createSocket, Socket } from 'node:dgram';
import { decodePcpRequest, encodePcpResponse, openUdpPcpTransport, PcpClient, PcpRequest, PcpRequestError } from '../../../adapters/pcp';

/** A PCP server on loopback built on our codec: grants every MAP. */
async function loopbackServer(): Promise<{ socket: Socket; port: number; seen: { from: string; request: PcpRequest }[] }> {
  const socket = createSocket('udp4');
  const seen: { from: string; request: PcpRequest }[] = [];
  socket.on('message', (m, r) => {
    const request = decodePcpRequest(m);
    seen.push({ from: r.address, request });
    if (request.opcode !== 'map') return;
    const answer = encodePcpResponse({ opcode: 'map', resultCode: 0, lifetime: request.lifetime, epoch: 42, options: [], mapping: { ...request.mapping, externalAddress: '198.51.100.1' } });
    socket.send(answer, r.port, r.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: (socket.address()).port, seen };
}

describe('openUdpPcpTransport (real sockets on loopback)', () => {
  it('sends from the given address and delivers the answer to the client', async () => {
    const server = await loopbackServer();
    const transport = await openUdpPcpTransport({ localAddress: '127.0.0.1', serverAddress: '127.0.0.1', serverPort: server.port, announcements: false });
    const client = new PcpClient({ transport });
    try {
      const mapping = await client.map({ protocol: 'tcp', internalPort: 8080, lifetimeSeconds: 60 });
      expect(mapping.state).toMatchObject({ externalAddress: '198.51.100.1', externalPort: 0, lifetime: 60, epoch: 42 });
      expect(server.seen).toEqual([{ from: '127.0.0.1', request: expect.objectContaining({ opcode: 'map', clientAddress: '127.0.0.1' }) }]);
    } finally {
      client.close();
      await transport.close();
      server.socket.close();
    }
  });

  it('refuses an address this host does not have, and mixed families, with a clear error', async () => {
    await expect(openUdpPcpTransport({ localAddress: '192.0.2.55', serverAddress: '192.0.2.1', announcements: false })).rejects.toThrow(/cannot send from 192\.0\.2\.55: .*is it one of this host's addresses/);
    await expect(openUdpPcpTransport({ localAddress: '127.0.0.1', serverAddress: '::1' })).rejects.toBeInstanceOf(PcpRequestError);
    await expect(openUdpPcpTransport({ localAddress: 'console', serverAddress: '::1' })).rejects.toThrow(/'console' is not an IP address/);
  });
});
