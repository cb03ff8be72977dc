import { VirtualTimeScheduler } from 'rxjs';
import { UpnpFault } from '../../../adapters/upnp/upnp-fault';
import type { PortMappingEntry, PortRangeQuery } from '../../../adapters/upnp/wan-ip-connection';
import { AccountedMapping, auditFindings, ProtectedDevice, RouterAudit, RouterAuditEvent, RouterMappingListing, upnpRouterMappings } from '../../../plugin/hub/router-audit';
import { advance, settle } from '../pcp/fake-pcp-transport';

const IGD2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';
const IGD1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';

function mapping(externalPort: number, internalClient: string, over: Partial<PortMappingEntry> = {}): PortMappingEntry {
  return { remoteHost: '', externalPort, protocol: 'udp', internalPort: externalPort, internalClient, enabled: true, description: 'libminiupnpc', leaseDurationSeconds: 3600, ...over };
}

/** A router's WANIPConnection as the audit sees it; `table` is what it holds. */
function fakeIpc(serviceType: string, table: PortMappingEntry[], options: { listAnswersExtra?: number; noList?: boolean } = {}) {
  const calls: string[] = [];
  const fault = (code: number, action: string) => new UpnpFault({ code, description: '', action, serviceType });
  return {
    calls,
    serviceType,
    async getListOfPortMappings(q: PortRangeQuery & { numberOfPorts: number }) {
      calls.push(`list ${q.protocol} ${q.numberOfPorts}`);
      if (options.noList) throw fault(401, 'GetListOfPortMappings');
      const mine = table.filter((m) => m.protocol === q.protocol);
      if (mine.length === 0) throw fault(714, 'GetListOfPortMappings');
      // A hostile router answers more than it was asked for.
      const extra = Array.from({ length: options.listAnswersExtra ?? 0 }, (_, i) => mapping(50000 + i, '192.168.77.99', { protocol: q.protocol }));
      return options.listAnswersExtra ? [...mine, ...extra] : mine.slice(0, q.numberOfPorts);
    },
    async getGenericPortMappingEntry(index: number) {
      calls.push(`index ${index}`);
      const m = table[index];
      if (!m) throw fault(713, 'GetGenericPortMappingEntry');
      return m;
    },
  };
}

const PLUG: ProtectedDevice = { address: '192.168.77.20', name: 'lab plug' };

