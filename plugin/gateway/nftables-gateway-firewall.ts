/**
 * The router's nftables table as the daemon's {@link GatewayFirewall}: the
 * nftables adapter (`adapters/nftables/`) with the table and WAN interface
 * from the configuration. Its table never drops anything: it marks what it
 * permits, and the host's default-deny forward chain must accept marked
 * packets (`hostAcceptRule()`), as the lab's router firewall does when its
 * router is homenet.
 *
 * @example
 * ```ts
 * const fw = nftablesGatewayFirewall(config, Date.now);
 * await fw.prepare();
 * await fw.reconcile(desired);
 * ```
 */
import { createNftablesAdapter, NftablesAdapter, NftablesAdapterOptions } from '../../adapters/nftables';
import { GatewayConfig } from './gateway-config';
import { GatewayFirewall } from './gateway-firewall';

export function nftablesGatewayFirewall(config: GatewayConfig, now: () => number, extra: Partial<NftablesAdapterOptions> = {}): GatewayFirewall & { readonly adapter: NftablesAdapter } {
  const adapter = createNftablesAdapter({ table: config.firewall.table, wanInterfaces: [config.wan.interface], clock: now, ...extra });
  return {
    adapter,
    prepare: () => adapter.install(),
    async apply(actions) {
      await adapter.apply(actions);
    },
    async list() {
      return [...(await adapter.read()).entries];
    },
    async reconcile(desired) {
      const { plan } = await adapter.reconcile(desired);
      return { added: plan.add.length, removed: plan.remove.length, corrected: plan.correct.length, unchanged: plan.unchanged };
    },
    async close() {},
  };
}
