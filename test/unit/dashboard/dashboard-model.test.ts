import fc from 'fast-check';
import {
  clockOffsetMs,
  DECISIONS_KEPT,
  DecisionView,
  deviceProtection,
  emptyModel,
  formatDuration,
  GrantView,
  grantEndpoint,
  leaseLeft,
  reasonText,
  timeline,
  timelineDevices,
  waitingNeeds,
  withDecisions,
  withGrants,
  withServer,
  withSnapshot,
} from '../../../plugin/dashboard/dashboard-model';

const decision = (seq: number, deviceId: string, verdict: string, at = seq * 1000): DecisionView => ({
  seq,
  at,
  cause: 'need-submitted',
  needId: `n${seq}`,
  deviceId,
  verdict,
  reasons: [{ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: deviceId }, detail: `${deviceId} is matter` }],
});

const grant = (id: string, expiresAt: number, family: 'ipv4' | 'ipv6' = 'ipv6'): GrantView => ({
  id,
  needId: id,
  table: family === 'ipv6' ? 'pinhole' : 'port-mapping',
  family,
  protocol: 'udp',
  internalClient: family === 'ipv6' ? '2001:db8::5' : '192.168.77.10',
  internalPort: 3074,
  ...(family === 'ipv4' ? { externalPort: 3075 } : {}),
  leaseSeconds: 300,
  expiresAt,
  state: 'active',
});

describe('dashboard model', () => {
  it('keeps decisions in seq order without duplicates, whatever order they arrive in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 80 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 80 }), (a, b) => {
        let model = withDecisions(emptyModel(), a.map((s) => decision(s, 'd', 'granted')));
        model = withDecisions(model, b.map((s) => decision(s, 'd', 'denied')));
        const seqs = model.decisions.map((d) => d.seq);
        expect(seqs).toEqual([...new Set([...a, ...b])].sort((x, y) => x - y));
        // A decision seen again is replaced by the newer copy.
        for (const d of model.decisions) if (b.includes(d.seq)) expect(d.verdict).toBe('denied');
      }),
    );
  });

  it(`keeps only the newest ${DECISIONS_KEPT} decisions`, () => {
    const model = withDecisions(emptyModel(), Array.from({ length: DECISIONS_KEPT + 20 }, (_, i) => decision(i + 1, 'd', 'granted')));
    expect(model.decisions).toHaveLength(DECISIONS_KEPT);
    expect(model.decisions[0].seq).toBe(21);
  });

  it('filters the timeline by device and verdict, newest first; "granted" includes granted-with-changes', () => {
    const model = withDecisions(emptyModel(), [decision(1, 'plug', 'denied'), decision(2, 'console', 'granted'), decision(3, 'console', 'granted-with-changes'), decision(4, 'plug', 'denied'), decision(5, 'console', 'denied')]);
    expect(timeline(model).map((d) => d.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(timeline(model, { deviceId: 'plug' }).map((d) => d.seq)).toEqual([4, 1]);
    expect(timeline(model, { verdict: 'granted' }).map((d) => d.seq)).toEqual([3, 2]);
    expect(timeline(model, { deviceId: 'console', verdict: 'denied' }).map((d) => d.seq)).toEqual([5]);
    expect(timeline(model, { deviceId: 'lock' })).toEqual([]);
    expect(timeline(model, {}, 2).map((d) => d.seq)).toEqual([5, 4]);
  });

  it('offers every known device and every device a decision names in the device filter', () => {
    let model = withSnapshot(emptyModel(), { devices: [{ id: 'plug', kinds: [], addresses: [], ownerAllowed: false }] }, 0);
    model = withDecisions(model, [decision(1, 'mac:aa', 'granted')]);
    expect(timelineDevices(model)).toEqual(['mac:aa', 'plug']);
  });

  it('says a Matter device is protected with its evidence, unless the owner allowed it; other kinds are not', () => {
    const matter = { id: 'plug', kinds: [{ kind: 'matter', evidence: 'config:devices.known' }], addresses: [], ownerAllowed: false };
    expect(deviceProtection(matter)).toEqual({ protected: true, because: 'matter (config:devices.known)' });
    expect(deviceProtection({ ...matter, ownerAllowed: true })).toMatchObject({ protected: false });
    expect(deviceProtection({ ...matter, kinds: [{ kind: 'game-console', evidence: 'mdns' }] })).toEqual({ protected: false, because: 'no isolated kind' });
    expect(deviceProtection({ ...matter, kinds: [] })).toEqual({ protected: false, because: 'kind unknown' });
  });

  it('counts leases down and formats them', () => {
    expect(leaseLeft(10_000, 4_400)).toBe(6);
    expect(leaseLeft(10_000, 20_000)).toBe(0);
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(-3)).toBe('0:00');
  });

  it('samples the open-port count only when it changes', () => {
    let model = withGrants(emptyModel(), [], 1000);
    model = withGrants(model, [grant('a', 5000)], 2000);
    model = withGrants(model, [grant('a', 6000)], 3000);
    model = withGrants(model, [], 4000);
    expect(model.openPorts).toEqual([
      { at: 1000, open: 0 },
      { at: 2000, open: 1 },
      { at: 4000, open: 0 },
    ]);
  });

  it('writes grants, reasons and waiting needs as a person reads them', () => {
    expect(grantEndpoint(grant('a', 0))).toBe('udp [2001:db8::5]:3074');
    expect(grantEndpoint(grant('b', 0, 'ipv4'))).toBe('udp :3075 -> 192.168.77.10:3074');
    expect(reasonText(decision(1, 'plug', 'denied').reasons[0])).toBe('matter-isolation/matter-device-isolation (device plug): plug is matter');
    expect(reasonText({ rule: 'capacity', code: 'admitted', family: 'ipv6' })).toBe('capacity/admitted [ipv6]');
    const need = { id: 'n', source: 'upnp', deviceId: 'c', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8::5', internalPort: 1 };
    const model = withSnapshot(emptyModel(), { needs: [{ ...need, id: 'a', verdict: 'granted' }, { ...need, id: 'b', verdict: 'queued' }, { ...need, id: 'c', verdict: 'granted-with-changes' }] }, 0);
    expect(waitingNeeds(model).map((n) => n.id)).toEqual(['b']);
  });

  it('drops the decisions it holds when the daemon restarted (a new started_at), keeps them on a mere reconnect', () => {
    let model = withServer(emptyModel(), { started_at: '2026-01-01T00:00:00Z' });
    model = withDecisions(model, [decision(1, 'plug', 'denied')]);
    expect(withServer(model, { started_at: '2026-01-01T00:00:00Z', grants: 3 }).decisions).toHaveLength(1);
    const restarted = withServer(model, { started_at: '2026-01-01T00:05:00Z' });
    expect(restarted.decisions).toEqual([]);
    expect(restarted.info?.started_at).toBe('2026-01-01T00:05:00Z');
  });

  it("reads the server's clock from a Date header, ignoring what its 1 s resolution cannot tell", () => {
    const server = Date.parse('Mon, 30 Nov 2026 01:00:00 GMT');
    expect(clockOffsetMs('Mon, 30 Nov 2026 01:00:00 GMT', server + 300)).toBe(0);
    expect(clockOffsetMs('Mon, 30 Nov 2026 01:00:00 GMT', server - 60_000)).toBe(60_500);
    expect(clockOffsetMs('Mon, 30 Nov 2026 01:00:00 GMT', server + 10_000)).toBe(-9_500);
    expect(clockOffsetMs(null, server)).toBe(0);
    expect(clockOffsetMs('not a date', server)).toBe(0);
  });
});
