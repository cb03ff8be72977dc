/**
 * PCP (RFC 6887) and NAT-PMP (RFC 6886): one codec for both directions, a
 * PCP client that keeps mappings alive (renewal, epoch, THIRD_PARTY), a
 * NAT-PMP client, and the UDP transport they run on.
 *
 * @example
 * ```ts
 * import { openUdpPcpTransport, PcpClient } from './adapters/pcp';
 * const client = new PcpClient({ transport: await openUdpPcpTransport({ localAddress: '192.168.77.10', serverAddress: '192.168.77.1' }) });
 * const mapping = await client.map({ protocol: 'udp', internalPort: 40031, lifetimeSeconds: 120 });
 * ```
 */
export * from './pcp-message';
export * from './pcp-result-codes';
export * from './pcp-errors';
export * from './pcp-address';
export * from './pcp-codec';
export * from './natpmp-codec';
export * from './pcp-epoch';
export * from './pcp-retransmission';
export * from './long-delay';
export * from './pcp-transport';
export * from './pcp-transaction';
export * from './pcp-mapping';
export * from './pcp-client';
export * from './udp-pcp-transport';
export * from './natpmp-client';
export * from './ipv4-mapping-fallback';
