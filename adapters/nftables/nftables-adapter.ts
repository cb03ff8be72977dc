import type { Action } from '../../policies/model/action';
import type { ActionSucceeded } from '../../policies/model/feedback';
import { ActualEntry, DesiredEntry, entryFromAction, normalizeEntry } from './firewall-entry';
import { addElementLine, deleteElementLine, putElementLines, removeElementLines } from './element-script';
import { NftCommandError, NftInvalidEntryError } from './nft-errors';
import { parseTableJson, TableContents } from './nft-json';
import { libnftablesAvailable, libnftablesRunner } from './libnftables-runner';
import { nftRunner, NftRunner, NftRunnerOptions } from './nft-runner';
import { planReconcile, ReconcilePlan } from './reconcile-plan';
import { elementId, hostAcceptRule, installScript, resolveLayout, ResolvedLayout, TableLayoutOptions } from './table-layout';

/** Options of {@link createNftablesAdapter}. */
export interface NftablesAdapterOptions extends TableLayoutOptions, NftRunnerOptions {
  /** Wall clock in ms for `expiresAt` of desired entries (default `Date.now`). */
  readonly clock?: () => number;
  /** Replaces the real `nft` (unit tests). */
  readonly run?: NftRunner;
  /** Remaining-time difference tolerated by reconcile (default 2 s). */
  readonly toleranceSeconds?: number;
}

/** What {@link NftablesAdapter.apply} did. */
export interface ApplyReport {
  /** One per action, in order: what the engine gets back. */
  readonly feedback: readonly ActionSucceeded[];
  /** `fast`: one blind idempotent transaction; `exact`: after a read-back (a map element held other data, or the table was missing). */
  readonly path: 'fast' | 'exact';
  /** Delete actions whose element held another owner's data and was left alone. */
  readonly skipped: readonly string[];
  readonly durationMs: number;
}

/** What {@link NftablesAdapter.reconcile} did. */
export interface ReconcileReport {
  readonly plan: ReconcilePlan;
  /** The table had to be (re)installed first. */
  readonly installed: boolean;
  readonly durationMs: number;
}

/** The router's firewall as the enforcement point of gateway mode: see {@link createNftablesAdapter}. */
export interface NftablesAdapter {
  readonly layout: ResolvedLayout;
  /** Creates the table or updates its chains; never loses an element. Idempotent. */
  install(): Promise<void>;
  /**
   * Applies engine actions in one `nft -f` transaction: add and renew make the
   * element exist with a timeout of the action's full lease; delete removes it
   * (a missing element is success). Invalid actions throw
   * `NftInvalidEntryError` before anything is changed; a kernel refusal
   * throws `NftCommandError` with nft's stderr, and the transaction changed nothing.
   */
  apply(actions: readonly Action[]): Promise<ApplyReport>;
  /** Full read-back (`nft -j list table`) into typed entries with remaining timeouts. */
  read(): Promise<TableContents>;
  /** Makes the kernel table equal `desired`: orphans removed, missing added, timeouts corrected. */
  reconcile(desired: readonly DesiredEntry[]): Promise<ReconcileReport>;
  /** Deletes the whole table (idempotent). */
  uninstall(): Promise<void>;
  /** The rule the host's default-deny forward chain needs before its drop. */
  hostAcceptRule(): string;
}

/**
 * Creates the nftables adapter. It holds no policy and no state: the kernel
 * table is the state, read back whenever it matters.
 *
 * @example
 * ```ts
 * const fw = createNftablesAdapter({ table: 'homenet', wanInterfaces: ['wan0'], netns: 'hn-router' });
 * await fw.install();
 * engine.actions$.subscribe(async (a) => {
 *   const { feedback } = await fw.apply([a]);
 *   feedback.forEach((f) => engine.submit(f));
 * });
 * (await fw.read()).entries; // [{ kind: 'pinhole', internalClient: '2001:db8::10', expiresInSeconds: 3599, ... }]
 * ```
 */
