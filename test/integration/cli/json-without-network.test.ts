/**
 * `--json` on a host with no network: the built bin (`dist/homenet.js`) run in
 * an empty network namespace (only a loopback, down, then up) must still print
 * JSON on stdout — a verdict per family, a grade-D report, or an error object —
 * with the README's exit codes, and never hang or print nothing.
 */
import { runCommand, CommandResult } from '../../../adapters/system/run-command';
import { describeAsRoot } from '../../support/describe-as-root';
import { HOMENET } from '../support/lab-fixture';
import { existsSync } from 'node:fs';

jest.setTimeout(60_000);

const NS = `hnjson${(process.pid % 46656).toString(36)}`;

function homenet(args: string[]): Promise<CommandResult> {
  return runCommand('ip', ['netns', 'exec', NS, process.execPath, HOMENET, ...args], { allowFailure: true, timeoutMs: 15_000 });
}

/** Every stdout line is one JSON value; at least one. */
function jsonLines(result: CommandResult): unknown[] {
  const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length).toBeGreaterThan(0);
  try {
    // gateways --json pretty-prints one document: parse the whole text then.
    return result.stdout.trim().startsWith('{\n') ? [JSON.parse(result.stdout)] : lines.map((l) => JSON.parse(l) as unknown);
  } catch (error) {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}\n${String(error)}`);
  }
}

describeAsRoot('--json with no network (an empty network namespace)', () => {
  beforeAll(async () => {
    if (!existsSync(HOMENET)) throw new Error(`${HOMENET} is missing: run 'npm run build' first (npm test does)`);
    await runCommand('ip', ['netns', 'add', NS]);
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'del', NS], { allowFailure: true });
  });

  describe.each([
    ['loopback down', false],
    ['loopback up', true],
  ])('%s', (_name, loopbackUp) => {
    beforeAll(async () => {
      await runCommand('ip', ['-n', NS, 'link', 'set', 'lo', loopbackUp ? 'up' : 'down']);
    });

    it('open --once --json: one unsupported "no network" verdict per family, exit 3', async () => {
      const started = Date.now();
      const result = await homenet(['open', '--protocol', 'udp', '--port', '40000', '--once', '--json']);
      expect(result.code).toBe(3);
      expect(jsonLines(result)).toEqual([
        {
          event: 'opened',
          reachability: [
            { family: 'ipv6', verdict: 'unsupported', grade: 'D', reason: expect.stringMatching(/^no network: this host has no stable, preferred global IPv6 address/) },
            { family: 'ipv4', verdict: 'unsupported', grade: 'D', reason: 'no network: this host has no IPv4 address' },
          ],
        },
      ]);
      expect(Date.now() - started).toBeLessThan(5000); // no discovery timeout waited for
    });

    it('open --family ipv4 --once --json: the one family asked for', async () => {
      const result = await homenet(['open', '--protocol', 'tcp', '--port', '25565', '--family', 'ipv4', '--once', '--json']);
      expect(result.code).toBe(3);
      expect(jsonLines(result)).toEqual([
        { event: 'opened', reachability: [{ family: 'ipv4', verdict: 'unsupported', grade: 'D', reason: 'no network: this host has no IPv4 address' }] },
      ]);
    });

    it('gateways --json: one grade-D report saying there is no network, exit 3', async () => {
      const result = await homenet(['gateways', '--json', '--timeout-ms', '300']);
      expect(result.code).toBe(3);
      const [doc] = jsonLines(result) as { gateways: Record<string, unknown>[] }[];
      expect(doc.gateways).toHaveLength(1);
      expect(doc.gateways[0]).toMatchObject({ grade: 'D', discovered: false, externalIpv4Kind: 'none', seenOver: [] });
      expect(doc.gateways[0].gradeReason).toMatch(/^No network: this host has .* and no IPv4 address/);
      expect(doc.gateways[0].problems).toEqual([{ action: 'discovery', message: expect.stringMatching(/^Cannot watch for gateways/) }]);
    });

    it('gateways --watch --json: an error object and exit 1, not a silent wait for Ctrl-C', async () => {
      const result = await homenet(['gateways', '--watch', '--json']);
      expect(result.code).toBe(1);
      expect(jsonLines(result)).toEqual([{ error: { code: 'upnp-network', message: expect.stringMatching(/^Cannot watch for gateways/) } }]);
    });

    it('close --json: an error object and exit 1', async () => {
      const result = await homenet(['close', '--protocol', 'udp', '--port', '40000', '--json']);
      expect(result.code).toBe(1);
      expect(jsonLines(result)).toEqual([{ error: { code: 'upnp-network', message: expect.stringMatching(/^Cannot search for a gateway/) } }]);
    });
  });

  it('open --json with an address this host does not own: an internal-client error object, exit 1', async () => {
    const result = await homenet(['open', '--protocol', 'udp', '--port', '40000', '--address', '2001:db8::99', '--once', '--json']);
    expect(result.code).toBe(1);
    expect(jsonLines(result)).toEqual([{ error: { code: 'internal-client', message: expect.stringContaining('2001:db8::99 is not an address of this host') } }]);
    expect(result.stderr).toContain('2001:db8::99 is not an address of this host');
  });

  it.each([
    ['open', ['open', '--port', '40000', '--json'], '--protocol must be udp or tcp'],
    ['open', ['open', '--protocol', 'udp', '--port', '40000', '--nope', '--json'], "Unknown option '--nope'"],
    ['gateways', ['gateways', '--timeout-ms', 'soon', '--json'], '--timeout-ms must be a whole number from 100 to 60000'],
    ['close', ['close', '--protocol', 'udp', '--json'], '--port is required'],
  ])('%s with bad arguments and --json: a bad-arguments object, exit 2', async (_name, args, message) => {
    const result = await homenet(args);
    expect(result.code).toBe(2);
    expect(jsonLines(result)).toEqual([{ error: { code: 'bad-arguments', message } }]);
    expect(result.stderr).toContain('usage: homenet');
  });

  it('without --json the text output is unchanged: verdict lines, exit 3', async () => {
    const result = await homenet(['open', '--protocol', 'udp', '--port', '40000', '--once']);
    expect(result.code).toBe(3);
    expect(result.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^ipv6: unsupported \(grade D\) — no network: /),
      'ipv4: unsupported (grade D) — no network: this host has no IPv4 address',
    ]);
  });
});
