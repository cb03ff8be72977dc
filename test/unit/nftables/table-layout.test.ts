import { ELEMENT_SETS, elementId, elementSetOf, hostAcceptRule, installScript, resolveLayout } from '../../../adapters/nftables/table-layout';
import { normalizeEntry } from '../../../adapters/nftables/firewall-entry';

describe('resolveLayout', () => {
  it('fills defaults', () => {
    expect(resolveLayout({ wanInterfaces: ['wan0'] })).toEqual({ table: 'homenet', wanInterfaces: ['wan0'], mark: 0x100, forwardPriority: -10, dnatPriority: -110 });
  });

  it.each([
    [{ wanInterfaces: [] }, /at least one interface/],
    [{ wanInterfaces: ['wan0; drop'] }, /"wan0; drop" is not an interface name/],
    [{ wanInterfaces: ['wan0'], table: 'x y' }, /table name "x y" is invalid/],
    [{ wanInterfaces: ['wan0'], mark: 0 }, /mark 0 must be/],
    [{ wanInterfaces: ['wan0'], forwardPriority: 1.5 }, /forwardPriority 1.5/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveLayout(options)).toThrow(message);
  });
});

describe('installScript', () => {
  const script = installScript(resolveLayout({ wanInterfaces: ['wan0', 'ppp0'], table: 'hn', mark: 0x4000 }));
  const lines = script.trim().split('\n');

  it('creates only its own table, and keeps elements: sets are added, chains flushed', () => {
    expect(lines[0]).toBe('add table inet hn');
    expect(lines.every((l) => / inet hn( |$)/.test(l))).toBe(true);
    expect(lines).not.toContainEqual(expect.stringMatching(/^(delete|flush) (table|set|map)/));
    expect(lines).toContain('flush chain inet hn forward');
    expect(lines).toContain('flush chain inet hn prerouting');
  });

  it('has a timeout set per pinhole shape and a timeout map per mapping shape', () => {
    expect(lines).toContain('add set inet hn pinhole_ipv6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }');
    expect(lines).toContain('add set inet hn pinhole_ipv6_rh { type ipv6_addr . ipv6_addr . inet_proto . inet_service; flags timeout; }');
    expect(lines).toContain('add map inet hn portmap_ipv4 { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }');
    expect(lines.filter((l) => l.startsWith('add set'))).toHaveLength(8);
    expect(lines.filter((l) => l.startsWith('add map'))).toHaveLength(4);
  });

  it('hooks forward just before filter and DNAT just before dstnat, marking rather than deciding', () => {
    expect(lines).toContain('add chain inet hn forward { type filter hook forward priority -10; policy accept; }');
    expect(lines).toContain('add chain inet hn prerouting { type nat hook prerouting priority -110; policy accept; }');
    expect(lines).toContain(
      'add rule inet hn forward iifname { "wan0", "ppp0" } meta nfproto ipv6 ip6 daddr . meta l4proto . th dport @pinhole_ipv6 meta mark set meta mark | 0x00004000 accept',
    );
    expect(lines).toContain(
      'add rule inet hn prerouting iifname { "wan0", "ppp0" } meta nfproto ipv4 meta l4proto . th dport @portmap_ipv4 ct mark set ct mark | 0x00004000 dnat ip to meta l4proto . th dport map @portmap_ipv4',
    );
    expect(lines[lines.length - 1]).toBe(
      'add rule inet hn forward iifname { "wan0", "ppp0" } ct status dnat ct mark & 0x00004000 == 0x00004000 meta mark set meta mark | 0x00004000 accept',
    );
    expect(script).not.toMatch(/\bdrop\b/);
  });

  it('puts the most specific shapes first', () => {
    const forward = lines.filter((l) => l.includes(' forward ') && l.includes('@pinhole_ipv6'));
    const names = forward.map((l) => /@(\S+)/.exec(l)![1]);
    expect(names[0]).toBe('pinhole_ipv6_rhp');
    expect(names.slice(1, 3).sort()).toEqual(['pinhole_ipv6_rh', 'pinhole_ipv6_rp']);
    expect(names[3]).toBe('pinhole_ipv6');
    // DNAT: a mapping for one remote host wins over the one for any remote.
    const dnat = lines.filter((l) => l.includes(' prerouting ') && l.includes('dnat')).map((l) => /@(\S+)/.exec(l)![1]);
    expect(dnat[0]).toBe('portmap_ipv4_rhp');
    expect(dnat[3]).toBe('portmap_ipv4');
  });
});

describe('elements', () => {
  it('chooses the set by remote filter', () => {
    const e = (remoteHost: string, remotePort: number) =>
      normalizeEntry({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::10', internalPort: 1, remoteHost, remotePort });
    expect(elementSetOf(e('', 0)).name).toBe('pinhole_ipv6');
    expect(elementSetOf(e('2001:db8::1', 0)).name).toBe('pinhole_ipv6_rh');
    expect(elementSetOf(e('', 53)).name).toBe('pinhole_ipv6_rp');
    expect(elementSetOf(e('2001:db8::1', 53)).name).toBe('pinhole_ipv6_rhp');
    expect(elementId(e('2001:db8::1', 53))).toBe('pinhole_ipv6_rhp:2001:db8::1 . 2001:db8::10 . udp . 1 . 53');
  });

  it('identifies a mapping by its external side only', () => {
    const m = (internalClient: string) =>
      normalizeEntry({ kind: 'port-mapping', family: 'ipv4', protocol: 'udp', internalClient, internalPort: 3074, externalPort: 3075, remoteHost: '', remotePort: 0 });
    expect(elementId(m('192.168.77.10'))).toBe('portmap_ipv4:udp . 3075');
    expect(elementId(m('192.168.77.11'))).toBe(elementId(m('192.168.77.10')));
  });

  it('has twelve distinct set names', () => {
    expect(new Set(ELEMENT_SETS.map((s) => s.name)).size).toBe(12);
  });

  it('tells the host which rule to add', () => {
    expect(hostAcceptRule(resolveLayout({ wanInterfaces: ['wan0'] }))).toBe('meta mark & 0x00000100 == 0x00000100 accept comment "homenet permissions"');
  });
});
