import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTableJson } from '../../../adapters/nftables/nft-json';
import { NftParseError } from '../../../adapters/nftables/nft-errors';

// Captured with `ip netns exec NS nft -j list table inet homenet` (nftables 1.0.6) after applying seven actions.
const fixture = readFileSync(join(__dirname, '../../fixtures/nftables/table-mixed.json'), 'utf8');

describe('parseTableJson (captured nft -j output)', () => {
  const contents = parseTableJson(fixture, 'homenet');
  const byOwner = (owner: string) => contents.entries.find((e) => e.owner === owner);

  it('finds the table, both chains and all seven elements', () => {
    expect(contents.present).toBe(true);
    expect([...contents.chains].sort()).toEqual(['forward', 'prerouting']);
    expect(contents.unknownSets).toEqual([]);
    expect(contents.entries).toHaveLength(7);
  });

  it('reads an IPv6 pinhole with its timeout and remaining time', () => {
    expect(byOwner('console-a/3074#ipv6')).toEqual({
      kind: 'pinhole',
      family: 'ipv6',
      set: 'pinhole_ipv6',
      protocol: 'udp',
      internalClient: '2001:db8:77::10',
      internalPort: 3074,
      remoteHost: '',
      remotePort: 0,
      timeoutSeconds: 3600,
      expiresInSeconds: 3599,
      owner: 'console-a/3074#ipv6',
    });
  });

  it('reads remote-filtered and permanent pinholes', () => {
    expect(byOwner('console-b/27015#ipv6')).toMatchObject({ set: 'pinhole_ipv6_rh', remoteHost: '2001:db8:100::2', protocol: 'tcp', internalPort: 27015, timeoutSeconds: 7200 });
    const hub = byOwner('hub/443#ipv6')!;
    expect(hub).toMatchObject({ set: 'pinhole_ipv6_rhp', remoteHost: '2001:db8:100::2', remotePort: 5000, timeoutSeconds: 0 });
    expect(hub.expiresInSeconds).toBeUndefined();
    expect(byOwner('v4hole#ipv4')).toMatchObject({ kind: 'pinhole', family: 'ipv4', remotePort: 53, internalClient: '192.168.77.10', timeoutSeconds: 120 });
  });

  it('reads port mappings: external key, internal data', () => {
    expect(byOwner('console-a/3074#ipv4')).toMatchObject({ kind: 'port-mapping', set: 'portmap_ipv4', externalPort: 3074, internalClient: '192.168.77.10', internalPort: 3074, timeoutSeconds: 3600 });
    expect(byOwner('console-b/3074#ipv4')).toMatchObject({ set: 'portmap_ipv4_rh', remoteHost: '198.51.100.2', externalPort: 3075, internalClient: '192.168.77.11' });
    expect(byOwner('nas/22#ipv4')).toMatchObject({ set: 'portmap_ipv4_rhp', protocol: 'tcp', externalPort: 2222, remotePort: 40000, internalPort: 22, timeoutSeconds: 0 });
  });

  it('ignores other tables in the same output', () => {
    expect(parseTableJson(fixture, 'other')).toEqual({ present: false, entries: [], unknownSets: [], chains: [] });
  });

  it('reports sets it does not know, and leaves them alone', () => {
    const doc = JSON.parse(fixture);
    doc.nftables.push({ set: { family: 'inet', name: 'admin_extra', table: 'homenet', type: 'ipv4_addr', elem: ['10.0.0.1'] } });
    expect(parseTableJson(JSON.stringify(doc), 'homenet').unknownSets).toEqual(['admin_extra']);
  });

  it('refuses what it cannot read instead of dropping an element', () => {
    expect(() => parseTableJson('Error: x', 'homenet')).toThrow(NftParseError);
    const doc = JSON.parse(fixture);
    const set = doc.nftables.find((i: { set?: { name: string } }) => i.set?.name === 'pinhole_ipv6').set;
    set.elem.push({ concat: ['2001:db8::1', 'udp'] });
    expect(() => parseTableJson(JSON.stringify(doc), 'homenet')).toThrow(/pinhole_ipv6: expected a concatenation of 3 values/);
    set.elem[set.elem.length - 1] = { concat: ['2001:db8::1', 'icmp', 1] };
    expect(() => parseTableJson(JSON.stringify(doc), 'homenet')).toThrow(/protocol "icmp"/);
  });
});
