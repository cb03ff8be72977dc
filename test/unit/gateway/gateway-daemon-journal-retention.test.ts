// The daemon prunes its journal on its timer, and logs a hostile host's repeated refusals once per window (issue 9, item 5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { openSqliteGatewayJournal } from '../../../plugin/gateway/sqlite-gateway-journal';
import { advance, CONSOLE, PLUG, requester, startTestDaemon, testConfig, testWorld } from './support';

const pinhole = (client: string, port: number, lease = 600) => ({ remoteHost: '', remotePort: 0, internalClient: client, internalPort: port, protocol: 'udp' as const, leaseSeconds: lease });

describe('gateway daemon: journal retention and refusal logging', () => {
  let dir: string;
  let daemon: GatewayDaemon | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-gw-retention-'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes ended needs and old decisions on its timer, keeping the live need', async () => {
    const world = testWorld();
    const config = testConfig({ journal: { path: null, retentionSeconds: 60, pruneIntervalSeconds: 30 } });
    const journal = openSqliteGatewayJournal(join(dir, 'state', 'gateway.db'), world.log, () => world.scheduler.now(), {
      retention: { maxAgeMs: 60_000, maxBytes: 1 << 20, pruneEveryWrites: 1_000_000 },
      defer: queueMicrotask, // the prune's steps run within advance()'s microtask turns (setImmediate would wait for real time)
    });
    daemon = await startTestDaemon(world, config, { openJournal: () => journal });
    const live = await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 3600), requester(CONSOLE));
    expect(live).toEqual({ ok: true, value: { uniqueId: 1 } });
    for (let port = 4000; port < 4010; port++) {
      expect(await daemon.decider.addPinhole(pinhole(CONSOLE, port, 3600), requester(CONSOLE))).toMatchObject({ ok: true });
      expect(await daemon.decider.deletePinhole({ uniqueId: daemon.needs.list().find((n) => n.request.internalPort === port)!.uniqueId! }, requester(CONSOLE))).toMatchObject({ ok: true });
    }
    expect(journal.journal.needs({ includeEnded: true })).toHaveLength(11);
    const decisionsBefore = journal.journal.decisions({ limit: 10_000 }).length;
    expect(decisionsBefore).toBeGreaterThan(10);

    await advance(world.scheduler, 120_000); // past the retention, several prune ticks

    expect(journal.journal.needs({ includeEnded: true }).map((n) => n.id)).toEqual([`upnp6:udp:${CONSOLE}:3074:*:0`]);
    expect(journal.journal.decisions({ limit: 10_000 }).length).toBeLessThan(decisionsBefore);
    expect(journal.journal.pendingIntents()).toEqual([]);
    expect(journal.journal.grants().map((g) => g.needId)).toEqual([`upnp6:udp:${CONSOLE}:3074:*:0`]);
    expect(world.lines.some((l) => l.msg === 'journal pruned' && (l.needs as number) >= 10)).toBe(true);
    // UniqueIDs are never handed out twice, even though the needs that carried them are gone.
    expect(await daemon.decider.addPinhole(pinhole(CONSOLE, 5000, 3600), requester(CONSOLE))).toEqual({ ok: true, value: { uniqueId: 12 } });
  });

  it("logs one host's repeated refusals once, then one line with the count when the window ends", async () => {
    const world = testWorld();
    daemon = await startTestDaemon(world, testConfig({ log: { refusalWindowSeconds: 10 } }));
    for (let i = 0; i < 50; i++) expect(await daemon.decider.addPinhole(pinhole(PLUG, 5540 + i), requester(PLUG))).toMatchObject({ ok: false, code: 606 });
    const refusals = () => world.lines.filter((l) => l.component === 'engine' && String(l.msg).startsWith('decision'));
    expect(refusals()).toHaveLength(1);
    expect(refusals()[0]).toMatchObject({ msg: 'decision', verdict: 'denied', deviceId: 'plug' });
    await advance(world.scheduler, 11_000);
    expect(refusals()).toHaveLength(2);
    expect(refusals()[1]).toMatchObject({ msg: 'decision (repeated)', client: 'plug', count: 49, windowSeconds: 10 });
    expect(daemon.history.recent(100).filter((d) => d.verdict === 'denied')).toHaveLength(50); // every decision is still kept
  });
});
