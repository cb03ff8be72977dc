import { isWildcardAddress } from '../model/address';
import { NeedClass } from '../model/need';
import { Reason, reason } from '../model/reason';

const POLICY = (id: string) => ({ kind: 'policy' as const, id });

/** The fields of a request the hygiene rule looks at (before normalisation). */
export interface HygieneInput {
  protocol: string;
  internalPort: number;
  externalPort?: number;
  remotePort?: number;
  /** `null` when the request named an InternalClient that is not an address literal. */
  internalClient?: string | null;
  class: NeedClass;
}

/** Canonical protocol name, or `undefined` for anything but TCP and UDP. */
export function normaliseProtocol(protocol: string): 'udp' | 'tcp' | undefined {
  const p = String(protocol).toLowerCase();
  if (p === 'udp' || p === '17') return 'udp';
  if (p === 'tcp' || p === '6') return 'tcp';
  return undefined;
}

function isPort(n: unknown, allowZero: boolean): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n <= 65535 && (allowZero ? n >= 0 : n >= 1);
}

/**
 * Rule 3, port hygiene: TCP/UDP only (705/707 otherwise), no wildcard internal
 * client (708) or port (706), internal port >= 1024 unless admin (606).
 *
 * @returns a denial reason naming the policy that was broken, or `undefined`.
 */
export function checkPortHygiene(input: HygieneInput): Reason | undefined {
  if (normaliseProtocol(input.protocol) === undefined) {
    return reason('port-hygiene', 'protocol-not-allowed', {
      conflictsWith: POLICY('protocol-tcp-or-udp'),
      detail: `protocol ${String(input.protocol)} is not TCP or UDP`,
    });
  }
  if (input.internalClient === null || (input.internalClient !== undefined && isWildcardAddress(input.internalClient))) {
    return reason('port-hygiene', 'wildcard-internal-client', {
      conflictsWith: POLICY('literal-internal-client'),
      detail: 'InternalClient must be a literal address of the host',
    });
  }
  if (input.internalPort === 0) {
    return reason('port-hygiene', 'wildcard-internal-port', {
      conflictsWith: POLICY('no-port-wildcard'),
      detail: 'InternalPort 0 (any) is not allowed',
    });
  }
  if (!isPort(input.internalPort, false) || (input.externalPort !== undefined && !isPort(input.externalPort, true)) ||
      (input.remotePort !== undefined && !isPort(input.remotePort, true))) {
    return reason('port-hygiene', 'invalid-port', {
      conflictsWith: POLICY('port-range'),
      detail: 'ports must be integers in 1..65535 (0 = any for external and remote ports)',
    });
  }
  if (input.internalPort < 1024 && input.class !== 'admin') {
    return reason('port-hygiene', 'privileged-internal-port', {
      conflictsWith: POLICY('internal-port>=1024'),
      detail: `internal port ${input.internalPort} < 1024 needs the admin class`,
    });
  }
  return undefined;
}
