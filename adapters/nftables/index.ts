/**
 * The nftables adapter: the router's own firewall as the enforcement point of
 * gateway mode. Pinholes and port mappings are elements with per-element
 * timeouts in a table of our own (`inet homenet`); permitted packets get a
 * mark the host's default-deny forward chain accepts (see
 * {@link hostAcceptRule}).
 *
 * @example
 * ```ts
 * import { createNftablesAdapter } from './adapters/nftables';
 * const fw = createNftablesAdapter({ wanInterfaces: ['wan0'] });
 * await fw.install();
 * await fw.apply(actions);                 // engine actions, one transaction
 * await fw.reconcile(desiredFromJournal);  // at start and on demand
 * ```
 */
export { createNftablesAdapter } from './nftables-adapter';
export type { NftablesAdapter, NftablesAdapterOptions, ApplyReport, ReconcileReport } from './nftables-adapter';
export { desiredEntryOf, entryFromAction, normalizeEntry } from './firewall-entry';
export type { FirewallEntry, DesiredEntry, ActualEntry } from './firewall-entry';
export { NftCommandError, NftInvalidEntryError, NftParseError } from './nft-errors';
export { parseTableJson } from './nft-json';
export type { TableContents } from './nft-json';
export { nftRunner } from './nft-runner';
export type { NftRunner, NftResult, NftRunnerOptions } from './nft-runner';
export { planReconcile, timingOf } from './reconcile-plan';
export type { ReconcilePlan, ElementTiming } from './reconcile-plan';
export { ELEMENT_SETS, elementId, hostAcceptRule, installScript, resolveLayout } from './table-layout';
export type { TableLayoutOptions, ResolvedLayout, ElementSet } from './table-layout';
