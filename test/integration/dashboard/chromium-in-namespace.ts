/**
 * Headless Chromium (Debian's `/usr/bin/chromium`, or `HOMENET_CHROMIUM`) run
 * inside a lab host's network namespace and driven by playwright-core: a
 * wrapper script `ip netns exec <ns> chromium "$@"` is the executable
 * playwright launches (the debugging pipe's file descriptors survive the exec).
 * `--no-sandbox` because the lab runs as root.
 *
 * @example
 * ```ts
 * const browser = await launchChromiumIn(lab.plan.hosts.hub.namespace);
 * const page = await browser.browser.newPage();
 * await browser.close();
 * ```
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

export const CHROMIUM = process.env.HOMENET_CHROMIUM ?? '/usr/bin/chromium';
/** Where the tests leave screenshots for a person (gitignored). */
export const SCREENSHOTS = join(__dirname, '../../../test-output/dashboard');

export interface NamespacedChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromiumIn(namespace: string): Promise<NamespacedChromium> {
  if (!/^[A-Za-z0-9_.-]+$/.test(namespace)) throw new Error(`not a namespace name: ${JSON.stringify(namespace)}`);
  const dir = mkdtempSync(join(tmpdir(), 'homenet-chromium-'));
  const wrapper = join(dir, 'chromium-in-namespace');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${namespace} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  try {
    const browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    return {
      browser,
      async close() {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Collects what the page logs as an error and every uncaught exception. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Logs in on the dashboard's form and waits for the live WebSocket. */
export async function logIn(page: Page, token: string): Promise<void> {
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-status="live"]', { timeout: 10_000 });
}

/**
 * Polls `check` (which reads the page, e.g. with `$$eval`) until it is true. Not
 * `page.waitForFunction` with a string: the dashboard's CSP forbids eval, which it would need.
 */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Has the page note (its own `Date.now()`, same machine clock as the test) when `selector`
 * first matches — a MutationObserver, exact where playwright's polling backs off to 500 ms.
 * Resolves, once the selector is there, with that time.
 */
export async function whenShown(page: Page, selector: string, timeoutMs: number): Promise<() => Promise<number>> {
  const key = `shown${Math.random().toString(36).slice(2)}`;
  await page.evaluate(`(() => {
    const seen = () => { if (document.querySelector(${JSON.stringify(selector)})) { window[${JSON.stringify(key)}] = Date.now(); observer.disconnect(); } };
    const observer = new MutationObserver(seen);
    observer.observe(document.body, { childList: true, subtree: true });
  })()`);
  return async () => {
    await page.waitForSelector(selector, { timeout: timeoutMs });
    await waitUntil(async () => (await page.evaluate<number | undefined>(`window[${JSON.stringify(key)}]`)) !== undefined, 1000, `the page's note of ${selector}`);
    return page.evaluate<number>(`window[${JSON.stringify(key)}]`);
  };
}
