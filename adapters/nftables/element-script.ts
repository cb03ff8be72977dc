import { FirewallEntry } from './firewall-entry';
import { ElementSet, elementDataText, elementKeyText, elementSetOf } from './table-layout';

/**
 * The `nft -f` lines that change one element, written so that each step is
 * idempotent inside one transaction:
 *
 * - **put** (add or renew): `add` the bare element (a no-op if it is there),
 *   `delete` it, `add` it again with its timeout: whatever was there, the
 *   element now has exactly this timeout, remaining time and comment.
 * - **remove**: `add` the bare element, then `delete` it: removing a missing
 *   element succeeds.
 *
 * A port-mapping map element that exists with *other* data makes the first
 * `add` fail with "File exists"; the adapter then falls back to a read-back.
 */
export interface ElementLines {
  readonly set: ElementSet;
  readonly key: string;
  readonly data?: string;
}

export function elementLines(entry: FirewallEntry): ElementLines {
  const set = elementSetOf(entry);
  const data = elementDataText(set, entry);
  return { set, key: elementKeyText(set, entry), ...(data !== undefined ? { data } : {}) };
}

function target(table: string, set: ElementSet): string {
  return `inet ${table} ${set.name}`;
}

/** `add element inet homenet pinhole_ipv6 { 2001:db8::10 . udp . 3074 timeout 3600s expires 1200s comment "g1" }` */
export function addElementLine(
  table: string,
  entry: FirewallEntry,
  timing: { timeoutSeconds: number; expiresSeconds?: number },
  lines: ElementLines = elementLines(entry),
): string {
  let attrs = '';
  if (timing.timeoutSeconds > 0) {
    attrs += ` timeout ${timing.timeoutSeconds}s`;
    if (timing.expiresSeconds !== undefined && timing.expiresSeconds < timing.timeoutSeconds) attrs += ` expires ${Math.max(1, timing.expiresSeconds)}s`;
  }
  if (entry.owner) attrs += ` comment "${entry.owner}"`;
  const data = lines.data !== undefined ? ` : ${lines.data}` : '';
  return `add element ${target(table, lines.set)} { ${lines.key}${attrs}${data} }`;
}

/** Lines that remove an element whether or not it exists (`data`: the map data it is known to have). */
export function removeElementLines(table: string, entry: FirewallEntry, lines: ElementLines = elementLines(entry)): string[] {
  const data = lines.data !== undefined ? ` : ${lines.data}` : '';
  return [`add element ${target(table, lines.set)} { ${lines.key}${data} }`, `delete element ${target(table, lines.set)} { ${lines.key} }`];
}

/** Lines that make an element exist with exactly this timing, whatever was there. */
export function putElementLines(table: string, entry: FirewallEntry, timing: { timeoutSeconds: number; expiresSeconds?: number }): string[] {
  const lines = elementLines(entry);
  return [...removeElementLines(table, entry, lines), addElementLine(table, entry, timing, lines)];
}

/** Only the delete line: for an element known to exist (read back a moment ago). */
export function deleteElementLine(table: string, entry: FirewallEntry): string {
  const lines = elementLines(entry);
  return `delete element ${target(table, lines.set)} { ${lines.key} }`;
}
