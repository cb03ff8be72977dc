/**
 * The owner's "Allow port opening" switches (Home Assistant over MQTT, the
 * admin API's `set_port_opening`), remembered across restarts: a small JSON
 * file beside the journal (`<journal path>.owner-settings.json`, mode 0600,
 * replaced atomically), or memory when the journal is in memory. Only devices
 * switched off are kept; switching one on again forgets it.
 *
 * The daemon submits {@link PortOpeningSettings.events} to the engine at start,
 * before the journal's needs, so a switched-off console's recovered needs are
 * refused like new ones.
 *
 * @example
 * ```ts
 * const settings = PortOpeningSettings.besideJournal('/var/lib/homenet/gateway.db');
 * settings.set('console', false, 'home-assistant', Date.now()); // true: changed, written
 * settings.events(); // [{ type: 'owner-port-opening', deviceId: 'console', allowed: false, by: 'home-assistant' }]
 * ```
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { OwnerPortOpening } from '../../policies/model/event';

/** One device switched off: who did it, and when (ms since the epoch). */
export interface PortOpeningOff {
  readonly by: string;
  readonly at: number;
}

interface SettingsFile {
  readonly version: 1;
  readonly portOpeningOff: Record<string, PortOpeningOff>;
}

export class PortOpeningSettings {
  private readonly off = new Map<string, PortOpeningOff>();

  private constructor(readonly path: string | null) {
    if (path === null || !existsSync(path)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`owner settings file ${path} is not valid JSON: ${(error as Error).message}`);
    }
    const entries = (parsed as Partial<SettingsFile> | null)?.portOpeningOff;
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw new Error(`owner settings file ${path}: expected {"version":1,"portOpeningOff":{...}}`);
    for (const [id, v] of Object.entries(entries)) {
      if (typeof v?.by !== 'string' || typeof v.at !== 'number') throw new Error(`owner settings file ${path}: portOpeningOff.${id}: expected {"by": string, "at": number}`);
      this.off.set(id, { by: v.by, at: v.at });
    }
  }

  /** The file for a journal at `journalPath` (memory only when it is null). */
  static besideJournal(journalPath: string | null): PortOpeningSettings {
    return new PortOpeningSettings(journalPath === null ? null : `${journalPath}.owner-settings.json`);
  }

  /** Whether the owner lets the device open ports (true unless switched off). */
  allowed(deviceId: string): boolean {
    return !this.off.has(deviceId);
  }

  /** Devices switched off. */
  switchedOff(): ReadonlyMap<string, PortOpeningOff> {
    return this.off;
  }

  /** Records a switch; true when it changed something (then the file is written). */
  set(deviceId: string, allowed: boolean, by: string, at: number): boolean {
    if (allowed === !this.off.has(deviceId)) return false;
    if (allowed) this.off.delete(deviceId);
    else this.off.set(deviceId, { by, at });
    this.write();
    return true;
  }

  /** The engine inputs that restore every switch (for the daemon's start). */
  events(): OwnerPortOpening[] {
    return [...this.off].map(([deviceId, v]) => ({ type: 'owner-port-opening', deviceId, allowed: false, by: v.by }));
  }

  private write(): void {
    if (this.path === null) return;
    const file: SettingsFile = { version: 1, portOpeningOff: Object.fromEntries(this.off) };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}
