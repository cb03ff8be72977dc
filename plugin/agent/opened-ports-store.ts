import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OpenReachability } from './reachability';

/**
 * What `homenet open --once` leaves running, so that `homenet close` can
 * remove exactly it later: IGD:2 has no action that lists pinholes (a client
 * must remember its UniqueIDs), an IPv4 mapping must be deleted by the
 * external port the router gave, which may differ from the local port, and a
 * PCP mapping is deleted by its nonce (at the router it was asked of).
 */
export interface OpenedPortRecord {
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: 'udp' | 'tcp';
  readonly gateway: string;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly uniqueId?: number;
  /** What opened it (absent: UPnP). */
  readonly via?: 'upnp' | 'pcp' | 'natpmp';
  /** PCP: the mapping's nonce (hex), which deletes it. */
  readonly nonce?: string;
  /** PCP / NAT-PMP: the router the requests went to. */
  readonly server?: string;
  /** ISO time the lease runs out (0-second leases: never). */
  readonly expiresAt?: string;
}

/** `$HOMENET_STATE_DIR`, else `$XDG_STATE_HOME/homenet`, else `~/.local/state/homenet`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOMENET_STATE_DIR) return env.HOMENET_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'homenet');
  return join(homedir(), '.local', 'state', 'homenet');
}

export function recordOf(r: OpenReachability, now: Date): OpenedPortRecord {
  return {
    family: r.family,
    protocol: r.protocol,
    gateway: r.gateway,
    internalClient: r.internalClient,
    internalPort: r.internalPort,
    externalPort: r.externalPort,
    ...(r.uniqueId !== undefined ? { uniqueId: r.uniqueId } : {}),
    ...(r.via ? { via: r.via } : {}),
    ...(r.nonce ? { nonce: r.nonce } : {}),
    ...(r.server ? { server: r.server } : {}),
    ...(r.leaseSeconds > 0 ? { expiresAt: new Date(now.getTime() + r.leaseSeconds * 1000).toISOString() } : {}),
  };
}

function sameKey(a: OpenedPortRecord, b: Pick<OpenedPortRecord, 'family' | 'protocol' | 'internalClient' | 'internalPort'>): boolean {
  return a.family === b.family && a.protocol === b.protocol && a.internalClient === b.internalClient && a.internalPort === b.internalPort;
}

/**
 * A small JSON file of opened ports, keyed by (family, protocol,
 * InternalClient, InternalPort), written atomically.
 *
 * @example
 * ```ts
 * const store = new OpenedPortsStore(defaultStateDir());
 * await store.put(recordOf(openVerdict, new Date()));
 * ```
 */
export class OpenedPortsStore {
  private readonly file: string;
  private writes: Promise<unknown> = Promise.resolve();
  private sequence = 0;

  constructor(readonly dir: string) {
    this.file = join(dir, 'opened-ports.json');
  }

  async list(): Promise<OpenedPortRecord[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!Array.isArray(parsed)) throw new Error('not a list');
      return parsed as OpenedPortRecord[];
    } catch (error) {
      throw new Error(`${this.file} is corrupt (${(error as Error).message}); remove it to start afresh`);
    }
  }

  put(record: OpenedPortRecord): Promise<void> {
    return this.update((list) => [...list.filter((r) => !sameKey(r, record)), record]);
  }

  remove(record: Pick<OpenedPortRecord, 'family' | 'protocol' | 'internalClient' | 'internalPort'>): Promise<void> {
    return this.update((list) => list.filter((r) => !sameKey(r, record)));
  }

  /** Read-modify-write, one at a time within this process; each write lands whole (unique temp file + rename). */
  private update(change: (list: OpenedPortRecord[]) => OpenedPortRecord[]): Promise<void> {
    const run = async () => {
      const records = change(await this.list());
      await mkdir(this.dir, { recursive: true });
      const tmp = `${this.file}.${process.pid}.${(this.sequence += 1)}.tmp`;
      await writeFile(tmp, `${JSON.stringify(records, null, 2)}\n`);
      await rename(tmp, this.file);
    };
    const next = this.writes.then(run, run);
    this.writes = next.catch(() => undefined);
    return next;
  }
}
