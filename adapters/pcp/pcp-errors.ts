/**
 * Typed errors of the PCP / NAT-PMP adapter: a datagram that is not a valid
 * message ({@link PcpParseError}), an answer with an error result
 * ({@link PcpResultError}), no answer in time ({@link PcpTimeoutError}), and a
 * server that only speaks NAT-PMP ({@link PcpUnsupportedVersionError}).
 *
 * @example
 * ```ts
 * try { decodePcpResponse(bytes); } catch (e) { if (e instanceof PcpParseError) console.log(e.field, e.offset); }
 * ```
 */
import { pcpResultMeaning, pcpResultName } from './pcp-result-codes';

/** A datagram that is not a valid PCP or NAT-PMP message: says which field and where. */
export class PcpParseError extends Error {
  override readonly name = 'PcpParseError';
  constructor(
    /** The field (or rule) that is wrong, e.g. `version`, `length`, `option 1 length`. */
    readonly field: string,
    /** Byte offset of the wrong field in the datagram. */
    readonly offset: number,
    detail: string,
  ) {
    super(`invalid PCP/NAT-PMP message: ${field} at byte ${offset}: ${detail}`);
  }
}

/** A bad argument given to an encoder or the client (port out of range, nonce not 12 bytes, ...). */
export class PcpRequestError extends Error {
  override readonly name = 'PcpRequestError';
}

/** The server answered with an error result code. */
export class PcpResultError extends Error {
  override readonly name = 'PcpResultError';
  /** The RFC name of the code, e.g. `UNSUPP_OPTION`. */
  readonly resultName: string;
  constructor(
    readonly resultCode: number,
    /** Seconds the server says the error holds. */
    readonly lifetime: number,
    context: string,
    readonly protocol: 'pcp' | 'natpmp' = 'pcp',
  ) {
    const name = protocol === 'pcp' ? pcpResultName(resultCode) : `NAT-PMP result ${resultCode}`;
    super(`${context}: ${name} (${resultCode}): ${protocol === 'pcp' ? pcpResultMeaning(resultCode) : 'refused by the NAT-PMP server'}`);
    this.resultName = name;
  }
}

/** No valid answer came within the client's give-up time. */
export class PcpTimeoutError extends Error {
  override readonly name = 'PcpTimeoutError';
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly waitedMs: number,
  ) {
    super(`${what}: no answer from the PCP server after ${attempts} transmissions in ${waitedMs} ms`);
  }
}

/**
 * The server answered a PCP request with a version-0 (NAT-PMP) UNSUPP_VERSION:
 * it only speaks NAT-PMP, so the caller should use the NAT-PMP client.
 */
export class PcpUnsupportedVersionError extends Error {
  override readonly name = 'PcpUnsupportedVersionError';
  constructor(readonly serverVersion: number) {
    super(`the server does not speak PCP version 2 (it answered version ${serverVersion}): use NAT-PMP`);
  }
}
