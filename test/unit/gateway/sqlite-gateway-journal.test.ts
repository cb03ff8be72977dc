import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { openSqliteGatewayJournal } from '../../../plugin/gateway/sqlite-gateway-journal';
import { silentLogger } from '../../../plugin/gateway/structured-log';
import { advance, CONSOLE, CONSOLE_V4, requester, startTestDaemon, testWorld } from './support';

describe('gateway daemon on the SQLite journal', () => {
  let dir: string;
  let daemon: GatewayDaemon | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-gw-'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a killed daemon restarts with every grant, UniqueIDs kept, leases not extended, intents settled', async () => {
    const world = testWorld();
    const path = join(dir, 'gateway.db');
    const open = () => openSqliteGatewayJournal(path, silentLogger, () => world.scheduler.now());
    let journal = open();
    daemon = await startTestDaemon(world, undefined, { openJournal: () => journal });
    expect(await daemon.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: CONSOLE, internalPort: 3074, protocol: 'udp', leaseSeconds: 300 }, requester(CONSOLE))).toEqual({ ok: true, value: { uniqueId: 1 } });
    expect(
      await daemon.decider.addPortMapping({ remoteHost: '', externalPort: 3074, protocol: 'udp', internalPort: 3074, internalClient: CONSOLE_V4, enabled: true, description: 'game', leaseSeconds: 300 }, requester(CONSOLE_V4)),
    ).toEqual({ ok: true, value: undefined });
    expect(journal.journal.pendingIntents()).toEqual([]);
    expect(journal.journal.grants().map((g) => g.id).sort()).toEqual(daemon.engine.snapshot().grants.map((g) => g.id).sort());
    // kill -9: nothing is stopped or closed properly.
    daemon.engine.dispose();
    daemon = undefined;
    await advance(world.scheduler, 60_000);

    journal = open();
    expect(journal.recovery.grants).toHaveLength(2);
    daemon = await startTestDaemon(world, undefined, { openJournal: () => journal });
    expect(daemon.recovery).toMatchObject({ resubmitted: 2, granted: 2 });
    expect(daemon.needs.byUnique(1)?.request.internalClient).toBe(CONSOLE);
    const entries = await world.firewall.list();
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e.expiresInSeconds).toBeLessThanOrEqual(240);
    const mapping = await daemon.decider.getPortMapping({ remoteHost: '', externalPort: 3074, protocol: 'udp' }, requester(CONSOLE_V4));
    expect(mapping).toMatchObject({ ok: true, value: { internalClient: CONSOLE_V4, description: 'game' } });
    expect(daemon.history.recent(100).length).toBeGreaterThan(0);

    // Past the deadline, with the daemon down, nothing comes back.
    daemon.engine.dispose();
    daemon = undefined;
    await advance(world.scheduler, 300_000);
    journal = open();
    daemon = await startTestDaemon(world, undefined, { openJournal: () => journal });
    expect(daemon.recovery).toMatchObject({ resubmitted: 0, granted: 0 });
    expect(await world.firewall.list()).toEqual([]);
    expect(await daemon.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: CONSOLE, internalPort: 3075, protocol: 'udp', leaseSeconds: 300 }, requester(CONSOLE))).toEqual({ ok: true, value: { uniqueId: 2 } });
  });
});
