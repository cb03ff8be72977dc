import { parseSniffLine } from '../../../adapters/observe/dhcp-sniffer';
import { parseCaptureLine } from '../../../adapters/observe/ra-capture';

describe('the capture helpers’ lines', () => {
  it('reads an RA line, the source in canonical form', () => {
    expect(parseCaptureLine('1700000000000 FE80::0:1 255 86000000')).toEqual({ at: 1700000000000, from: 'fe80::1', hopLimit: 255, message: Uint8Array.from([0x86, 0, 0, 0]) });
    expect(parseCaptureLine('1 fe80::1 -1 86')).toMatchObject({ hopLimit: -1 });
  });

  it.each(['ready', '', '1 fe80::1 255', '1 not-an-address 255 86', 'x fe80::1 255 86', '1 fe80::1 255 8', '1 fe80::1 255 zz', '1 fe80::1 255 86 extra'])(
    'skips RA line %j',
    (line) => {
      expect(parseCaptureLine(line)).toBeUndefined();
    },
  );

  it('reads a DHCP sniffer line', () => {
    expect(parseSniffLine('192.168.77.20 0102ff\n')).toEqual({ from: '192.168.77.20', bytes: Uint8Array.from([1, 2, 0xff]) });
    expect(parseSniffLine('192.168.77.1 0102 06:00:00:00:00:01 out')).toEqual({ from: '192.168.77.1', bytes: Uint8Array.from([1, 2]), sourceMac: '06:00:00:00:00:01', outgoing: true });
    expect(parseSniffLine('0.0.0.0 0102 06:00:00:00:00:0c in')).toMatchObject({ sourceMac: '06:00:00:00:00:0c', outgoing: false });
  });

  it.each(['ready', '192.168.77 0102', '192.168.77.256 0102', '::1 0102', '192.168.77.20', '192.168.77.20 012', '192.168.77.20 01 02', '192.168.77.20 01 06:00:00:00:00:0c sideways', '192.168.77.20 01 06:00:00:00:0c in'])('skips DHCP line %j', (line) => {
    expect(parseSniffLine(line)).toBeUndefined();
  });
});
