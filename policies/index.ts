/**
 * The homenet policy engine: settles games' and Matter devices' conflicting
 * needs for inbound reachability, deterministically and with reasons.
 *
 * Pure: no sockets, files or wall clock. Time comes from the rxjs scheduler
 * you pass in; the world comes in as plain JSON events ({@link PolicyEvent});
 * out come decisions ({@link Decision}), idempotent actions for adapters
 * ({@link Action}) and the desired state ({@link PolicyEngine.snapshot}).
 *
 * @example
 * ```ts
 * import { asyncScheduler } from 'rxjs';
 * import { createPolicyEngine } from 'homenet-controller/policies';
 *
 * const engine = createPolicyEngine({ scheduler: asyncScheduler });
 * engine.actions$.subscribe((action) => adapter.apply(action)); // AddPinhole, AddPortMapping, …
 * engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '7' });
 * engine.submit({ type: 'device-seen', deviceId: 'plug',
 *   kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }], addresses: [{ address: '2001:db8::42' }] });
 * engine.request({ id: 'n1', requester: { deviceId: 'plug' }, protocol: 'tcp', internalPort: 5540,
 *   family: 'ipv6', class: 'service' }).verdict; // 'denied' (matter-isolation / matter-device-isolation)
 * ```
 */
export { createPolicyEngine } from './engine';
export type { PolicyEngine, PolicyEngineOptions, EngineSnapshot, EngineStats, NeedView, Step } from './engine';
export * from './model/address';
export * from './model/action';
export * from './model/config';
export * from './model/decision';
export * from './model/device';
export * from './model/event';
export * from './model/event-schema';
export * from './model/feedback';
export * from './model/gateway';
export * from './model/grant';
export * from './model/need';
export * from './model/network';
export * from './model/port-set';
export * from './model/rank';
export * from './model/reason';
