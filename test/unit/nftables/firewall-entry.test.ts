import { entryFromAction, normalizeEntry, commentText } from '../../../adapters/nftables/firewall-entry';
import { NftInvalidEntryError } from '../../../adapters/nftables/nft-errors';
import { action, mapping } from './support';

describe('normalizeEntry', () => {
  it('canonicalises addresses and fills the defaults', () => {
    const e = normalizeEntry({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:DB8:0::0010', internalPort: 3074, remoteHost: '*', remotePort: 0 });
    expect(e.internalClient).toBe('2001:db8::10');
    expect(e.remoteHost).toBe('');
    expect(e.externalPort).toBeUndefined();
  });

  it('gives a port mapping its external port (default: the internal port)', () => {
    const e = normalizeEntry({ kind: 'port-mapping', family: 'ipv4', protocol: 'tcp', internalClient: '192.168.77.10', internalPort: 22, remoteHost: '0.0.0.0', remotePort: 0 });
    expect(e.externalPort).toBe(22);
    expect(e.remoteHost).toBe('');
  });

  it.each([
    [{ internalClient: '192.168.1.1' }, 'internalClient', 'not an ipv6 address'],
    [{ internalClient: 'console' }, 'internalClient', 'not an IP address'],
    [{ internalPort: 0 }, 'internalPort', '1..65535'],
    [{ internalPort: 70000 }, 'internalPort', '1..65535'],
    [{ remotePort: -1 }, 'remotePort', '0..65535'],
    [{ protocol: 'sctp' }, 'protocol', "'udp' or 'tcp'"],
    [{ remoteHost: '10.0.0.1' }, 'remoteHost', 'not an ipv6 address'],
    [{ kind: 'port-mapping' }, 'family', 'IPv4 only'],
  ])('rejects %j naming the field', (over, field, why) => {
    const base = { kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::10', internalPort: 3074, remoteHost: '', remotePort: 0 };
    let error: unknown;
    try {
      normalizeEntry({ ...base, ...over } as never, 'the-key');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NftInvalidEntryError);
    expect((error as NftInvalidEntryError).field).toBe(field);
    expect((error as Error).message).toContain('the-key');
    expect((error as Error).message).toContain(why);
  });
});

describe('entryFromAction', () => {
  it('turns a pinhole action into an entry owned by its grant', () => {
    expect(entryFromAction(action())).toEqual({
      kind: 'pinhole',
      family: 'ipv6',
      protocol: 'udp',
      internalClient: '2001:db8:77::10',
      internalPort: 3074,
      remoteHost: '',
      remotePort: 0,
      owner: 'n1#ipv6',
      leaseSeconds: 3600,
    });
  });

  it('keeps the external port of a mapping', () => {
    expect(entryFromAction(mapping({ externalPort: 3075 })).externalPort).toBe(3075);
  });

  it('rejects a lease that is not a whole number of seconds', () => {
    expect(() => entryFromAction(action({ leaseSeconds: 1.5 }))).toThrow(/leaseSeconds=1.5/);
  });
});

describe('commentText', () => {
  it('keeps printable ASCII, replaces quotes and cuts at 120', () => {
    expect(commentText('a"b\\c\nd')).toBe('a_b_c_d');
    expect(commentText('x'.repeat(200))).toHaveLength(120);
  });
});
