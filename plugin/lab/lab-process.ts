import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, statSync, readlinkSync } from 'node:fs';

/** A daemon the lab started, recorded so that `down` kills exactly it. */
export interface LabProcess {
  readonly name: string;
  readonly namespace: string;
  readonly pid: number;
  readonly command: readonly string[];
  readonly log: string;
}

/**
 * Starts a long-running program inside a network namespace, detached from this
 * process, with its output in `log`. `ip netns exec` and `unshare` exec the
 * program in place, so the pid we get is the daemon's own.
 */
export function startInNamespace(name: string, namespace: string, command: readonly string[], log: string): LabProcess {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', namespace, ...command], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${name} in ${namespace}`);
    child.unref();
    return { name, namespace, pid: child.pid, command, log };
  } finally {
    closeSync(fd);
  }
}

function namespaceInode(namespace: string): number | undefined {
  try {
    return statSync(`/run/netns/${namespace}`).ino;
  } catch {
    return undefined;
  }
}

/** True while the pid runs (not a zombie), whatever its namespace. */
export function isPidRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * True when `pid` is still the process the lab started: alive, not a zombie,
 * and inside the lab's namespace (so a recycled pid is never mistaken for ours).
 */
export function isLabProcessAlive(process: LabProcess): boolean {
  if (!isPidRunning(process.pid)) return false;
  try {
    const link = readlinkSync(`/proc/${process.pid}/ns/net`); // "net:[4026532...]"
    const inode = namespaceInode(process.namespace);
    return inode !== undefined && link === `net:[${inode}]`;
  } catch {
    return false;
  }
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, to a lab process that is still ours. */
export async function stopLabProcess(labProcess: LabProcess, graceMs = 2000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isLabProcessAlive(labProcess)) return;
  try {
    process.kill(labProcess.pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isLabProcessAlive(labProcess)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (isLabProcessAlive(labProcess)) {
    try {
      process.kill(labProcess.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
