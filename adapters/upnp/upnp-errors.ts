/**
 * The typed errors the UPnP adapter rejects with. Every failure the adapter can meet
 * (a hostile datagram, a router that never answers, garbage XML, a rogue LOCATION,
 * a bad argument) surfaces as one of these classes, so callers can `instanceof` them
 * and never see a raw `TypeError` or a parser's exception. A router's own refusal is
 * an {@link UpnpFault} (see `upnp-fault.ts`), which also extends {@link UpnpError}.
 *
 * @example
 * ```ts
 * try { await discoverGateway({ timeoutMs: 1000 }); }
 * catch (e) { if (e instanceof UpnpTimeoutError) console.log('no router answered'); }
 * ```
 */
export abstract class UpnpError extends Error {
  /** A stable machine-readable kind: 'protocol', 'timeout', 'aborted', 'network', 'input', 'ssdp-parse', 'rogue-location', 'description' or 'fault'. */
  abstract readonly kind: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The peer answered, but not with something this client can accept (bad status, bad XML, oversized body, a redirect...). */
export class UpnpProtocolError extends UpnpError {
  readonly kind = 'protocol';
  /** HTTP status when the error came from an HTTP exchange. */
  readonly httpStatus?: number;

  constructor(message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(message, options);
    if (options?.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }
}

/** Nothing (or not enough) arrived in time. `phase` says what was being waited for. */
export class UpnpTimeoutError extends UpnpError {
  readonly kind = 'timeout';

  constructor(
    message: string,
    readonly phase: 'connect' | 'response' | 'discovery',
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** The caller's AbortSignal fired. */
export class UpnpAbortError extends UpnpError {
  readonly kind = 'aborted';

  constructor(message = 'The UPnP operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A connection-level failure (refused, reset, unreachable, cannot bind the local address). */
export class UpnpNetworkError extends UpnpError {
  readonly kind = 'network';
  /** The system error code (ECONNREFUSED, EADDRNOTAVAIL, ...) when there is one. */
  readonly systemCode?: string;

  constructor(message: string, options?: { cause?: unknown; systemCode?: string }) {
    super(message, options);
    if (options?.systemCode !== undefined) this.systemCode = options.systemCode;
  }
}

/** A request argument was refused before anything was sent (the spec forbids it). */
export class UpnpInputError extends UpnpError {
  readonly kind = 'input';

  constructor(message: string, readonly argument: string) {
    super(message);
  }
}

/** An SSDP datagram that is not a well-formed SSDP message. */
export class SsdpParseError extends UpnpError {
  readonly kind = 'ssdp-parse';
}

/**
 * A LOCATION that names a host other than the one that answered (and, over IPv6, not on
 * the link the answer arrived on): a possible rogue device pointing us elsewhere.
 */
export class RogueLocationError extends UpnpError {
  readonly kind = 'rogue-location';

  constructor(message: string, readonly location: string, readonly remoteAddress: string) {
    super(message);
  }
}

/** A device description that is not a usable Internet Gateway Device. */
export class UpnpDescriptionError extends UpnpError {
  readonly kind = 'description';
}

/** Turns an AbortSignal's state into an {@link UpnpAbortError} (or undefined when not aborted). */
export function abortErrorOf(signal: AbortSignal | undefined): UpnpAbortError | undefined {
  if (!signal?.aborted) return undefined;
  return new UpnpAbortError(undefined, { cause: signal.reason });
}

/** Short text of any thrown value, for diagnostics. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
