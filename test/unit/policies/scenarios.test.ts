/**
 * Replays the scenario logs of test/scenarios through plugin/replay and checks
 * the specific decisions (verdicts, reason codes, rules, conflicting parties),
 * actions and summary numbers.
 */
import { join } from 'node:path';
import { Action, Decision } from '../../../policies';
import { readEventLog, replayEvents, ReplayResult } from '../../../plugin/replay';

const dir = join(__dirname, '..', '..', 'scenarios');

async function replay(name: string, tailMs = 0): Promise<ReplayResult & { decisions: Decision[]; actions: Action[]; lines: string[] }> {
  const events = await readEventLog(join(dir, name));
  const decisions: Decision[] = [];
  const actions: Action[] = [];
  const lines: string[] = [];
  const result = replayEvents(events, {
    tailMs,
    onOutput: (o) => {
      lines.push(JSON.stringify(o));
      if (o.type === 'decision') decisions.push(o);
      else actions.push(o);
    },
  });
  return { ...result, decisions, actions, lines };
}

const brief = (d: Decision) => [d.at, d.needId, d.verdict, d.reasons.map((r) => `${r.rule}/${r.code}${r.conflictsWith ? `!${r.conflictsWith.id}` : ''}`).join(' ')];

describe('scenario: two consoles on one UDP port', () => {
  it('first keeps 3074, second gets 3075 naming the first, both withdrawn when their sessions end', async () => {
    const r = await replay('two-consoles-3074.jsonl');
    expect(r.decisions.map(brief)).toEqual([
      [1000, 'a-match', 'granted', 'capacity/admitted capacity/admitted'],
      [2000, 'b-match', 'granted-with-changes', 'capacity/admitted capacity/admitted ipv4-external-port-exclusive/external-port-in-use!a-match'],
      [1800000, 'a-match', 'withdrawn', 'lease-policy/session-ended'],
      [2400000, 'b-match', 'withdrawn', 'lease-policy/session-ended'],
    ]);
    expect(r.decisions[1].changes).toEqual([{ field: 'externalPort', family: 'ipv4', wanted: 3074, got: 3075 }]);
    expect(r.actions.filter((a) => a.table === 'port-mapping').map((a) => `${a.op}:${a.externalPort}`)).toEqual(['add:3074', 'add:3075', 'delete:3074', 'delete:3075']);
    expect(r.summary).toMatchObject({
      events: 11, decisions: 4, grants: 2, actions: { add: 4, renew: 0, delete: 4 },
      verdicts: { granted: 1, 'granted-with-changes': 1, withdrawn: 2 },
      conflicts: { total: 1, byCode: { 'external-port-in-use': 1 } },
      needs: { submitted: 2, everGranted: 2, activeAtEnd: 0 },
      timeToGrantMs: { count: 2, p50: 0, p99: 0 },
      grantsAtEnd: 0,
    });
  });
});

describe('scenario: a Matter plug appears mid-session', () => {
  it('loses its pinhole in the very event that reveals it, the console keeps its grants', async () => {
    const r = await replay('matter-plug-mid-session.jsonl');
    expect(r.decisions.map(brief)).toEqual([
      [1000, 'a-match', 'granted', 'capacity/admitted capacity/admitted'],
      [2000, 'plug-remote', 'granted', 'capacity/admitted'],
      [600000, 'plug-remote', 'denied', 'matter-isolation/matter-device-isolation!mdns:plug-4c1d.local'],
      [720000, 'plug-retry', 'denied', 'matter-isolation/matter-device-isolation!mdns:plug-4c1d.local'],
      [1800000, 'a-match', 'withdrawn', 'lease-policy/session-ended'],
    ]);
    const reveal = r.actions.filter((a) => a.at === 600000);
    expect(reveal).toEqual([expect.objectContaining({ op: 'delete', table: 'pinhole', internalClient: '2001:db8:1::42', internalPort: 5540, uniqueId: 21 })]);
    expect(r.summary.denialsByReason).toEqual({ 'matter-device-isolation': 2 });
    expect(r.summary.actions).toEqual({ add: 3, renew: 0, delete: 3 });
  });
});

describe('scenario: prefix change', () => {
  it('moves the pinhole to the new stable address and leaves the IPv4 mapping alone', async () => {
    const r = await replay('prefix-change.jsonl');
    expect(r.decisions.map(brief)[1]).toEqual([1200000, 'a-match', 'granted-with-changes', 'capacity/admitted address-churn/address-followed capacity/admitted']);
    expect(r.decisions[1].changes).toEqual([{ field: 'internalClient', family: 'ipv6', wanted: '2001:db8:1::a', got: '2001:db8:2::a' }]);
    expect(r.actions.filter((a) => a.at === 1200000).map((a) => `${a.op} ${a.internalClient} ${a.reason.code}`)).toEqual([
      'delete 2001:db8:1::a address-followed',
      'add 2001:db8:2::a admitted',
    ]);
    expect(r.summary).toMatchObject({ decisions: 3, grants: 2, actions: { add: 3, renew: 0, delete: 3 } });
  });
});

