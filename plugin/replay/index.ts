/** Replay of recorded or generated event logs through the policy engine (file I/O lives here, not in policies/). */
export * from './event-log';
export * from './replay';
export * from './summary';
export * from './synthetic-home';
