import { NeedClass } from './need';

/** Engine configuration. Every field has a default. */
export interface PolicyConfig {
  /** Lease cap per class, seconds (<= 86400, the IGD maximum). */
  leaseCapSeconds: Record<NeedClass, number>;
  /** Renew when this fraction of the lease has passed; must be < 0.5. */
  renewAtFraction: number;
  /** Class ranks for capacity and port conflicts: higher wins. */
  classRank: Record<NeedClass, number>;
  /** The gateway used when a need names none (else the first gateway seen). */
  defaultGatewayId?: string;
  /** Lowest external port handed out when the wished one is taken. */
  minExternalPort: number;
  /**
   * Most live needs one requester address may hold at once (the client-limit
   * rule); absent = no limit. A gateway sets it (`leases.maxPerClient`).
   */
  maxNeedsPerRequester?: number;
}

/**
 * What a caller may pass: any field, and any subset of the per-class tables
 * (the rest keep their defaults).
 */
export type PolicyConfigInput = Partial<Omit<PolicyConfig, 'leaseCapSeconds' | 'classRank'>> & {
  leaseCapSeconds?: Partial<Record<NeedClass, number>>;
  classRank?: Partial<Record<NeedClass, number>>;
};

export const DEFAULT_CONFIG: PolicyConfig = {
  leaseCapSeconds: { 'game-session': 7200, voice: 3600, service: 86400, admin: 86400 },
  renewAtFraction: 0.4,
  classRank: { admin: 3, voice: 2, 'game-session': 1, service: 0 },
  minExternalPort: 1024,
};

/** Merges a partial config over the defaults and checks it. */
export function resolveConfig(partial: PolicyConfigInput = {}): PolicyConfig {
  const config: PolicyConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    leaseCapSeconds: { ...DEFAULT_CONFIG.leaseCapSeconds, ...(partial.leaseCapSeconds ?? {}) },
    classRank: { ...DEFAULT_CONFIG.classRank, ...(partial.classRank ?? {}) },
  };
  if (!(config.renewAtFraction > 0 && config.renewAtFraction < 0.5)) {
    throw new RangeError(`renewAtFraction must be in (0, 0.5), got ${config.renewAtFraction}`);
  }
  const perRequester = config.maxNeedsPerRequester;
  if (perRequester !== undefined && !(Number.isInteger(perRequester) && perRequester >= 1)) {
    throw new RangeError(`maxNeedsPerRequester must be an integer >= 1, got ${perRequester}`);
  }
  for (const [cls, cap] of Object.entries(config.leaseCapSeconds)) {
    if (!(Number.isInteger(cap) && cap >= 2 && cap <= 86400)) {
      throw new RangeError(`leaseCapSeconds.${cls} must be an integer in 2..86400, got ${cap}`);
    }
  }
  return config;
}
