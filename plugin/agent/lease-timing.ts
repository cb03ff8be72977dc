/** The lease bounds each service accepts. */
export const PINHOLE_LEASE_BOUNDS = { min: 1, max: 86_400 } as const;
/** WANIPConnection:2 caps leases at a week (miniupnpd stores 0 and larger values as 604800). */
export const PORT_MAPPING_LEASE_BOUNDS = { min: 1, max: 604_800 } as const;

/** Clamps a wished lease (seconds) to a service's bounds. */
export function clampLease(seconds: number, bounds: { min: number; max: number }): number {
  if (!Number.isFinite(seconds)) return bounds.max;
  return Math.min(bounds.max, Math.max(bounds.min, Math.round(seconds)));
}

/**
 * When to renew a lease of `seconds`, in milliseconds from now: before half of
 * it has run (a little earlier than half, so one lost request still leaves
 * time for a second try before expiry). A permanent lease (0) is never renewed.
 */
export function renewalDelayMs(seconds: number): number | undefined {
  if (seconds <= 0) return undefined;
  return Math.max(250, Math.floor(seconds * 1000 * 0.45));
}
