/**
 * Polls `check` every `everyMs` until it gives a value (anything but `undefined` or `false`) and resolves with it;
 * rejects naming `what` after `timeoutMs`.
 *
 * @example
 * ```ts
 * const config = await until('the event config', () => last.get('ha/event/hn/hn_decision/config'));
 * ```
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
