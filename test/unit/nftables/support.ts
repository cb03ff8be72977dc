import type { Action } from '../../../policies/model/action';

/** An engine action with sensible defaults; override what the test is about. */
export function action(over: Partial<Action> = {}): Action {
  return {
    type: 'action',
    seq: 1,
    at: 0,
    op: 'add',
    table: 'pinhole',
    key: 'add|gw|ipv6|udp|2001:db8:77::10|3074|-|g1',
    gatewayId: 'gw',
    grantId: 'n1#ipv6',
    needId: 'n1',
    generation: 1,
    family: 'ipv6',
    protocol: 'udp',
    internalClient: '2001:db8:77::10',
    internalPort: 3074,
    remoteHost: '',
    remotePort: 0,
    leaseSeconds: 3600,
    reason: { rule: 'test', code: 'test' } as unknown as Action['reason'],
    ...over,
  };
}

export function mapping(over: Partial<Action> = {}): Action {
  return action({
    table: 'port-mapping',
    family: 'ipv4',
    key: 'add|gw|ipv4|udp|192.168.77.10|3074|3074|g1',
    grantId: 'n1#ipv4',
    internalClient: '192.168.77.10',
    externalPort: 3074,
    ...over,
  });
}
