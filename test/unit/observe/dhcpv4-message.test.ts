import { decodeDhcpMessage, DhcpFormatError, encodeDhcpDiscover } from '../../../adapters/observe/dhcpv4-message';

describe('DHCPv4 messages', () => {
  it('encodes a DISCOVER asking for option 108 that decodes back', () => {
    const m = decodeDhcpMessage(encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 0xdeadbeef, requested: [1, 3, 6, 108] }));
    expect(m).toMatchObject({ op: 1, xid: 0xdeadbeef, broadcast: true, clientMac: '02:00:00:00:00:10', messageType: 1, requested: [1, 3, 6, 108] });
    expect(m.v6OnlyWait).toBeUndefined();
  });

  it('reads option 108 (V6ONLY_WAIT) from an offer', () => {
    const offer = encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 7, requested: [] });
    offer[0] = 2;
    const body = Array.from(offer.slice(0, 240));
    const options = [53, 1, 2, 108, 4, 0, 0, 0x07, 0x08, 255];
    const m = decodeDhcpMessage(Uint8Array.from([...body, ...options]));
    expect(m).toMatchObject({ op: 2, messageType: 2, v6OnlyWait: 1800 });
  });

  it('rejects short packets, missing cookies, cut options and a bad option 108', () => {
    expect(() => decodeDhcpMessage(new Uint8Array(100))).toThrow(DhcpFormatError);
    const noCookie = encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 1, requested: [] });
    noCookie[236] = 0;
    expect(() => decodeDhcpMessage(noCookie)).toThrow(/magic cookie/);
    const base = Array.from(encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 1, requested: [] }).slice(0, 240));
    expect(() => decodeDhcpMessage(Uint8Array.from([...base, 55, 9, 1]))).toThrow(/runs past the end/);
    expect(() => decodeDhcpMessage(Uint8Array.from([...base, 108, 2, 0, 1, 255]))).toThrow(/option 108 has 2 bytes/);
  });
});
