// The journal's retention keys and the refusal log window (issue 9, item 5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { effectiveGatewayConfig } from '../../../plugin/gateway/effective-gateway-config';
import { GatewayConfigError, parseGatewayConfig } from '../../../plugin/gateway/gateway-config';

const TOKEN = { admin: { token: 'a-long-enough-secret-0123' } };

function errorOf(input: unknown): string {
  try {
    parseGatewayConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a GatewayConfigError');
}

describe('journal retention and refusal log keys', () => {
  it('default to 7 days, 16 MiB, a prune every 5 minutes and a 60 s refusal window', () => {
    const config = parseGatewayConfig(TOKEN);
    expect(config.journal).toEqual({ path: '/var/lib/homenet/gateway.db', retentionSeconds: 604_800, maxBytes: 16 * 1024 * 1024, pruneIntervalSeconds: 300 });
    expect(config.log).toEqual({ level: 'info', refusalWindowSeconds: 60 });
  });

  it('take what the file says, next to the path', () => {
    const config = parseGatewayConfig({ ...TOKEN, journal: { path: null, retentionSeconds: 3600, maxBytes: 4 * 1024 * 1024, pruneIntervalSeconds: 30 }, log: { level: 'warn', refusalWindowSeconds: 10 } });
    expect(config.journal).toEqual({ path: null, retentionSeconds: 3600, maxBytes: 4 * 1024 * 1024, pruneIntervalSeconds: 30 });
    expect(config.log).toEqual({ level: 'warn', refusalWindowSeconds: 10 });
  });

  it('name the bad key and value', () => {
    expect(errorOf({ ...TOKEN, journal: { maxBytes: 1000 } })).toBe(`config key 'journal.maxBytes': expected an integer in 1048576..1099511627776, got 1000`);
    expect(errorOf({ ...TOKEN, journal: { retentionSeconds: 5 } })).toContain(`'journal.retentionSeconds'`);
    expect(errorOf({ ...TOKEN, journal: { pruneIntervalSeconds: 0 } })).toContain(`'journal.pruneIntervalSeconds'`);
    expect(errorOf({ ...TOKEN, log: { refusalWindowSeconds: 'often' } })).toContain(`'log.refusalWindowSeconds'`);
  });

  it('survive the first-start config, where the journal path comes from the state directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-journal-config-'));
    try {
      const effective = await effectiveGatewayConfig({
        file: { lan: { interfaces: ['lan0'] }, wan: { interface: 'wan0' }, admin: { listen: null }, journal: { maxBytes: 2 * 1024 * 1024 } },
        stateDir: join(dir, 'st'),
        check: true,
        readInterfaces: () => Promise.reject(new Error('not read')),
      });
      expect(effective.config.journal).toMatchObject({ path: join(dir, 'st', 'gateway.db'), maxBytes: 2 * 1024 * 1024 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
