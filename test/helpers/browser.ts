import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './local-stack-process.ts';

/**
 * Browser tests with playwright-core and the system's Chromium (Debian `chromium`): playwright's
 * own browser download (`npx playwright install`) cannot run on these machines. See docs/testing.md.
 */

/** `CHROMIUM_PATH` if set, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Whether the browser tests can run, and what to do when they cannot: in CI (`CI=true`) a
 * missing Chromium is a failure (.ci/run installs it), elsewhere the tests are skipped with a message.
 */
export function browserAvailability(): { available: true } | { available: false; mustFail: boolean; message: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true };
  const mustFail = process.env.CI === 'true';
  return {
    available: false,
    mustFail,
    message: `Chromium not found at ${CHROMIUM_PATH}: ${mustFail ? 'CI must install it (.ci/run does: apt-get install -y chromium)' : 'browser tests skipped; install it with `apt-get install -y chromium` or set CHROMIUM_PATH'}.`,
  };
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Playwright gives each launched browser a fresh temporary profile (user data dir), removed on close. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * A context as a reviewer's browser: French, a laptop-sized window, no cache shared with any
 * other context. The page's CSP applies (no `bypassCSP`): axe is evaluated through CDP, which CSP
 * does not block, so the audited page is the page reviewers get.
 */
export async function newReviewerContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 }, ...options });
  // Well under the tests' timeout, so that a missing element fails with playwright's message (what it waited for).
  context.setDefaultTimeout(10_000);
  return context;
}

/** What the browser complained about while on a page: CSP violations, script errors, failed loads. */
export function collectPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chrome logs every 4xx document as an error: the refusal and validation pages are meant to be 4xx.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()) && message.location().url === page.url()) return;
    problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // ERR_ABORTED: the test navigated on before a late load (the favicon) finished; not the page's fault.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  return problems;
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
}

/**
 * Runs axe-core (WCAG 2.x A/AA and best practices) on the page as it is now. The page's strict CSP
 * (`default-src 'none'`) blocks `page.addScriptTag({ content })` (an inline script), so axe's
 * source is evaluated with `page.evaluate`, which goes through CDP and is not subject to CSP.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(join(ROOT, 'package.json')).resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 200), ...(n.failureSummary ? { failureSummary: n.failureSummary } : {}) })),
    }));
  });
}

/** Violations of impact serious or critical (what fails the tests). */
export const seriousViolations = (violations: AxeViolation[]) => violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');

export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.html}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`).join('\n')}`).join('\n');
}

export const SCREENSHOT_DIR = join(ROOT, '.tmp', 'screenshots');

/** A full-page PNG in .tmp/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

export interface TransferredResource {
  url: string;
  status: number;
  mimeType: string;
  /** Bytes on the wire: headers plus the encoded (possibly compressed) body. */
  encodedBytes: number;
}

/**
 * Loads `url` in a new page of a fresh context (no cache) and sums the bytes every response
 * transferred, as Chrome counts them (CDP `Network.loadingFinished.encodedDataLength`: headers
 * and encoded body). Waits for the network to be idle, so fonts and late resources count.
 */
export async function measureFirstLoad(browser: Browser, url: string): Promise<{ totalBytes: number; resources: TransferredResource[] }> {
  const context = await newReviewerContext(browser);
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const responses = new Map<string, { url: string; status: number; mimeType: string }>();
    const resources: TransferredResource[] = [];
    cdp.on('Network.responseReceived', (event) => {
      responses.set(event.requestId, { url: event.response.url, status: event.response.status, mimeType: event.response.mimeType });
    });
    cdp.on('Network.loadingFinished', (event) => {
      const response = responses.get(event.requestId) ?? { url: '(unknown)', status: 0, mimeType: '' };
      resources.push({ ...response, encodedBytes: event.encodedDataLength });
    });
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    return { totalBytes: resources.reduce((sum, r) => sum + r.encodedBytes, 0), resources };
  } finally {
    await context.close();
  }
}
