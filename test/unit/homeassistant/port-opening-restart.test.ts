/**
 * The owner's switch survives a daemon restart: written beside the journal,
 * given to the engine before the journal's needs, so the switched-off
 * console's recovered need is refused like a new one.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE, startTestDaemon, testConfig, testWorld } from '../gateway/support';

describe('port opening switch across a daemon restart', () => {
  it('is persisted (0600) and applied at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homenet-switch-'));
    try {
      const journal = join(dir, 'gateway.db');
      const config = testConfig({ journal: { path: journal }, devices: { known: [{ id: 'console', kind: 'game-console', addresses: [CONSOLE] }], watchNeighbours: false } });
      const world = testWorld();
      const first = await startTestDaemon(world, config);
      const need = { id: 'game', requester: { deviceId: 'console', address: CONSOLE }, protocol: 'udp' as const, internalPort: 3074, internalClient: CONSOLE, family: 'ipv6' as const, class: 'game-session' as const };
      first.engine.submit({ type: 'need-submitted', need });
      expect(first.engine.snapshot().grants).toHaveLength(1);
      expect(first.portOpening!.set('console', false, 'admin:test')).toBe(true);
      expect(first.engine.snapshot().grants).toHaveLength(0);
      await first.stop();
      expect(statSync(`${journal}.owner-settings.json`).mode & 0o777).toBe(0o600);

      const second = await startTestDaemon(testWorld(), config);
      try {
        expect(second.portOpening!.allowed('console')).toBe(false);
        const decisions: string[] = [];
        const sub = second.engine.decisions$.subscribe((d) => decisions.push(`${d.verdict} ${d.reasons[0]?.code ?? ''}`));
        second.engine.submit({ type: 'need-submitted', need: { ...need, id: 'game-2' } });
        sub.unsubscribe();
        expect(decisions).toEqual(['denied port-opening-disabled']);
        expect(second.portOpening!.set('console', true, 'admin:test')).toBe(true);
        second.engine.submit({ type: 'need-submitted', need: { ...need, id: 'game-3' } });
        expect(second.engine.snapshot().grants).toHaveLength(1);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
