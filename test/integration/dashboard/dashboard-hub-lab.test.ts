/**
 * Issue 12, the dashboard in hub mode: the same page on the hub's admin API
 * (`homenet serve --mode hub` beside the lab's real miniupnpd, PCP THIRD_PARTY
 * allowed). Headless Chromium runs in console2's namespace (a phone on the
 * LAN): the report says hub / advised / pcp-third-party, the plug is protected
 * (advised), the console's `homenet open --hub auto` grant is on the page
 * within 1 s of the command returning, and the plug's request through the hub
 * is in the timeline, refused with its reason.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from 'playwright-core';
import { LabHandle, labDown, labUp } from '../../../plugin/lab/lab';
import { LabHub, startLabHub, stopLabHub } from '../../../plugin/lab/lab-hub';
import { describeInLab, homenetIn, lastJson } from '../support/lab-fixture';
import { collectPageErrors, launchChromiumIn, logIn, NamespacedChromium, SCREENSHOTS, waitUntil, whenShown } from './chromium-in-namespace';

jest.setTimeout(180_000);

const CONSOLE4 = '192.168.77.10';
type Opened = { reachability: { verdict: string; externalPort?: number; hub?: { needId?: string } }[] };

describeInLab('the dashboard in Chromium, on the hub beside a real miniupnpd (issue 12, hub mode)', () => {
  let lab: LabHandle | undefined;
  let hub: LabHub | undefined;
  let chromium: NamespacedChromium | undefined;
  let page: Page;
  let pageErrors: string[] = [];
  const open = (role: 'console' | 'plug', port: number) => homenetIn(lab!, role, ['open', '--protocol', 'udp', '--port', String(port), '--family', 'ipv4', '--hub', 'auto', '--once', '--json']);

  beforeAll(async () => {
    lab = await labUp({ prefix: `dh${(process.pid % 46656).toString(36)}`.slice(0, 8), pcpThirdParty: true });
    hub = await startLabHub(lab.plan);
    chromium = await launchChromiumIn(lab.plan.hosts.console2.namespace);
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
    pageErrors = collectPageErrors(page);
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await chromium?.close();
    if (hub) await stopLabHub(hub);
    if (lab) await labDown({ prefix: lab.plan.prefix });
  });

  it('logs in on the hub: the report says hub, advised, pcp-third-party; the plug is protected, advised', async () => {
    await page.goto(`${hub!.admin.url}/`);
    await logIn(page, hub!.admin.token);
    expect(await page.innerText('[data-fact="deployment"] dd')).toBe('hub');
    expect(await page.innerText('[data-fact="enforcement"] dd')).toBe('advised');
    // The applier is chosen once the hub has asked the router's PCP server (the report refreshes every 15 s, and on reconnect).
    await waitUntil(async () => (await page.textContent('[data-fact="applier"] dd')) === 'pcp-third-party', 20_000, 'the applier pcp-third-party');
    const plug = await page.waitForSelector('[data-device="plug"]', { timeout: 10_000 });
    expect(await plug.getAttribute('data-protected')).toBe('true');
    expect(await plug.getAttribute('data-enforcement')).toBe('advised');
  });

  it("shows the console's grant within 1 s of `homenet open --hub auto` returning", async () => {
    const selector = `[data-grant][data-client="${CONSOLE4}"][data-port="43600"]`;
    expect(await page.$(selector)).toBeNull();
    const shown = await whenShown(page, selector, 30_000);
    const opened = await open('console', 43600);
    const answeredAt = Date.now();
    expect(lastJson<Opened>(opened).reachability[0]).toMatchObject({ verdict: 'open', externalPort: 43600 });
    const appearedAt = await shown();
    process.stdout.write(`dashboard (hub): the grant was on the page ${appearedAt - answeredAt} ms after homenet open returned\n`);
    expect(appearedAt - answeredAt).toBeLessThan(1000);
  });

  it("shows the plug's request through the hub refused, with its reason", async () => {
    const asked = await open('plug', 43700);
    expect(asked.code).toBe(3);
    const refusal = await page.waitForSelector('#timeline li.decision[data-verdict="denied"][data-device="plug"]', { timeout: 5000 });
    expect(await refusal.innerText()).toContain('matter-isolation/matter-device-isolation (device plug)');
    await page.screenshot({ path: join(SCREENSHOTS, 'hub-dashboard.png'), fullPage: true });
    const closed = await homenetIn(lab!, 'console', ['close', '--protocol', 'udp', '--port', '43600', '--family', 'ipv4', '--hub', 'auto', '--json']);
    expect(closed.code).toBe(0);
    await page.waitForSelector(`[data-grant][data-client="${CONSOLE4}"][data-port="43600"]`, { state: 'detached', timeout: 5000 });
    expect(pageErrors).toEqual([]);
  });
});
