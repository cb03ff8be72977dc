/**
 * Issue 12, the dashboard in a real browser: headless Chromium (Debian's, driven
 * by playwright-core) runs inside the lab's `hub` namespace — a LAN host — and
 * opens the dashboard the homenet gateway (the lab's router) serves on its
 * admin API's listener. It logs in with the token, sees the Matter plug as
 * protected, sees the console's `upnpc` pinhole appear within 1 s of upnpc
 * returning, and sees the plug's own refused request with its reason in the
 * timeline. Screenshots go to test-output/dashboard/ for a person; with
 * HOMENET_UPDATE_SCREENSHOT=1 one is also copied to docs/dashboard.png.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from 'playwright-core';
import { describeInLab, startTestLab, stopTestLab } from '../support/lab-fixture';
import { LabHandle } from '../../../plugin/lab/lab';
import { HomenetRouter, restartHomenetRouter, useHomenetRouter } from '../../../plugin/lab/homenet-router';
import { adminGet, temporaryAddress, upnpc } from '../gateway/gateway-lab-support';
import { collectPageErrors, launchChromiumIn, logIn, NamespacedChromium, SCREENSHOTS, waitUntil, whenShown } from './chromium-in-namespace';

jest.setTimeout(180_000);

const OUT = SCREENSHOTS;
const DOCS_SCREENSHOT = join(__dirname, '../../../docs/dashboard.png');

describeInLab('the dashboard in Chromium, in the lab with the homenet gateway (issue 12)', () => {
  let lab: LabHandle | undefined;
  let router: HomenetRouter;
  let chromium: NamespacedChromium | undefined;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    lab = await startTestLab('dash');
    router = await useHomenetRouter({ prefix: lab.plan.prefix });
    // Chromium runs in the hub's namespace: a LAN host, as a phone or a laptop at home would be.
    chromium = await launchChromiumIn(lab.plan.hosts.hub.namespace);
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
    pageErrors = collectPageErrors(page);
    mkdirSync(OUT, { recursive: true });
  });
  afterAll(async () => {
    await chromium?.close();
    await stopTestLab(lab);
  });

  it('serves the page without a token, with a strict CSP, and keeps the data behind the token', async () => {
    const response = await page.goto(`${router.admin.url}/`);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${router.admin.url}/dashboard/`);
    const csp = response!.headers()['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    await page.waitForSelector('#login-form', { state: 'visible' });
    // The page's own origin, without the token: the data stays closed.
    const status = await page.evaluate<number>(`fetch('/api/grants').then((r) => r.status)`);
    expect(status).toBe(401);
    await page.fill('#token', 'not-the-token-not-the-token');
    await page.click('#login-form button[type=submit]');
    await waitUntil(async () => (await page.textContent('#login-error')) === 'Wrong token.', 5000, 'the wrong-token message');
    await page.screenshot({ path: join(OUT, '01-login.png') });
  });

  it('logs in with the token and shows the Matter plug as protected (enforced), and the gateway report', async () => {
    pageErrors.length = 0; // from here on the page must log no error (the 401s above were asked for)
    await logIn(page, router.admin.token);
    const plug = await page.waitForSelector('[data-device="plug"]', { timeout: 10_000 });
    expect(await plug.getAttribute('data-protected')).toBe('true');
    expect(await plug.getAttribute('data-enforcement')).toBe('enforced');
    expect(await plug.innerText()).toMatch(/protected[\s\S]*matter/);
    expect(await page.innerText('[data-fact="deployment"] dd')).toBe('gateway');
    expect(await page.innerText('[data-fact="enforcement"] dd')).toBe('enforced');
    expect(await page.innerText('[data-fact="applier"] dd')).toBe('nftables');
    expect(await page.innerText('[data-fact="wan"] dd')).toBe(lab!.plan.wan.routerIpv4);
    // The token is kept for this tab only.
    expect(await page.evaluate<string | null>(`sessionStorage.getItem('homenet.adminToken')`)).toBe(router.admin.token);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
  });

  it("shows the console's upnpc pinhole within 1 s, its lease counting down", async () => {
    const temporary = await temporaryAddress(lab!, 'console');
    const selector = `[data-grant][data-client="${temporary}"][data-port="41500"]`;
    expect(await page.$(selector)).toBeNull();
    // The page itself notes when the grant shows (playwright's own polling backs off to 500 ms).
    const shown = await whenShown(page, selector, 30_000);
    const startedAt = Date.now();
    const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '41500', 'UDP', '300']);
    const answeredAt = Date.now();
    expect(add.stdout).toMatch(/Pinhole ID = \d+/);
    const appearedAt = await shown();
    expect(appearedAt).toBeGreaterThan(startedAt);
    const afterAnswer = appearedAt - answeredAt;
    const decisions = await adminGet<{ at: number; verdict: string; needId: string }[]>(lab!, router, '/api/decisions?limit=50');
    const decidedAt = decisions.find((d) => d.needId.includes(temporary) && d.needId.includes(':41500:') && d.verdict === 'granted')?.at;
    expect(decidedAt).toBeDefined();
    process.stdout.write(`dashboard: upnpc ran ${answeredAt - startedAt} ms; the grant was on the page ${afterAnswer} ms after upnpc's answer, ${appearedAt - decidedAt!} ms after the engine's decision\n`);
    expect(afterAnswer).toBeLessThan(1000);
    const lease = async () => page.innerText(`${selector} .lease`);
    const first = await lease();
    expect(first).toMatch(/^[45]:\d\d$/);
    await page.waitForTimeout(2100);
    const later = await lease();
    const seconds = (t: string) => Number(t.split(':')[0]) * 60 + Number(t.split(':')[1]);
    expect(seconds(later)).toBeLessThan(seconds(first));
    expect(seconds(first) - seconds(later)).toBeLessThanOrEqual(4);
    // The plot drew the open port.
    expect(await page.getAttribute('#plot svg .open-line', 'd')).toMatch(/^M[\d.]+,[\d.]+H/);
  });

  it("shows the plug's own refused request with its reason in the timeline, and filters by device and verdict", async () => {
    const plugTemporary = await temporaryAddress(lab!, 'plug');
    const own = await upnpc(lab!, 'plug', ['-6', '-A', '', '0', plugTemporary, '5540', 'UDP', '300']);
    expect(own.stdout).toContain('failed with code 606');
    const refusal = await page.waitForSelector(`#timeline li.decision[data-verdict="denied"][data-device="plug"]`, { timeout: 5000 });
    expect(await refusal.innerText()).toContain('matter-isolation/matter-device-isolation (device plug)');
    expect(await refusal.innerText()).toContain(plugTemporary);
    // Before filtering the timeline also holds the console's grant.
    const verdictsShown = () => page.$$eval('#timeline li.decision', (items) => items.map((i) => `${i.getAttribute('data-device')} ${i.getAttribute('data-verdict')}`));
    expect(await verdictsShown()).toEqual(expect.arrayContaining(['plug denied', expect.stringMatching(/ granted$/)]));
    await page.selectOption('#filter-verdict', 'denied');
    await page.selectOption('#filter-device', 'plug');
    // The filters re-render on the next frame: wait until only the plug's refusals are left.
    await waitUntil(
      async () => {
        const shown = await verdictsShown();
        return shown.length > 0 && shown.every((v) => v === 'plug denied');
      },
      2000,
      "only the plug's refusals in the timeline",
    );
    expect(await verdictsShown()).toContain('plug denied');
    await page.screenshot({ path: join(OUT, '03-plug-refusal-filtered.png'), fullPage: true });
    await page.selectOption('#filter-verdict', '');
    await page.selectOption('#filter-device', '');
    await waitUntil(async () => (await verdictsShown()).some((v) => v.endsWith(' granted')), 2000, 'the unfiltered timeline');
    // The plot marks the refusal and the grant.
    expect(await page.$$('#plot svg .mark-denied')).not.toHaveLength(0);
    expect(await page.$$('#plot svg .mark-granted')).not.toHaveLength(0);
    const full = join(OUT, '02-dashboard.png');
    await page.screenshot({ path: full, fullPage: true });
    if (process.env.HOMENET_UPDATE_SCREENSHOT === '1') copyFileSync(full, DOCS_SCREENSHOT);
  });

  it('reconnects by itself when the daemon restarts, and shows the grant the journal restored', async () => {
    const startedBefore = await page.textContent('[data-fact="started"] dd');
    const status = () => page.getAttribute('body', 'data-status');
    // Every status the page shows is recorded in the page: the restart can be over (and the page live
    // again) before restartHomenetRouter returns, so polling from here could miss the non-live spell.
    await page.evaluate(`(() => {
      window.seenStatuses = [];
      new MutationObserver(() => window.seenStatuses.push(document.body.dataset.status)).observe(document.body, { attributes: true, attributeFilter: ['data-status'] });
    })()`);
    router = await restartHomenetRouter(lab!.plan, router.process);
    // The socket closed while the daemon was down: the page said so, then came back by itself.
    const seen = () => page.evaluate<string[]>('window.seenStatuses');
    await waitUntil(async () => (await seen()).some((s) => s !== 'live'), 10_000, 'the page to notice the restart');
    await waitUntil(async () => (await status()) === 'live', 20_000, 'the page to reconnect');
    await waitUntil(async () => (await page.textContent('[data-fact="started"] dd')) !== startedBefore, 5000, 'the new start time in the report');
    expect(await page.$('[data-grant][data-port="41500"]')).not.toBeNull();
    pageErrors.length = 0; // the browser logs the refused reconnection attempts while the daemon is down
  });

  it('is usable on a phone: one column, no horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    const columns = await page.evaluate<number>(`getComputedStyle(document.getElementById('app')).gridTemplateColumns.split(' ').length`);
    expect(columns).toBe(1);
    await page.screenshot({ path: join(OUT, '04-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
