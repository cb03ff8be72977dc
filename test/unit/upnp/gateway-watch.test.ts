import {
  DEVICE_IGD_2, DescriptionFetcher, GatewayEvent, formatNotify, formatSearchResponse, parseDeviceDescription, watchGateways,
} from '../../../adapters/upnp';
import {
  GatewayWatchBookkeeping, MAX_DESCRIPTION_FETCHES_PER_SENDER, MAX_GATEWAYS_PER_SENDER,
} from '../../../adapters/upnp/gateway-watch';
import { FakeTransport } from './fake-transport';
import { labTable } from './fake-interfaces';
import { readReference } from '../../support/reference-fixtures';

const rootDesc = readReference('rootDesc.xml').toString('utf8');
const ROOT = 'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d01';
const WAN_CONN = 'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d03';
const LOCATION = 'http://192.168.77.1:5000/rootDesc.xml';
const ROUTER = { remoteAddress: '192.168.77.1', interfaceName: 'lan0', via: 'notify' as const };

const alive = (bootId: number, maxAge = 60, nt = DEVICE_IGD_2, udn = ROOT): Buffer =>
  formatNotify('ssdp:alive', { searchTarget: nt, usn: `${udn}::${nt}`, location: LOCATION, bootId, configId: 1337, maxAgeSeconds: maxAge });

