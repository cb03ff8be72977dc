#!/usr/bin/env node
/**
 * The `homenet` command line. `homenet help` lists the commands; each command's
 * `--help` prints its usage.
 *
 * @example
 * ```sh
 * homenet lab up --json
 * homenet open --protocol udp --port 40000 --once --json
 * ```
 */
import { CliCommand, CliIo, processIo, UsageError } from './command';
import { closeCommand } from './commands/close';
import { gatewaysCommand } from './commands/gateways';
import { labCommand } from './commands/lab';
import { devicesCommand } from './commands/devices';
import { openCommand } from './commands/open';

const commands: CliCommand[] = [openCommand, closeCommand, gatewaysCommand, labCommand, devicesCommand];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
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
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`homenet: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`homenet ${name}: ${error.message}\nusage: ${command.usage}`);
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