export function createNftablesAdapter(options: NftablesAdapterOptions): NftablesAdapter {
  const layout = resolveLayout(options);
  // In-process libnftables when the adapter works on this process's own
  // namespace (the daemon runs inside the router's); the nft binary otherwise.
  const run = options.run ?? (options.netns === undefined && libnftablesAvailable() ? libnftablesRunner() : nftRunner(options));
  const clock = options.clock ?? Date.now;
  const table = layout.table;

  async function nft(args: readonly string[], input?: string): Promise<string> {
    const r = await run(args, input);
    if (r.code !== 0) throw new NftCommandError(r.argv, r.code, r.stderr, input ?? '');
    return r.stdout;
  }

  async function script(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await nft(['-f', '-'], lines.join('\n') + '\n');
  }

  async function read(): Promise<TableContents> {
    const r = await run(['-j', 'list', 'table', 'inet', table]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { present: false, entries: [], unknownSets: [], chains: [] };
      throw new NftCommandError(r.argv, r.code, r.stderr, '');
    }
    return parseTableJson(r.stdout, table);
  }

  async function install(): Promise<void> {
    await nft(['-f', '-'], installScript(layout));
  }

  /** Exact lines for the actions against a fresh read-back. */
  function exactLines(entries: readonly { action: Action; entry: DesiredEntry }[], contents: TableContents, skipped: string[]): string[] {
    const state = new Map<string, ActualEntry | DesiredEntry>(contents.entries.map((e) => [elementId(e), e]));
    const lines: string[] = [];
    for (const { action, entry } of entries) {
      const id = elementId(entry);
      const current = state.get(id);
      if (action.op === 'delete') {
        if (!current) continue;
        if (current.internalClient !== entry.internalClient || current.internalPort !== entry.internalPort) {
          skipped.push(action.key);
          continue;
        }
        lines.push(deleteElementLine(table, current));
        state.delete(id);
      } else {
        if (current) lines.push(deleteElementLine(table, current));
        lines.push(addElementLine(table, entry, { timeoutSeconds: entry.leaseSeconds }));
        state.set(id, entry);
      }
    }
    return lines;
  }

  async function apply(actions: readonly Action[]): Promise<ApplyReport> {
    const started = performance.now();
    const entries = actions.map((action) => ({ action, entry: entryFromAction(action) }));
    const feedback = actions.map((a): ActionSucceeded => ({ type: 'action-succeeded', key: a.key }));
    const fast: string[] = [];
    for (const { action, entry } of entries) {
      if (action.op === 'delete') fast.push(...removeElementLines(table, entry));
      else fast.push(...putElementLines(table, entry, { timeoutSeconds: entry.leaseSeconds }));
    }
    try {
      await script(fast);
      return { feedback, path: 'fast', skipped: [], durationMs: performance.now() - started };
    } catch (error) {
      if (!(error instanceof NftCommandError) || !(error.exists || error.notFound)) throw error;
    }
    // A map element with other data, or no table: read back and write exactly what is needed.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      let contents = await read();
      if (!contents.present || contents.chains.length < 2) {
        await install();
        contents = await read();
      }
      const skipped: string[] = [];
      try {
        await script(exactLines(entries, contents, skipped));
        return { feedback, path: 'exact', skipped, durationMs: performance.now() - started };
      } catch (error) {
        // An element expired between the read and the write: read again.
        if (!(error instanceof NftCommandError) || !error.notFound) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  async function reconcile(desiredInput: readonly DesiredEntry[]): Promise<ReconcileReport> {
    const started = performance.now();
    // Canonical addresses (the kernel prints RFC 5952), checked before anything is touched.
    const desired = desiredInput.map((d, i) => {
      const subject = d.owner ?? `desired[${i}]`;
      if (!Number.isInteger(d.leaseSeconds) || d.leaseSeconds < 0) throw new NftInvalidEntryError(subject, 'leaseSeconds', d.leaseSeconds, 'must be a whole number of seconds >= 0');
      return normalizeEntry(d, subject);
    });
    let contents = await read();
    let installed = false;
    if (!contents.present || contents.chains.length < 2) {
      await install();
      installed = true;
      contents = await read();
    }
    for (let attempt = 0; ; attempt++) {
      const plan = planReconcile(desired, contents.entries, { now: clock(), toleranceSeconds: options.toleranceSeconds });
      const lines: string[] = [];
      for (const a of plan.remove) lines.push(...removeElementLines(table, a));
      for (const c of plan.correct) lines.push(...removeElementLines(table, c.actual), addElementLine(table, c.entry, c.timing));
      for (const a of plan.add) lines.push(...putElementLines(table, a.entry, a.timing));
      try {
        await script(lines);
        return { plan, installed, durationMs: performance.now() - started };
      } catch (error) {
        if (attempt >= 2 || !(error instanceof NftCommandError) || !(error.exists || error.notFound)) throw error;
        contents = await read();
      }
    }
  }

  async function uninstall(): Promise<void> {
    const r = await run(['-f', '-'], `add table inet ${table}\ndelete table inet ${table}\n`);
    if (r.code !== 0) throw new NftCommandError(r.argv, r.code, r.stderr, '');
  }

  return { layout, install, apply, read, reconcile, uninstall, hostAcceptRule: () => hostAcceptRule(layout) };
}
