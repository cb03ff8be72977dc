/**
 * IPv4 port mapping with PCP first and NAT-PMP when the router only speaks
 * NAT-PMP (it answers PCP with version 0 UNSUPP_VERSION, RFC 6887 section 9):
 * the one place the client downgrades. Both clients may share one transport.
 *
 * @example
 * ```ts
 * const transport = await openUdpPcpTransport({ localAddress: '192.168.77.10', serverAddress: '192.168.77.1' });
 * const r = await mapIpv4WithFallback(new PcpClient({ transport }), new NatPmpClient({ transport }),
 *   { protocol: 'udp', internalPort: 3074, lifetimeSeconds: 3600 });
 * console.log(r.protocol, r.externalPort);
 * ```
 */
import { NatPmpClient, NatPmpMapping } from './natpmp-client';
import { PcpClient } from './pcp-client';
import { PcpUnsupportedVersionError } from './pcp-errors';
import { PcpMapping } from './pcp-mapping';

export type Ipv4MappingResult =
  | { readonly protocol: 'pcp'; readonly externalPort: number; readonly mapping: PcpMapping }
  | { readonly protocol: 'natpmp'; readonly externalPort: number; readonly mapping: NatPmpMapping };

/** Maps with PCP; on a NAT-PMP-only router, with NAT-PMP. Other errors are thrown as they are. */
export async function mapIpv4WithFallback(
  pcp: PcpClient,
  natpmp: NatPmpClient,
  request: { readonly protocol: 'udp' | 'tcp'; readonly internalPort: number; readonly lifetimeSeconds: number; readonly suggestedExternalPort?: number },
): Promise<Ipv4MappingResult> {
  try {
    const mapping = await pcp.map(request);
    return { protocol: 'pcp', externalPort: mapping.state.externalPort, mapping };
  } catch (error) {
    if (!(error instanceof PcpUnsupportedVersionError)) throw error;
    const mapping = await natpmp.map(request);
    return { protocol: 'natpmp', externalPort: mapping.externalPort, mapping };
  }
}
