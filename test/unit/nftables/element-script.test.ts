import { addElementLine, putElementLines, removeElementLines } from '../../../adapters/nftables/element-script';
import { normalizeEntry } from '../../../adapters/nftables/firewall-entry';

const pinhole = normalizeEntry({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::10', internalPort: 3074, remoteHost: '', remotePort: 0, owner: 'n1#ipv6' });
const mapping = normalizeEntry({ kind: 'port-mapping', family: 'ipv4', protocol: 'tcp', internalClient: '192.168.77.10', internalPort: 22, externalPort: 2222, remoteHost: '198.51.100.2', remotePort: 0, owner: 'n2#ipv4' });

describe('element lines', () => {
  it('puts a pinhole: ensure, delete, add with timeout and owner', () => {
    expect(putElementLines('homenet', pinhole, { timeoutSeconds: 3600 })).toEqual([
      'add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 }',
      'delete element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 }',
      'add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 timeout 3600s comment "n1#ipv6" }',
    ]);
  });

  it('writes the remaining time when it is shorter than the timeout', () => {
    expect(addElementLine('homenet', pinhole, { timeoutSeconds: 3600, expiresSeconds: 1200 })).toBe(
      'add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 timeout 3600s expires 1200s comment "n1#ipv6" }',
    );
    expect(addElementLine('homenet', pinhole, { timeoutSeconds: 0 })).toBe('add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 comment "n1#ipv6" }');
  });

  it('writes map data after the attributes', () => {
    expect(addElementLine('hn', mapping, { timeoutSeconds: 60 })).toBe(
      'add element inet hn portmap_ipv4_rh { 198.51.100.2 . tcp . 2222 timeout 60s comment "n2#ipv4" : 192.168.77.10 . 22 }',
    );
    expect(removeElementLines('hn', mapping)).toEqual([
      'add element inet hn portmap_ipv4_rh { 198.51.100.2 . tcp . 2222 : 192.168.77.10 . 22 }',
      'delete element inet hn portmap_ipv4_rh { 198.51.100.2 . tcp . 2222 }',
    ]);
  });
});
