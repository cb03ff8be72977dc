import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { LabProcess } from './lab-process';

/** What `homenet lab up` leaves on disk (`<runDir>/state.json`). */
export interface LabState {
  readonly prefix: string;
  readonly runDir: string;
  readonly startedAt: string;
  readonly processes: LabProcess[];
  /** The profile the lab runs (absent: `default`). */
  readonly profile?: 'default' | 'ipv6-mostly';
  /** Matter devices commissioned into the lab's fabric (present when started with `matter`). */
  readonly matter?: { readonly commissioned: readonly { role: string; nodeId: string; compressedFabricId: string; elapsedMs: number }[] };
  /** LAN prefixes in use, newest first; older ones are deprecated (`homenet lab renumber`). Absent: the plan's prefix only. */
  readonly lanPrefixes?: readonly string[];
  /** The PREF64 the lab's RAs announce (ipv6-mostly profile); absent: `LAB_NAT64_PREFIX`. */
  readonly pref64?: string;
  /** The access network kind (`homenet lab up --wan`); absent: `public`. */
  readonly wan?: 'public' | 'cgnat' | 'double-nat';
  /** The conntrack UDP timeout (s) set in the carrier/upstream (`--udp-timeout`). */
  readonly udpTimeoutSeconds?: number;
  /** The carrier/upstream NAT's mapping behaviour (`--nat-mapping`). */
  readonly natMapping?: 'eim' | 'apdm';
}

export function labStatePath(runDir: string): string {
  return `${runDir}/state.json`;
}

export async function readLabState(runDir: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(labStatePath(runDir), 'utf8')) as LabState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`lab state ${labStatePath(runDir)} is unreadable: ${(error as Error).message}`);
  }
}

/** Written atomically (temp file + rename), so a killed `up` leaves old or new state, never half. */
export async function writeLabState(state: LabState): Promise<void> {
  await mkdir(state.runDir, { recursive: true });
  const path = labStatePath(state.runDir);
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

export async function removeLabRunDir(runDir: string): Promise<void> {
  await rm(runDir, { recursive: true, force: true });
}
