/**
 * The PCP / NAT-PMP decoders as fuzz targets, for the unit run
 * (`pcp-codec.test.ts`, `natpmp-codec.test.ts`) and for a fuzz harness: each
 * target decodes arbitrary bytes and may only fail with `PcpParseError`; its
 * seeds are the captured miniupnpd 2.3.1 messages of its kind.
 *
 * @example
 * ```ts
 * for (const t of pcpFuzzTargets()) fc.assert(fc.property(fc.uint8Array(), (b) => t.run(b)));
 * ```
 */
import { decodeNatPmpRequest, decodeNatPmpResponse, decodePcpRequest, decodePcpResponse, PcpParseError } from '../../../adapters/pcp';
import { listReference, readReference } from '../../support/reference-fixtures';

export interface PcpFuzzTarget {
  readonly name: string;
  /** Captured inputs to start from. */
  readonly seeds: readonly Buffer[];
  /** Decodes `bytes`; throws only when the decoder fails with anything but a PcpParseError. */
  run(bytes: Uint8Array): void;
}

function target(name: string, decode: (b: Uint8Array) => unknown, seeds: Buffer[]): PcpFuzzTarget {
  return {
    name,
    seeds,
    run: (bytes) => {
      try {
        decode(bytes);
      } catch (error) {
        if (!(error instanceof PcpParseError)) throw error;
      }
    },
  };
}

export function pcpFuzzTargets(): PcpFuzzTarget[] {
  const captures = listReference('pcp');
  const of = (suffix: string) => captures.filter((n) => n.endsWith(suffix)).map((n) => readReference('pcp', n));
  return [
    target('pcp-request', decodePcpRequest, of('.request.bin')),
    target('pcp-response', decodePcpResponse, of('.response.bin')),
    target('natpmp-request', decodeNatPmpRequest, [Buffer.from('0000', 'hex'), Buffer.from('000100009c689c6900000078', 'hex')]),
    target('natpmp-response', decodeNatPmpResponse, [Buffer.from('008000000000002ac6336401', 'hex'), Buffer.from('008100000000002b9c689c6800000078', 'hex'), ...of('malformed-61-bytes.response.bin')]),
  ];
}
