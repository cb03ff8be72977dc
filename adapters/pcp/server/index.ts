/**
 * The gateway side of PCP and NAT-PMP: the listener (codec, limits, who asks),
 * its answer table, the decider it asks, and the UDP sockets it runs on.
 *
 * @example
 * ```ts
 * import { PcpListener } from './adapters/pcp/server';
 * const listener = new PcpListener({ decider, controllers: [], now: Date.now });
 * ```
 */
export * from './pcp-answer-table';
export * from './pcp-decider';
export * from './pcp-listener';
export * from './source-rate-limit';
export * from './udp-pcp-server';
