import { Reachability } from './reachability';

/**
 * What it takes to keep one port open in one address family: open it for an
 * InternalClient address, renew it, close it. `held` is whatever the router
 * gave back that renewal and close need (a pinhole's UniqueID, a mapping's
 * external port); it is absent when nothing is open.
 */
export interface FamilyOpener<Held> {
  readonly family: 'ipv4' | 'ipv6';
  open(internalClient: string): Promise<OpenerResult<Held>>;
  renew(internalClient: string, held: Held): Promise<OpenerResult<Held>>;
  close(internalClient: string, held: Held): Promise<void>;
}

export interface OpenerResult<Held> {
  readonly reachability: Reachability;
  readonly held?: Held;
}
