/**
 * What the home's router offers the hub over PCP, so the hub can pick how it
 * applies needs: PCP THIRD_PARTY when the router allows it, otherwise
 * coordination (agents apply the hub's settled parameters themselves).
 *
 * The probe sends an ANNOUNCE (does the router speak PCP, which version, its
 * epoch), then — when given another LAN host's address — one short THIRD_PARTY
 * MAP for that host on a high UDP port, deleted at once when it is granted.
 * Result codes as Debian's miniupnpd 2.3.1 answers them (captured in the lab):
 * THIRD_PARTY with `pcp_allow_thirdparty` off → UNSUPP_OPTION (5), reported
 * as `'unsupported'` (the router may well implement it and only have it
 * switched off: the detail says so); NOT_AUTHORIZED (2) → `'not-authorized'`.
 *
 * @example
 * ```ts
 * const client = new PcpClient({ transport: await openUdpPcpTransport({ localAddress: '192.168.77.5', serverAddress: '192.168.77.1' }) });
 * const offer = await probeRouterPcp({ client, thirdPartyFor: '192.168.77.10' });
 * // { pcp: true, thirdParty: 'allowed', version: 2, epoch: 120, detail: '...' }
 * ```
 */
import { PcpClient, PcpResultError, PcpTimeoutError, PcpUnsupportedVersionError } from '../../adapters/pcp';

export type RouterThirdParty = 'allowed' | 'not-authorized' | 'unsupported' | 'unknown';

export interface RouterPcpOffer {
  /** The router answers PCP (version 2). */
  readonly pcp: boolean;
  readonly thirdParty: RouterThirdParty;
  /** PCP version the router answered with (2), 0 for a NAT-PMP-only router; absent when nothing answered. */
  readonly version?: number;
  /** The router's epoch (seconds since it last lost its mappings). */
  readonly epoch?: number;
  /** A sentence a person reads: what was asked and what the router said. */
  readonly detail: string;
}

export interface RouterPcpProbeOptions {
  /** A PCP client toward the router, from the hub's address. */
  readonly client: PcpClient;
  /** Another LAN host's address of the client's family to test THIRD_PARTY with; absent: `thirdParty: 'unknown'`. */
  readonly thirdPartyFor?: string;
  /** UDP port of the test mapping (default 65533; inside the ranges routers usually allow). */
  readonly probePort?: number;
}

/** Asks the router what it offers; never throws for the router's answers (only for bad arguments). */
export async function probeRouterPcp(router: RouterPcpProbeOptions): Promise<RouterPcpOffer> {
  const port = router.probePort ?? 65533;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`probePort must be 1..65535, got ${port}`);
  let epoch: number;
  let version: number;
  try {
    const answer = await router.client.announce();
    epoch = answer.epoch;
    version = 2;
  } catch (error) {
    if (error instanceof PcpUnsupportedVersionError) {
      return { pcp: false, thirdParty: 'unsupported', version: error.serverVersion, detail: 'the router answers NAT-PMP only (PCP UNSUPP_VERSION); NAT-PMP has no THIRD_PARTY' };
    }
    if (error instanceof PcpTimeoutError) return { pcp: false, thirdParty: 'unknown', detail: `no PCP answer from the router: ${error.message}` };
    if (error instanceof PcpResultError) {
      // The server answered (with an error result): it speaks PCP.
      return { pcp: true, thirdParty: 'unknown', version: 2, detail: `the router answered ANNOUNCE with ${error.message}` };
    }
    return { pcp: false, thirdParty: 'unknown', detail: `PCP probe failed: ${(error as Error).message}` };
  }
  if (router.thirdPartyFor === undefined) {
    return { pcp: true, thirdParty: 'unknown', version, epoch, detail: 'the router speaks PCP; THIRD_PARTY not tested (no other host address given)' };
  }
  try {
    const mapping = await router.client.map({ protocol: 'udp', internalPort: port, internalAddress: router.thirdPartyFor, lifetimeSeconds: 120 });
    const detail = `THIRD_PARTY MAP udp/${port} for ${router.thirdPartyFor} granted (external port ${mapping.state.externalPort})`;
    await mapping.delete().catch(() => mapping.stop());
    return { pcp: true, thirdParty: 'allowed', version, epoch: mapping.state.epoch, detail: `${detail}, then deleted` };
  } catch (error) {
    if (error instanceof PcpResultError) {
      if (error.resultName === 'NOT_AUTHORIZED') return { pcp: true, thirdParty: 'not-authorized', version, epoch, detail: error.message };
      if (error.resultName === 'UNSUPP_OPTION') {
        return { pcp: true, thirdParty: 'unsupported', version, epoch, detail: `${error.message} (miniupnpd answers this while pcp_allow_thirdparty is off)` };
      }
      return { pcp: true, thirdParty: 'unknown', version, epoch, detail: error.message };
    }
    return { pcp: true, thirdParty: 'unknown', version, epoch, detail: `THIRD_PARTY test failed: ${(error as Error).message}` };
  }
}
