import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayCommand } from '../../../plugin/cli/commands/replay';
import { UsageError } from '../../../plugin/cli/command';
import { EventLogError, generateSyntheticHome, parseEventLog, replayEvents } from '../../../plugin/replay';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), interrupted: () => new Promise<void>(() => {}) } };
}

describe('homenet replay', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'homenet-replay-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes decisions and actions as JSON lines and prints a JSON summary', async () => {
    const out = join(dir, 'decisions.jsonl');
    const c = io();
    const code = await replayCommand.run([join(__dirname, '..', '..', 'scenarios', 'two-consoles-3074.jsonl'), '--out', out, '--summary-json'], c.io);
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(lines[3]).toMatchObject({ type: 'decision', needId: 'b-match', verdict: 'granted-with-changes' });
    const summary = JSON.parse(c.out[0]);
    expect(summary).toMatchObject({ events: 11, grants: 2, conflicts: { total: 1 } });
  });

  it('names the line of a bad event', async () => {
    const log = join(dir, 'bad.jsonl');
    writeFileSync(log, ['{"at":0,"type":"gateway-seen","gatewayId":"gw"}', '', '{"at":5,"type":"need-submitted","need":{"id":"x"}}'].join('\n'));
    const c = io();
    expect(await replayCommand.run([log], c.io)).toBe(1);
    expect(c.err[0]).toBe(`homenet replay: ${log}:3: field 'need.requester': expected an object, got nothing`);
    expect(() => parseEventLog('{"at":0,"type":"tick"}\nnot json', 'x')).toThrow(/^x:2: invalid JSON/);
    expect(() => parseEventLog('{"at":5,"type":"tick"}\n{"at":1,"type":"tick"}', 'x')).toThrow('x:2: "at" goes back in time (1 < 5)');
    expect(() => parseEventLog('{"type":"tick"}', 'x')).toThrow(EventLogError);
    expect(() => parseEventLog('{"at":1,"type":"nope"}', 'x')).toThrow("x:1: unknown event type 'nope'");
  });

  it('refuses an identity of the wrong type with the line and field, not a TypeError', async () => {
    const log = join(dir, 'EVENTS.jsonl');
    writeFileSync(log, ['{"at":0,"type":"tick"}', '{"at":1,"type":"device-seen","deviceId":"d","identities":{"mac":42}}'].join('\n'));
    const c = io();
    expect(await replayCommand.run([log], c.io)).toBe(1);
    expect(c.err).toEqual([`homenet replay: ${log}:2: field 'identities.mac': expected a string, got 42`]);
    expect(c.out).toEqual([]);
  });

  it('rejects bad arguments with a UsageError', async () => {
    await expect(replayCommand.run([], io().io)).rejects.toThrow(UsageError);
    await expect(replayCommand.run(['--generate', '--devices', '10', '--needs', 'x', '--out', join(dir, 'g')], io().io)).rejects.toThrow("--needs must be a non-negative integer, got 'x'");
    await expect(replayCommand.run(['a', '--bogus'], io().io)).rejects.toThrow(UsageError);
  });

  it('generates the same synthetic home for the same seed, and replays it', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const c = io();
    expect(await replayCommand.run(['--generate', '--devices', '60', '--needs', '200', '--seed', '5', '--out', a], c.io)).toBe(0);
    expect(await replayCommand.run(['--generate', '--devices', '60', '--needs', '200', '--seed', '5', '--out', b], c.io)).toBe(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    expect(c.out[0]).toMatch(/^wrote \d+ events to /);
    const r = io();
    expect(await replayCommand.run([a, '--auto-ack', '--tail', '3600000'], r.io)).toBe(0);
    expect(r.out[0]).toMatch(/^events \d+ over 18000000 ms virtual time/);
  });

  it('synthetic homes exercise grants, conflicts, Matter denials and the reboot', () => {
    const events = generateSyntheticHome({ devices: 200, needs: 1000, seed: 42 });
    const { summary, snapshot } = replayEvents(events, { autoAck: true });
    expect(summary.needs.submitted).toBe(1000);
    expect(summary.grants).toBeGreaterThan(500);
    expect(summary.denialsByReason['matter-device-isolation']).toBeGreaterThan(10);
    expect(summary.conflicts.byCode['external-port-in-use']).toBeGreaterThan(0);
    expect(summary.actions.add).toBeGreaterThan(summary.needs.everGranted);
    expect(snapshot.grants.every((g) => g.state === 'active')).toBe(true);
    const other = generateSyntheticHome({ devices: 200, needs: 1000, seed: 43 });
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(events));
  });
});
