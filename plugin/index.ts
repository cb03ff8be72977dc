/**
 * homenet-controller's root entry (`homenet-controller`): the agent's
 * port-opening API ({@link openPort}, {@link closePort} and their types) and
 * the policy engine's constructor with its main types. The narrower entries
 * load less: `homenet-controller/agent` (port opening only),
 * `homenet-controller/policies` (the pure engine and its whole model) and
 * `homenet-controller/gateway` (gateway mode's daemon and config).
 *
 * @example
 * ```ts
 * import { openPort } from 'homenet-controller';
 *
 * const port = await openPort({ protocol: 'tcp', port: 25565, family: 'ipv6', leaseSeconds: 600 });
 * console.log(port.reachability.map((r) => `${r.family}: ${r.verdict}`).join(', '));
 * port.detach(); // leave the lease to run out on its own
 * ```
 */
export * from './agent';
export { createPolicyEngine } from '../policies/engine';
export type { PolicyEngine, PolicyEngineOptions } from '../policies/engine';
export type { PolicyEvent } from '../policies/model/event';
export type { NeedRequest } from '../policies/model/need';
export type { Decision, Verdict } from '../policies/model/decision';
export type { Action } from '../policies/model/action';
export type { Reason, ReasonCode, RuleName } from '../policies/model/reason';
