import { Observable } from 'rxjs';
import { canonicalAddress } from '../../policies/model/address';
import { HelperRestart, runHelper } from './helper-runner';

/** One ICMPv6 router advertisement as it arrived. */
export interface CapturedRa {
  /** Source address (link-local for a valid RA), zone removed. */
  readonly from: string;
  /** IPv6 hop limit it arrived with (255 for a valid RA, RFC 4861 §6.1.2). */
  readonly hopLimit: number;
  /** The ICMPv6 message from its type byte. */
  readonly message: Uint8Array;
  /** Milliseconds since the epoch when the helper got it. */
  readonly at: number;
}

/**
 * Parses one line of the capture helper (`helpers/ra_capture.py`:
 * `<unix ms> <source> <hop limit> <hex>`); `undefined` for anything else
 * (e.g. `ready`). The source comes back in canonical form.
 */
export function parseCaptureLine(line: string): CapturedRa | undefined {
  const parts = line.trim().split(' ');
  if (parts.length !== 4) return undefined;
  const [at, source, hop, hex] = parts;
  const from = canonicalAddress(source);
  if (!/^\d+$/.test(at) || from === undefined || !/^-?\d+$/.test(hop) || !/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  return { at: Number(at), from, hopLimit: Number(hop), message: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

export interface CaptureRasOptions {
  /** Only RAs arriving on this interface (SO_BINDTODEVICE); default: all. */
  readonly interfaceName?: string;
  /** The Python 3 interpreter (default `/usr/bin/python3`, Debian's, then `python3`). */
  readonly python?: string;
  /** Start the helper again when it dies (default: its exit is an error). */
  readonly restart?: HelperRestart;
}

/**
 * Router advertisements arriving on this host, from a raw ICMPv6 socket
 * (needs CAP_NET_RAW), through the capture helper `helpers/ra_capture.py`
 * run by the helper runner: it dies with this process. Errors when the
 * helper cannot start, or dies with no restart left.
 *
 * @example
 * ```ts
 * captureRouterAdvertisements({ interfaceName: 'eth0' }).subscribe((ra) => console.log(ra.from, ra.message.length));
 * ```
 */
export function captureRouterAdvertisements(options: CaptureRasOptions = {}): Observable<CapturedRa> {
  return new Observable<CapturedRa>((subscriber) =>
    runHelper({
      name: `RA capture helper${options.interfaceName ? ` on ${options.interfaceName}` : ''}`,
      script: 'ra_capture.py',
      args: [options.interfaceName ?? ''],
      ...(options.python !== undefined ? { python: options.python } : {}),
      ...(options.restart !== undefined ? { restart: options.restart } : {}),
    }).subscribe({
      next: (line) => {
        const ra = parseCaptureLine(line);
        if (ra) subscriber.next(ra);
      },
      error: (e) => subscriber.error(e),
    }),
  );
}