describe('upnpRouterMappings: the router listed, bounded', () => {
  it('IGD:2: GetListOfPortMappings per protocol', async () => {
    const ipc = fakeIpc(IGD2, [mapping(3074, '192.168.77.10'), mapping(8080, '192.168.77.20', { protocol: 'tcp' })]);
    const listing = await upnpRouterMappings(ipc).listPortMappings();
    expect(listing).toEqual({ mappings: [mapping(3074, '192.168.77.10'), mapping(8080, '192.168.77.20', { protocol: 'tcp' })], truncated: false, via: 'GetListOfPortMappings' });
    expect(ipc.calls).toEqual(['list udp 257', 'list tcp 256']);
  });

  it('IGD:1: GetGenericPortMappingEntry by index until 713', async () => {
    const ipc = fakeIpc(IGD1, [mapping(3074, '192.168.77.10'), mapping(3075, '192.168.77.11')]);
    const listing = await upnpRouterMappings(ipc).listPortMappings();
    expect(listing).toMatchObject({ truncated: false, via: 'GetGenericPortMappingEntry' });
    expect(listing.mappings.map((m) => m.externalPort)).toEqual([3074, 3075]);
    expect(ipc.calls).toEqual(['index 0', 'index 1', 'index 2']);
  });

  it('an IGD:2 router without GetListOfPortMappings (401): falls back to the index', async () => {
    const ipc = fakeIpc(IGD2, [mapping(3074, '192.168.77.10')], { noList: true });
    const listing = await upnpRouterMappings(ipc).listPortMappings();
    expect(listing).toMatchObject({ via: 'GetGenericPortMappingEntry', mappings: [mapping(3074, '192.168.77.10')] });
  });

  it('a router with more mappings than the bound: at most maxEntries read, truncated said', async () => {
    const table = Array.from({ length: 40 }, (_, i) => mapping(40000 + i, '192.168.77.10'));
    const byIndex = fakeIpc(IGD1, table);
    const a = await upnpRouterMappings(byIndex, { maxEntries: 10 }).listPortMappings();
    expect([a.mappings.length, a.truncated]).toEqual([10, true]);
    expect(byIndex.calls).toHaveLength(11);
    const hostile = fakeIpc(IGD2, table.slice(0, 3), { listAnswersExtra: 5000 });
    const b = await upnpRouterMappings(hostile, { maxEntries: 10 }).listPortMappings();
    expect([b.mappings.length, b.truncated]).toEqual([10, true]);
    expect(() => upnpRouterMappings(hostile, { maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('a fault other than the end of the table is an error, not an empty listing', async () => {
    const ipc = fakeIpc(IGD1, []);
    ipc.getGenericPortMappingEntry = async () => {
      throw new UpnpFault({ code: 606, description: 'Action not authorized', action: 'GetGenericPortMappingEntry', serviceType: IGD1 });
    };
    await expect(upnpRouterMappings(ipc).listPortMappings()).rejects.toThrow(/606/);
  });
});

describe('auditFindings', () => {
  it('flags a mapping to a Matter device and one nobody accounts for; an accounted mapping is fine', () => {
    const accounted: AccountedMapping[] = [{ protocol: 'udp', externalPort: 3074, internalClient: '192.168.77.10', owner: 'need-1' }];
    const findings = auditFindings([mapping(3074, '192.168.77.10'), mapping(8080, '192.168.77.20', { protocol: 'tcp' }), mapping(3075, '192.168.77.11')], [PLUG], accounted);
    expect(findings.map((f) => [f.kind, f.mapping.externalPort])).toEqual([
      ['mapping-to-matter-device', 8080],
      ['mapping-not-reported', 3075],
    ]);
    expect(findings[0].text).toMatch(/Matter device lab plug \(192\.168\.77\.20\): TCP external port 8080 → 192\.168\.77\.20:8080 "libminiupnpc"/);
    expect(findings[1].text).toMatch(/no need of the hub's and no agent's report accounts for: UDP external port 3075 → 192\.168\.77\.11:3075/);
  });
});

describe('RouterAudit: periodic, each finding once, cleared when gone', () => {
  function setup() {
    const scheduler = new VirtualTimeScheduler();
    let table: PortMappingEntry[] = [mapping(3074, '192.168.77.10')];
    let accounted: AccountedMapping[] = [{ protocol: 'udp', externalPort: 3074, internalClient: '192.168.77.10' }];
    let failing: Error | undefined;
    let truncated = false;
    const source = {
      listPortMappings: async (): Promise<RouterMappingListing> => {
        if (failing) throw failing;
        return { mappings: table, truncated, via: 'GetListOfPortMappings' };
      },
    };
    const audit = new RouterAudit({ source, protectedDevices: () => [PLUG], accountedMappings: () => accounted, periodSeconds: 30, scheduler });
    const events: RouterAuditEvent[] = [];
    audit.events$.subscribe((e) => events.push(e));
    return {
      scheduler,
      audit,
      events,
      setTable: (t: PortMappingEntry[]) => (table = t),
      setAccounted: (a: AccountedMapping[]) => (accounted = a),
      fail: (e: Error | undefined) => (failing = e),
      truncate: (t: boolean) => (truncated = t),
    };
  }

  const tick = async (scheduler: VirtualTimeScheduler, ms: number) => {
    advance(scheduler, ms);
    for (let i = 0; i < 3; i++) await settle();
  };

  it('a mapping the plug made appears within one period, is reported once, and is cleared when removed', async () => {
    const w = setup();
    w.audit.start();
    await tick(w.scheduler, 0);
    expect(w.events).toEqual([]);
    w.setTable([mapping(3074, '192.168.77.10'), mapping(9000, '192.168.77.20')]);
    await tick(w.scheduler, 30_000);
    expect(w.events.map((e) => e.type === 'finding' && e.finding.kind)).toEqual(['mapping-to-matter-device']);
    await tick(w.scheduler, 90_000);
    expect(w.events).toHaveLength(1);
    expect(w.audit.findings).toHaveLength(1);
    w.setTable([mapping(3074, '192.168.77.10')]);
    await tick(w.scheduler, 30_000);
    expect(w.events.map((e) => e.type)).toEqual(['finding', 'cleared']);
    expect(w.events[1].text).toMatch(/resolved: .*9000/);
    expect(w.audit.findings).toEqual([]);
    w.audit.stop();
  });

  it('an unreported mapping that the hub learns of (an agent reports it) is cleared', async () => {
    const w = setup();
    w.setTable([mapping(3074, '192.168.77.10'), mapping(3075, '192.168.77.11')]);
    await w.audit.runOnce();
    expect(w.events.map((e) => e.type === 'finding' && e.finding.kind)).toEqual(['mapping-not-reported']);
    w.setAccounted([
      { protocol: 'udp', externalPort: 3074, internalClient: '192.168.77.10' },
      { protocol: 'udp', externalPort: 3075, internalClient: '192.168.77.11', owner: 'agent console2' },
    ]);
    await w.audit.runOnce();
    expect(w.events.map((e) => e.type)).toEqual(['finding', 'cleared']);
  });

  it('a router that cannot be listed: one audit-failed per distinct failure, findings stand', async () => {
    const w = setup();
    w.setTable([mapping(9000, '192.168.77.20')]);
    await w.audit.runOnce();
    w.fail(new Error('connect ECONNREFUSED'));
    await expect(w.audit.runOnce()).rejects.toThrow(/ECONNREFUSED/);
    await expect(w.audit.runOnce()).rejects.toThrow(/ECONNREFUSED/);
    expect(w.events.map((e) => e.type)).toEqual(['finding', 'audit-failed']);
    expect(w.audit.findings).toHaveLength(1);
    expect(() => new RouterAudit({ source: { listPortMappings: async () => ({ mappings: [], truncated: false, via: 'GetListOfPortMappings' }) }, protectedDevices: () => [], accountedMappings: () => [], periodSeconds: 0 })).toThrow(/periodSeconds/);
  });

  it('a truncated listing does not clear findings it may not have seen', async () => {
    const w = setup();
    w.setTable([mapping(9000, '192.168.77.20')]);
    await w.audit.runOnce();
    w.setTable([]);
    w.truncate(true);
    await w.audit.runOnce();
    expect(w.events.map((e) => e.type)).toEqual(['finding']);
    w.truncate(false);
    await w.audit.runOnce();
    expect(w.events.map((e) => e.type)).toEqual(['finding', 'cleared']);
  });
});