describe('watchGateways', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup(): { t: FakeTransport; events: GatewayEvent[]; fetches: string[]; stop: () => void } {
    const t = new FakeTransport('ipv4');
    const events: GatewayEvent[] = [];
    const fetches: string[] = [];
    const fetchDescription: DescriptionFetcher = async (loc) => {
      fetches.push(loc.url);
      return parseDeviceDescription(rootDesc, loc.url);
    };
    const sub = watchGateways({ family: 'ipv4', transports: [t], fetchDescription, interfaceTable: labTable, searchIntervalMs: 0 })
      .subscribe((e) => events.push(e));
    return { t, events, fetches, stop: () => sub.unsubscribe() };
  }

  it('reports appeared, alive refresh, then a BOOTID change as a reboot (description fetched again)', async () => {
    const { t, events, fetches, stop } = setup();
    await jest.advanceTimersByTimeAsync(1);
    expect(t.searches.map((s) => s.searchTarget)).toEqual([DEVICE_IGD_2, 'urn:schemas-upnp-org:device:InternetGatewayDevice:1']);

    t.deliver(alive(100), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared']);
    expect(events[0]?.gateway).toMatchObject({ udn: ROOT, bootId: 100, location: LOCATION, igdVersion: 2 });

    t.deliver(alive(100), ROUTER);
    t.deliver(alive(100, 60, 'urn:schemas-upnp-org:service:WANIPConnection:2', WAN_CONN), ROUTER); // refresh only, no event
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'alive']);

    t.deliver(alive(101, 60, 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1', WAN_CONN), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'alive', 'rebooted']);
    expect(events[2]).toMatchObject({ type: 'rebooted', previousBootId: 100, bootId: 101, gateway: { bootId: 101, udn: ROOT } });
    expect(fetches).toEqual([LOCATION, LOCATION]);
    stop();
  });

  it('reports byebye (from any of its devices) and expiry after max-age', async () => {
    const { t, events, stop } = setup();
    t.deliver(alive(5, 30), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    // A byebye from someone else is not the gateway's.
    t.deliver(formatNotify('ssdp:byebye', { searchTarget: DEVICE_IGD_2, usn: `${ROOT}::${DEVICE_IGD_2}` }), { ...ROUTER, remoteAddress: '192.168.77.66' });
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared']);
    t.deliver(formatNotify('ssdp:byebye', { searchTarget: 'urn:schemas-upnp-org:service:WANIPConnection:2', usn: `${WAN_CONN}::urn:schemas-upnp-org:service:WANIPConnection:2`, bootId: 5 }), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'byebye']);

    // Back with the same BOOTID: appeared again; then silence past max-age: expired.
    t.deliver(alive(5, 30), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'byebye', 'appeared']);
    await jest.advanceTimersByTimeAsync(29_000);
    expect(events).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(1_100);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'byebye', 'appeared', 'expired']);

    // Back after expiry with another BOOTID: that is a reboot.
    t.deliver(alive(6, 30), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events[4]).toMatchObject({ type: 'rebooted', previousBootId: 5, bootId: 6 });
    stop();
  });

  it('treats ssdp:update with NEXTBOOTID as a planned change, not a reboot; search answers refresh too', async () => {
    const { t, events, stop } = setup();
    t.deliver(alive(7), ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    t.deliver(formatNotify('ssdp:update', { searchTarget: DEVICE_IGD_2, usn: `${ROOT}::${DEVICE_IGD_2}`, location: LOCATION, bootId: 7, nextBootId: 8 }), ROUTER);
    t.deliver(alive(8), ROUTER);
    t.deliver(formatSearchResponse({ searchTarget: DEVICE_IGD_2, usn: `${ROOT}::${DEVICE_IGD_2}`, location: LOCATION, bootId: 8, maxAgeSeconds: 120 }), { ...ROUTER, via: 'search' });
    await jest.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.type)).toEqual(['appeared', 'alive', 'alive']);
    expect(events[2]?.gateway.maxAgeSeconds).toBe(120);
    stop();
  });

  it('ignores rogue LOCATIONs and hostile datagrams, and closes its transports on unsubscribe', async () => {
    const { t, events, fetches, stop } = setup();
    t.deliver(alive(1), { ...ROUTER, remoteAddress: '192.168.77.66' });
    t.deliver(Buffer.alloc(10000, 1), ROUTER);
    t.deliver('NOTIFY * HTTP/1.1\r\n\r\n', ROUTER);
    await jest.advanceTimersByTimeAsync(1);
    expect(events).toEqual([]);
    expect(fetches).toEqual([]);
    stop();
    expect(t.closed).toBe(true);
  });

  describe('against a hostile host on the link', () => {
    const ROGUE = { remoteAddress: '192.168.77.66', interfaceName: 'lan0', via: 'notify' as const };
    /** An alive for a fake gateway `n` served by the rogue host on port 6000+n, with its own UDNs. */
    const rogueAlive = (n: number): Buffer => formatNotify('ssdp:alive', {
      searchTarget: DEVICE_IGD_2, usn: `uuid:rogue-${n}-01::${DEVICE_IGD_2}`, location: `http://192.168.77.66:${6000 + n}/rootDesc.xml`, bootId: 1, configId: 1, maxAgeSeconds: 60,
    });
    const describeAny: DescriptionFetcher = async (loc) => {
      const port = new URL(loc.url).port;
      const xml = port === '5000' ? rootDesc : rootDesc.replace(/uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d0/g, `uuid:rogue-${Number(port) - 6000}-`);
      return parseDeviceDescription(xml, loc.url);
    };

    function watch(fetchDescription: DescriptionFetcher) {
      const t = new FakeTransport('ipv4');
      const events: GatewayEvent[] = [];
      const skips: string[] = [];
      const sizes: GatewayWatchBookkeeping[] = [];
      const sub = watchGateways({
        family: 'ipv4', transports: [t], fetchDescription, interfaceTable: labTable, searchIntervalMs: 0,
        onSkip: (reason) => skips.push(reason), onBookkeeping: (b) => sizes.push(b),
      }).subscribe((e) => events.push(e));
      return { t, events, skips, sizes, stop: () => sub.unsubscribe() };
    }

    it(`lets one sender account for at most ${MAX_GATEWAYS_PER_SENDER} gateways; the real router still appears`, async () => {
      const { t, events, skips, stop } = watch(describeAny);
      for (let n = 0; n < 12; n++) {
        t.deliver(rogueAlive(n), ROGUE);
        await jest.advanceTimersByTimeAsync(1);
      }
      expect(events.filter((e) => e.type === 'appeared')).toHaveLength(MAX_GATEWAYS_PER_SENDER);
      expect(skips.filter((r) => r.includes(`192.168.77.66 already accounts for ${MAX_GATEWAYS_PER_SENDER} gateways`))).toHaveLength(12 - MAX_GATEWAYS_PER_SENDER);
      t.deliver(alive(7), ROUTER);
      await jest.advanceTimersByTimeAsync(1);
      expect(events.at(-1)).toMatchObject({ type: 'appeared', gateway: { udn: ROOT, location: LOCATION } });
      stop();
    });

    it(`keeps at most ${MAX_DESCRIPTION_FETCHES_PER_SENDER} description fetches in flight per sender`, async () => {
      const fetched: string[] = [];
      const { t, skips, stop } = watch((loc) => {
        fetched.push(loc.url);
        return new Promise(() => undefined); // a description server that never answers
      });
      for (let n = 0; n < 10; n++) t.deliver(rogueAlive(n), ROGUE);
      await jest.advanceTimersByTimeAsync(1);
      expect(fetched).toHaveLength(MAX_DESCRIPTION_FETCHES_PER_SENDER);
      expect(skips.filter((r) => r.includes('too many description fetches in flight from 192.168.77.66'))).toHaveLength(10 - MAX_DESCRIPTION_FETCHES_PER_SENDER);
      stop();
    });

    it('prunes its UDN and location maps when a gateway goes, keeping only its BOOTID', async () => {
      const { t, events, sizes, stop } = watch(describeAny);
      t.deliver(alive(5), ROUTER);
      await jest.advanceTimersByTimeAsync(1);
      expect(sizes.at(-1)).toEqual({ gateways: 1, aliases: 3, locations: 1, bootIds: 0, pendingFetches: 0 });
      t.deliver(formatNotify('ssdp:byebye', { searchTarget: DEVICE_IGD_2, usn: `${ROOT}::${DEVICE_IGD_2}`, bootId: 5 }), ROUTER);
      await jest.advanceTimersByTimeAsync(1);
      expect(events.map((e) => e.type)).toEqual(['appeared', 'byebye']);
      expect(sizes.at(-1)).toEqual({ gateways: 0, aliases: 0, locations: 0, bootIds: 1, pendingFetches: 0 });
      // Back with another BOOTID: still recognised as a reboot.
      t.deliver(alive(6), ROUTER);
      await jest.advanceTimersByTimeAsync(1);
      expect(events.at(-1)).toMatchObject({ type: 'rebooted', previousBootId: 5, bootId: 6 });
      expect(sizes.at(-1)).toEqual({ gateways: 1, aliases: 3, locations: 1, bootIds: 0, pendingFetches: 0 });
      stop();
    });
  });
});
