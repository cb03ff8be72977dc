/**
 * `--json` keeps its promise when a command fails: an error object on stdout
 * (bad arguments exit 2, everything else exit 1), never empty output.
 */
import { CliCommand, CliIo, jsonErrorOf, UsageError, withJsonErrors } from '../../../plugin/cli/command';
import { openCommand } from '../../../plugin/cli/commands/open';
import { gatewaysCommand } from '../../../plugin/cli/commands/gateways';
import { closeCommand } from '../../../plugin/cli/commands/close';
import { InternalClientError } from '../../../plugin/agent/internal-client';
import { UpnpNetworkError, UpnpTimeoutError } from '../../../adapters/upnp/upnp-errors';
import { UpnpFault } from '../../../adapters/upnp/upnp-fault';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    interrupted: () => new Promise<void>(() => undefined),
  };
}

describe('jsonErrorOf', () => {
  it.each([
    ['a usage error', new UsageError('--port is required'), 2, { code: 'bad-arguments', message: '--port is required' }],
    ['a parseArgs error', Object.assign(new TypeError("Unknown option '--bogus'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }), 2, { code: 'bad-arguments', message: "Unknown option '--bogus'" }],
    ['an InternalClient error', new InternalClientError('2001:db8::9 is not an address of this host'), 1, { code: 'internal-client', message: '2001:db8::9 is not an address of this host' }],
    ['a UPnP network error', new UpnpNetworkError('Cannot search for a gateway: no transport'), 1, { code: 'upnp-network', message: 'Cannot search for a gateway: no transport' }],
    ['a UPnP timeout', new UpnpTimeoutError('no answer', 'response', 2000), 1, { code: 'upnp-timeout', message: 'no answer' }],
    ['a system error', Object.assign(new Error('EACCES: permission denied, open /state/x'), { code: 'EACCES' }), 1, { code: 'system', message: 'EACCES: permission denied, open /state/x', systemCode: 'EACCES' }],
    ['anything else', new Error('boom'), 1, { code: 'error', message: 'boom' }],
    ['a thrown string', 'bare', 1, { code: 'error', message: 'bare' }],
  ])('maps %s', (_what, error, exitCode, body) => {
    expect(jsonErrorOf(error)).toEqual({ exitCode, report: { error: body } });
  });

  it('maps a router fault with its UPnP error code', () => {
    const fault = new UpnpFault({ code: 501, description: 'ActionFailed', action: 'GetFirewallStatus', serviceType: 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1' });
    expect(jsonErrorOf(fault)).toEqual({ exitCode: 1, report: { error: { code: 'upnp-fault', message: fault.message, faultCode: 501 } } });
  });
});

describe('withJsonErrors', () => {
  const failing = (error: unknown): CliCommand =>
    withJsonErrors({ name: 'demo-cmd', summary: 's', usage: 'homenet demo-cmd [--json]', run: () => { throw error; } });

  it('prints the error object on stdout and the message (with usage for bad arguments) on stderr', async () => {
    const io = captureIo();
    expect(await failing(new UsageError('--x is required')).run(['--json'], io)).toBe(2);
    expect(io.stdout.map((l) => JSON.parse(l))).toEqual([{ error: { code: 'bad-arguments', message: '--x is required' } }]);
    expect(io.stderr.join('\n')).toBe('homenet demo-cmd: --x is required\nusage: homenet demo-cmd [--json]');
  });

  it('exits 1 for other errors', async () => {
    const io = captureIo();
    expect(await failing(new Error('boom')).run(['--json'], io)).toBe(1);
    expect(io.stdout.map((l) => JSON.parse(l))).toEqual([{ error: { code: 'error', message: 'boom' } }]);
  });

  it('leaves errors to main without --json', async () => {
    const io = captureIo();
    const error = new Error('boom');
    await expect(failing(error).run([], io)).rejects.toBe(error);
    expect(io.stdout).toEqual([]);
  });

  it('passes the exit code of a command that succeeds', async () => {
    const io = captureIo();
    const ok = withJsonErrors({ name: 'ok', summary: 's', usage: 'u', run: async (_argv, out) => (out.out('{"fine":true}'), 0) });
    expect(await ok.run(['--json'], io)).toBe(0);
    expect(io.stdout).toEqual(['{"fine":true}']);
  });
});

describe('bad arguments with --json, per command', () => {
  it.each([
    ['open without --protocol', openCommand, ['--port', '40000', '--json'], /--protocol must be udp or tcp/],
    ['open with a port out of range', openCommand, ['--protocol', 'udp', '--port', '70000', '--json'], /--port must be a whole number from 1 to 65535/],
    ['open with an unknown option', openCommand, ['--protocol', 'udp', '--port', '1', '--bogus', '--json'], /Unknown option '--bogus'/],
    ['open with a bad family', openCommand, ['--protocol', 'udp', '--port', '40000', '--family', 'ipv5', '--json'], /--family must be ipv6, ipv4 or both/],
    ['open with a zero lease', openCommand, ['--protocol', 'udp', '--port', '40000', '--lease', '0', '--json'], /--lease must be a whole number/],
    ['gateways with a tiny timeout', gatewaysCommand, ['--timeout-ms', '5', '--json'], /--timeout-ms must be a whole number from 100 to 60000/],
    ['gateways with a stray value', gatewaysCommand, ['--json', 'now'], /Unexpected argument 'now'/],
    ['close without --port', closeCommand, ['--protocol', 'tcp', '--json'], /--port is required/],
  ])('%s: exit 2 and one bad-arguments object', async (_what, command, argv, message) => {
    const io = captureIo();
    expect(await command.run(argv, io)).toBe(2);
    expect(io.stdout).toHaveLength(1);
    const report = JSON.parse(io.stdout[0]) as { error: { code: string; message: string } };
    expect(report.error.code).toBe('bad-arguments');
    expect(report.error.message).toMatch(message);
  });

  it('documents the JSON shapes in each --help', () => {
    for (const command of [openCommand, gatewaysCommand, closeCommand]) {
      expect(command.usage).toContain('--json');
      expect(command.usage).toContain('{"error":{"code":"...","message":"..."}}');
    }
    expect(openCommand.usage).toContain('"reason":"no network: ..."');
    expect(gatewaysCommand.usage).toContain('"No network');
  });
});
