import { PolicyConfig } from '../model/config';
import { Change } from '../model/decision';
import { Family } from '../model/address';
import { NeedClass } from '../model/need';
import { Reason, reason } from '../model/reason';

export interface LeaseTerms {
  readonly leaseSeconds: number;
  readonly leaseStartedAt: number;
  readonly expiresAt: number;
  readonly renewAt: number;
}

/** When to renew a lease started at `startedAt`: strictly before half of it. */
export function renewalTime(startedAt: number, leaseSeconds: number, fraction: number): number {
  const half = (leaseSeconds * 1000) / 2;
  const at = Math.floor(leaseSeconds * 1000 * fraction);
  return startedAt + Math.min(at, Math.ceil(half) - 1);
}

/** The lease a need gets: what it wanted, capped by its class (0/absent = the cap). */
export function leaseSecondsFor(wanted: number, cls: NeedClass, config: PolicyConfig): number {
  const cap = config.leaseCapSeconds[cls];
  return wanted > 0 ? Math.min(Math.floor(wanted), cap) : cap;
}

/**
 * Rule 6, leases: a cap per class, renewal before half of the lease. Returns
 * the terms of a lease starting `now`, and the change/reason when the cap
 * shortened what was asked for.
 */
export function leaseTerms(
  wanted: number,
  cls: NeedClass,
  family: Family,
  config: PolicyConfig,
  now: number,
): { terms: LeaseTerms; change?: Change; reason?: Reason } {
  const leaseSeconds = leaseSecondsFor(wanted, cls, config);
  const terms: LeaseTerms = {
    leaseSeconds,
    leaseStartedAt: now,
    expiresAt: now + leaseSeconds * 1000,
    renewAt: renewalTime(now, leaseSeconds, config.renewAtFraction),
  };
  if (wanted > leaseSeconds) {
    return {
      terms,
      change: { field: 'leaseSeconds', family, wanted, got: leaseSeconds },
      reason: reason('lease-policy', 'lease-capped', {
        family,
        detail: `${cls} leases are capped at ${leaseSeconds} s`,
      }),
    };
  }
  return { terms };
}

/** Why a need's grants are withdrawn (same virtual tick as the cause). */
export type WithdrawalCause = 'session-ended' | 'need-released' | 'device-left' | 'address-deprecated';

export function withdrawalReason(cause: WithdrawalCause, detail?: string): Reason {
  return reason('lease-policy', cause, detail !== undefined ? { detail } : undefined);
}

/** The reason carried by a renewal action. */
export function renewalReason(leaseSeconds: number): Reason {
  return reason('lease-policy', 'renewal-due', { detail: `renewing a ${leaseSeconds} s lease before half-life` });
}
