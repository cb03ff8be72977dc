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
}

export const DEFAULT_CONFIG: PolicyConfig = {
  leaseCapSeconds: { 'game-session': 7200, voice: 3600, service: 86400, admin: 86400 },
  renewAtFraction: 0.4,
  classRank: { admin: 3, voice: 2, 'game-session': 1, service: 0 },
  minExternalPort: 1024,
};

/** Merges a partial config over the defaults and checks it. */
export function resolveConfig(partial: Partial<PolicyConfig> = {}): PolicyConfig {
  const config: PolicyConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    leaseCapSeconds: { ...DEFAULT_CONFIG.leaseCapSeconds, ...(partial.leaseCapSeconds ?? {}) },
    classRank: { ...DEFAULT_CONFIG.classRank, ...(partial.classRank ?? {}) },
  };
  if (!(config.renewAtFraction > 0 && config.renewAtFraction < 0.5)) {
    throw new RangeError(`renewAtFraction must be in (0, 0.5), got ${config.renewAtFraction}`);
  }
  for (const [cls, cap] of Object.entries(config.leaseCapSeconds)) {
    if (!(Number.isInteger(cap) && cap >= 2 && cap <= 86400)) {
      throw new RangeError(`leaseCapSeconds.${cls} must be an integer in 2..86400, got ${cap}`);
    }
  }
  return config;
}
