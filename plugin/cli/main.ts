#!/usr/bin/env node
/**
 * The `homenet` command line. `homenet help` lists the commands; each command's
 * `--help` prints its usage.
 *
 * Commands are loaded only when run: `homenet open` must not pay for loading
 * the policy engine or matter.js (a game waits for its port).
 *
 * @example
 * ```sh
 * homenet lab up --json
 * homenet open --protocol udp --port 40000 --once --json
 * ```
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliCommand, CliIo, processIo, UsageError } from './command';

interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => CliCommand;
}

/**
 * Loads a command that is not on a game's path (the daemon, the lab, replay,
 * matter.js) from the compiled tree. The bundled bin (`dist/homenet.js`)
 * carries only `open`, `close` and `gateways`, so a game waiting for its port
 * does not parse the rest; a path built at run time keeps esbuild from
 * bundling these. From the compiled tree (or ts-jest) they sit beside this file.
 */
function unbundled<T>(name: string, exported: string): T {
  const beside = join(__dirname, 'commands', name);
  const fromBundle = join(__dirname, 'plugin', 'cli', 'commands', `${name}.js`);
  const file = existsSync(`${beside}.js`) || existsSync(`${beside}.ts`) ? beside : fromBundle;
  return (require(file) as Record<string, T>)[exported];
}

const commands: readonly CommandEntry[] = [
  { name: 'open', summary: 'open an IPv6 pinhole / IPv4 port mapping for this host and keep it open', load: () => (require('./commands/open') as typeof import('./commands/open')).openCommand },
  { name: 'close', summary: "remove a port left open by 'homenet open --once'", load: () => (require('./commands/close') as typeof import('./commands/close')).closeCommand },
  { name: 'gateways', summary: 'find the Internet gateways on this link and grade them (JAIPA A/B/C/D)', load: () => (require('./commands/gateways') as typeof import('./commands/gateways')).gatewaysCommand },
  { name: 'devices', summary: 'list the LAN devices the controller knows: identity, kinds, addresses, IPv6-only, protections', load: () => unbundled('devices', 'devicesCommand') },
  { name: 'replay', summary: 'replay an event log through the policy engine (or generate a synthetic home)', load: () => unbundled('replay', 'replayCommand') },
  { name: 'demo', summary: 'run the main job on the built-in lab home and narrate it (root)', load: () => unbundled('demo', 'demoCommand') },
  { name: 'serve', summary: 'run the gateway daemon on the router (policy-enforcing IGD, nftables, journal, admin API)', load: () => unbundled('serve', 'serveCommand') },
  { name: 'lab', summary: 'build, inspect, probe and tear down the built-in lab home (root)', load: () => unbundled('lab', 'labCommand') },
];

export function commandNames(): string[] {
  return commands.map((c) => c.name);
}

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: homenet <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'homenet <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`homenet: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`homenet ${name}: ${(error as Error).message}\nusage: ${command.usage}`);
      return 2;
    }
    io.err(`homenet ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  // `homenet ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`homenet: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
