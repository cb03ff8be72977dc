import { selectInternalClient, stillValid } from '../../../../policies/rules/address-churn';
import { Device, toDeviceAddress, AddressInput } from '../../../../policies';
import { gateway, harness, need } from '../support';

function dev(addresses: AddressInput[]): Device {
  return { id: 'd', identities: {}, kinds: [], ownerAllowed: false, firstSeenAt: 0, addresses: addresses.map((a) => toDeviceAddress(a)!) };
}

describe('rule: address-churn', () => {
  it('keeps a valid address, follows a deprecated one to the stable address, reports loss', () => {
    const d = dev([{ address: '2001:db8:2::1' }, { address: '2001:db8:1::1', deprecated: true }, { address: '2001:db8:2::99', temporary: true }]);
    expect(selectInternalClient(d, 'ipv6', '2001:db8:2::99', undefined)).toEqual({ address: '2001:db8:2::99' });
    expect(selectInternalClient(d, 'ipv6', '2001:db8:1::1', undefined)).toEqual({ address: '2001:db8:2::1', followedFrom: '2001:db8:1::1' });
    const gone = dev([{ address: '2001:db8:1::1', deprecated: true }, { address: 'fd00::1' }]);
    expect(selectInternalClient(gone, 'ipv6', '2001:db8:1::1', undefined)).toEqual({ lost: '2001:db8:1::1' });
    expect(selectInternalClient(gone, 'ipv6', undefined, undefined)).toEqual({ none: true });
    expect(selectInternalClient(undefined, 'ipv4', undefined, '192.168.1.5')).toEqual({ address: '192.168.1.5' });
  });

  it('treats an address missing from a list that has others of the family as gone', () => {
    const d = dev([{ address: '2001:db8:2::1' }]);
    expect(stillValid(d, '2001:db8:1::1', 'ipv6')).toBe(false);
    expect(stillValid(dev([]), '2001:db8:1::1', 'ipv6')).toBe(true);
  });

  it('in the engine: grants follow the new stable address when the prefix changes', () => {
    const h = harness();
    h.send(gateway());
    h.send({ type: 'device-seen', deviceId: 'pc', addresses: [{ address: '2001:db8:1::10' }, { address: '2001:db8:1::beef', temporary: true }] });
    const d = h.engine.request(need('pc', 'pc', { family: 'ipv6', internalClient: '2001:db8:1::beef' }));
    expect(d.grants[0].internalClient).toBe('2001:db8:1::beef');
    const step = h.send({
      type: 'device-seen', deviceId: 'pc',
      addresses: [{ address: '2001:db8:1::10', deprecated: true }, { address: '2001:db8:1::beef', temporary: true, deprecated: true }, { address: '2001:db8:9::10' }],
    });
    expect(step.decisions[0]).toMatchObject({
      verdict: 'granted-with-changes',
      changes: [{ field: 'internalClient', family: 'ipv6', wanted: '2001:db8:1::beef', got: '2001:db8:9::10' }],
      grants: [{ internalClient: '2001:db8:9::10', generation: 2 }],
    });
    expect(step.decisions[0].reasons.map((r) => `${r.rule}/${r.code}`)).toEqual(['capacity/admitted', 'address-churn/address-followed']);
    expect(step.actions.map((a) => `${a.op} ${a.internalClient} g${a.generation}`)).toEqual(['delete 2001:db8:1::beef g1', 'add 2001:db8:9::10 g2']);
  });

  it('in the engine: a deprecated address with no replacement withdraws the need in the same event', () => {
    const h = harness();
    h.send(gateway());
    h.send({ type: 'device-seen', deviceId: 'pc', addresses: [{ address: '2001:db8:1::10' }] });
    h.engine.request(need('pc', 'pc', { family: 'ipv6' }));
    const step = h.send({ type: 'device-seen', deviceId: 'pc', addresses: [{ address: '2001:db8:1::10', deprecated: true }] });
    expect(step.decisions[0]).toMatchObject({ verdict: 'withdrawn', reasons: [{ code: 'address-deprecated', rule: 'lease-policy' }] });
    expect(step.actions.map((a) => a.op)).toEqual(['delete']);
  });
});