describe('scenario: router reboot', () => {
  it('re-adds every active grant with new generations and converges to the same desired state', async () => {
    const r = await replay('router-reboot.jsonl');
    const readd = r.actions.filter((a) => a.at === 900000);
    expect(readd.map((a) => `${a.op} ${a.grantId} g${a.generation} ${a.reason.rule}/${a.reason.code}`)).toEqual([
      'add a-match#ipv6 g4 router-feedback/gateway-rebooted',
      'add a-match#ipv4 g5 router-feedback/gateway-rebooted',
      'add b-voice#ipv6 g6 router-feedback/gateway-rebooted',
    ]);
    expect(r.decisions.map((d) => d.at)).toEqual([1000, 1000]);
    expect(r.snapshot.grants.map((g) => [g.id, g.state, g.generation, g.uniqueId ?? null, g.internalClient, g.externalPort ?? null])).toEqual([
      ['a-match#ipv4', 'active', 5, null, '192.168.1.10', 3074],
      ['a-match#ipv6', 'active', 4, 7, '2001:db8:1::a', null],
      ['b-voice#ipv6', 'active', 6, 8, '2001:db8:1::b', null],
    ]);
    expect(r.summary).toMatchObject({ actions: { add: 6, renew: 0, delete: 0 }, grantsAtEnd: 3, needs: { activeAtEnd: 2 } });
  });

  it('keeps renewing before half-life when the clock runs on', async () => {
    const r = await replay('router-reboot.jsonl', 3600_000);
    const renewals = r.actions.filter((a) => a.op === 'renew');
    // voice leases are capped at 3600 s: renew at 0.4 of the lease after the re-add at 900 000 ms
    expect(renewals.map((a) => `${a.grantId}@${a.at}`)).toEqual(['b-voice#ipv6@2340000', 'a-match#ipv6@3780000', 'a-match#ipv4@3780000', 'b-voice#ipv6@3780000']);
  });
});

describe('scenario: IPv6-mostly switch', () => {
  it('turns the IPv4 need into an IPv6 pinhole and marks IPv4 ineffective under DS-Lite and CGNAT', async () => {
    const r = await replay('ipv6-mostly-switch.jsonl');
    expect(r.decisions.map(brief)).toEqual([
      [1000, 'a-v4', 'granted', 'capacity/admitted'],
      [300000, 'a-v4', 'granted-with-changes', 'ipv6-mostly/ipv6-only-host capacity/admitted'],
      [660000, 'pc-v4', 'ineffective', 'ipv6-mostly/ds-lite!wan-ipv4'],
      [720000, 'pc-both', 'granted-with-changes', 'capacity/admitted ipv6-mostly/ds-lite!wan-ipv4'],
      [1200000, 'pc-both', 'granted-with-changes', 'capacity/admitted ipv6-mostly/cgnat!wan-ipv4'],
      [1260000, 'pc-cgnat', 'ineffective', 'ipv6-mostly/cgnat!wan-ipv4'],
    ]);
    expect(r.decisions[1].changes).toEqual([{ field: 'family', wanted: 'ipv4', got: 'ipv6' }]);
    expect(r.decisions[1].grants).toMatchObject([{ family: 'ipv6', table: 'pinhole', internalClient: '2001:db8:1::a' }]);
    expect(r.decisions[3].changes).toEqual([{ field: 'family', wanted: 'both', got: 'ipv6' }]);
    expect(r.summary.ineffectiveByReason).toEqual({ cgnat: 1, 'ds-lite': 1 });
    expect(r.summary).toMatchObject({ decisions: 6, actions: { add: 3, delete: 1 }, needs: { submitted: 4, everGranted: 2 } });
  });
});

describe('scenario replay determinism', () => {
  it('gives byte-identical output twice', async () => {
    for (const name of ['two-consoles-3074.jsonl', 'router-reboot.jsonl', 'ipv6-mostly-switch.jsonl']) {
      const a = await replay(name, 7200_000);
      const b = await replay(name, 7200_000);
      expect(a.lines.length).toBeGreaterThan(4);
      expect(b.lines.join('\n')).toBe(a.lines.join('\n'));
    }
  });
});
