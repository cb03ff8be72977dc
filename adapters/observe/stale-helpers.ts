/**
 * Helpers a killed daemon left behind. PR_SET_PDEATHSIG ends the helpers
 * started through the helper runner with the daemon; `ip monitor` and any
 * helper whose launcher could not set it are caught here: a daemon records its
 * helper children's `pid starttime` in a file, and the next start ends the ones
 * still running orphaned (checked against /proc: same start time, still an
 * `ip monitor` or a Python program, not a child of this process).
 *
 * @example
 * ```ts
 * const reaped = reapStaleHelpers('/run/homenet/helpers.pid'); // at start
 * recordHelpers('/run/homenet/helpers.pid');                   // once the helpers run
 * ```
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** `ppid` and start time (clock ticks since boot) of a process, from /proc (undefined when gone). */
function procStat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return undefined;
  }
}

function isHelperCommand(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (cmd[0] === 'ip' && cmd[1] === 'monitor') || /python3?$/.test(cmd[0] ?? '');
  } catch {
    return false;
  }
}

/** Kills the helpers a previous (killed) daemon recorded, if they still run orphaned. Returns how many. */
export function reapStaleHelpers(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const line of text.split('\n')) {
    const [pidText, start] = line.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    const stat = procStat(pid);
    if (!stat || stat.start !== start || stat.ppid === process.pid || !isHelperCommand(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** Records this process's helper children in `file` (see {@link reapStaleHelpers}); returns how many. */
export function recordHelpers(file: string): number {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat?.ppid === process.pid && isHelperCommand(pid)) lines.push(`${pid} ${stat.start}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return lines.length;
}
