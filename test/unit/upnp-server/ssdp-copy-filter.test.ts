import { SsdpCopyFilter } from '../../../adapters/upnp/server/ssdp-copy-filter';

const SEARCH = '192.168.1.20:50000:M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n';

describe('SsdpCopyFilter (issue 10 item 1: repeated M-SEARCH must be answered)', () => {
  it('answers a search repeated 4 times 30 ms apart on one socket 4 times', () => {
    const f = new SsdpCopyFilter();
    const answered = [0, 30, 60, 90].filter((t) => !f.isCopy(SEARCH, 'br-lan', t));
    expect(answered).toEqual([0, 30, 60, 90]);
  });

  it('answers each of 4 retries once when two sockets each receive every datagram', () => {
    const f = new SsdpCopyFilter();
    let answers = 0;
    for (const t of [0, 30, 60, 90]) {
      if (!f.isCopy(SEARCH, 'br-lan', t)) answers++;
      if (!f.isCopy(SEARCH, 'br-iot', t)) answers++;
    }
    expect(answers).toBe(4);
  });

  it('also counts copies delivered in a different socket order', () => {
    const f = new SsdpCopyFilter();
    const verdicts = [f.isCopy(SEARCH, 'a', 0), f.isCopy(SEARCH, 'b', 0), f.isCopy(SEARCH, 'b', 5), f.isCopy(SEARCH, 'a', 5)];
    expect(verdicts).toEqual([false, true, false, true]);
  });

  it('treats a delivery on another socket after the window as a new datagram', () => {
    const f = new SsdpCopyFilter(100);
    expect(f.isCopy(SEARCH, 'a', 0)).toBe(false);
    expect(f.isCopy(SEARCH, 'b', 150)).toBe(false);
  });

  it('keeps different sources apart', () => {
    const f = new SsdpCopyFilter();
    expect(f.isCopy(SEARCH, 'a', 0)).toBe(false);
    expect(f.isCopy(SEARCH.replace('50000', '50001'), 'b', 0)).toBe(false);
  });

  it('stays bounded and still filters the newest copies', () => {
    const f = new SsdpCopyFilter(100, 8);
    for (let i = 0; i < 100; i++) expect(f.isCopy(`${i}`, 'a', 0)).toBe(false);
    expect(f.isCopy('99', 'b', 1)).toBe(true);
    expect(f.isCopy('0', 'b', 1)).toBe(false); // forgotten: pruned
  });

  it('refuses nonsense settings', () => {
    expect(() => new SsdpCopyFilter(0)).toThrow(RangeError);
    expect(() => new SsdpCopyFilter(100, 0)).toThrow(RangeError);
  });
});
