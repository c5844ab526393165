import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewToken } from '#core/rounds/review-links';
import {
  browserAvailability, collectPageProblems, describeViolations, launchChromium, measureFirstLoad, newReviewerContext,
  runAxe, screenshot, seriousViolations, type AxeViolation,
} from '../helpers/browser.ts';
import { freePort, LocalStackProcess, ROOT, type LocalStackJson } from '../helpers/local-stack-process.ts';

/**
 * The review page in a real browser (Chromium through playwright-core), against the whole local
 * stack in a child process: a round is run with the CLI, a reviewer follows the link of their
 * assignment mail, saves a draft, submits, and so on. One stack and one browser for the file;
 * the tests run in order and share the round's state. See docs/testing.md.
 */

const ROUND = '2026-03';
const COMMENT_MAX_LENGTH = 5000;
/** The criteria a round copies from the configuration when it opens. */
const CONFIG = JSON.parse(readFileSync(join(ROOT, 'schemas/rounds-config.json'), 'utf8')) as { criteria: { id: string; label: string; weight: number }[] };
const CRITERIA = CONFIG.criteria;
/** Under this, the first load of a dossier page (every response, headers included). */
const MAX_FIRST_LOAD_BYTES = 500 * 1024;

interface ReviewView {
  dossierNumber: number;
  reviewerId: string;
  reviewerEmail: string | null;
  /** The states the review page shows (reviews list uses the same since the page exists). */
  state: 'to_do' | 'draft' | 'submitted' | 'conflict';
  counted: boolean;
  conflictOfInterest: boolean;
  scores: Record<string, number>;
  weightedMean: number | null;
  comment: string | null;
  submittedAt: string | null;
}

interface StoredMail {
  destination: { to: string[] };
  subject: string;
  body: { text: string; html?: string };
}

interface Reviewer {
  id: string;
  email: string;
  token: string;
  dossiers: number[];
}

const availability = browserAvailability();
if (!availability.available) {
  console.warn(`review-page.test.ts: ${availability.message}`);
  // In CI a missing browser is one failed test (counted in .ci/run's "N failed"), not a silent skip.
  if (availability.mustFail) it('finds Chromium to run the review page tests', () => { throw new Error(availability.message); });
}

describe.skipIf(!availability.available)('the review page in Chromium', () => {
  let dataDir: string;
  let stack: LocalStackProcess;
  let stackJson: LocalStackJson;
  let browser: Browser;
  let context: BrowserContext;
  /** The reviewer with two dossiers, who scores; the one who declares a conflict; the one who replaces them. */
  let main: Reviewer;
  let withdrawing: Reviewer;
  let replacement: Reviewer;
  /** `main`'s dossier scored and submitted, and the one left as a draft. */
  let scored: number;
  let drafted: number;
  const titles = new Map<number, string>();
  const audits = new Map<string, AxeViolation[]>();
  const screenshots: string[] = [];
  const problems = new Map<string, string[]>();

  const listUrl = (reviewer: Reviewer, token = reviewer.token) => `${stack.url}/review/${ROUND}?token=${token}`;
  const dossierUrl = (reviewer: Reviewer, n: number, token = reviewer.token) => `${stack.url}/review/${ROUND}/dossiers/${n}?token=${token}`;
  const reviews = () => stack.cliJson<ReviewView[]>('reviews', 'list', '--round', ROUND);
  const reviewOf = async (reviewer: Reviewer, n: number) => (await reviews()).find((r) => r.reviewerId === reviewer.id && r.dossierNumber === n);
  const mails = async () => ((await (await fetch(`${stackJson.local.mailUrl}store`)).json()) as { emails: StoredMail[] }).emails;

  async function newPage(name: string, into = context): Promise<Page> {
    const page = await into.newPage();
    problems.set(name, collectPageProblems(page));
    return page;
  }

  /** Runs axe and writes a full-page screenshot of the page as it is now. */
  async function record(name: string, page: Page): Promise<void> {
    audits.set(name, await runAxe(page));
    screenshots.push(await screenshot(page, name));
  }

  async function goto(page: Page, url: string): Promise<Response> {
    const response = await page.goto(url);
    if (!response) throw new Error(`no response for ${url}`);
    return response;
  }

  /** The list entry of a dossier: the outermost element around its link that holds no other dossier link. */
  const listEntry = (page: Page, n: number) => page
    .locator(`a[href*="/review/${ROUND}/dossiers/${n}?"]`)
    .locator('xpath=ancestor::*[count(.//a[contains(@href, "/dossiers/")]) = 1][last()]');

  /** The text of an element as in the DOM (innerText would give DSFR badges' CSS capitals: "À FAIRE"). */
  const textOf = async (locator: Locator) => ((await locator.textContent()) ?? '').replace(/\s+/g, ' ');

  /**
   * Checks a radio or a checkbox as a user does: by clicking its label. DSFR draws the control on
   * the label and hides the input under it, so clicking the input itself is "intercepted".
   */
  async function tick(page: Page, input: Locator): Promise<void> {
    const id = await input.getAttribute('id');
    await (id ? page.locator(`label[for="${id}"]`) : input).click();
    expect(await input.isChecked()).toBe(true);
  }

  async function chooseScores(page: Page, scores: Record<string, number>): Promise<void> {
    for (const [id, value] of Object.entries(scores)) {
      await tick(page, page.locator(`input[type="radio"][name="score_${id}"][value="${value}"]`));
    }
  }

  /** Clicks an intent button and waits for the POST and the page it leads to (after a redirect, the GET). */
  async function post(page: Page, intent: 'draft' | 'submit'): Promise<Response> {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST');
    const navigated = page.waitForNavigation({ waitUntil: 'load' });
    await page.locator(`button[name="intent"][value="${intent}"]`).click();
    const [response] = await Promise.all([posted, navigated]);
    return response;
  }

  /** The form's fields as the browser would post them (the buttons aside). */
  const formFields = (page: Page) => page.locator('form:has(button[name="intent"])').evaluate((form: HTMLFormElement) => {
    const fields: Record<string, string> = {};
    new FormData(form).forEach((value, name) => { fields[name] = String(value); });
    return fields;
  });

  const fullScores = (base: number) => Object.fromEntries(CRITERIA.map((c, i) => [c.id, ((base + i) % 5) + 1]));
  const weightedMean = (scores: Record<string, number>) => {
    const weights = CRITERIA.reduce((sum, c) => sum + c.weight, 0);
    return Math.round((CRITERIA.reduce((sum, c) => sum + c.weight * scores[c.id]!, 0) / weights) * 100) / 100;
  };

  beforeAll(async () => {
    const started = Date.now();
    dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-review-page-'));
    stack = new LocalStackProcess(dataDir, await freePort());
    const [launched] = await Promise.all([launchChromium(), stack.start()]);
    browser = launched;
    stackJson = await stack.stackJson();

    // The sample dossiers, through the ingest queue, until the valid ones are stored with their files.
    expect((await stack.cli('sync', '--json')).code).toBe(0);
    await stack.waitFor('the sample dossiers stored', async () => {
      const listed = await stack.cliJson<{ number: number; status: string }[]>('dossiers', 'list', '--round', ROUND);
      const done = listed.filter((d) => d.status === 'stored' || d.status === 'invalid');
      return listed.length === 3 && done.length === 3 ? true : undefined;
    });

    // Three reviewers for two valid dossiers × two reviewers each: one gets both, and a conflict can go to the third.
    const csv = join(dataDir, 'reviewers.csv');
    // A jury of three colleges (the programme's "jury paritaire"), as staff would type them.
    await writeFile(csv, 'email,name,conflicts,college\nalice@example.gouv.fr,Alice Martin,,administration\nbob@example.gouv.fr,Bob Durand,,Numérique\ncarol@example.gouv.fr,Carol Petit,,recherche\n');
    expect((await stack.cli('reviewers', 'import', csv, '--json')).code).toBe(0);
    expect((await stack.cli('rounds', 'open', '--round', ROUND, '--force', '--json')).code).toBe(0);
    const closing = await stack.cliJson<{ summary: { collegeShortfalls: number } }>('rounds', 'close-submissions', '--round', ROUND, '--json');
    // Two reviewers per dossier, always from two colleges.
    expect(closing.summary.collegeShortfalls).toBe(0);

    const assigned = await reviews();
    const byReviewer = new Map<string, { email: string; dossiers: number[] }>();
    for (const r of assigned) {
      const entry = byReviewer.get(r.reviewerId) ?? { email: r.reviewerEmail!, dossiers: [] };
      entry.dossiers.push(r.dossierNumber);
      byReviewer.set(r.reviewerId, entry);
    }
    const store = await mails();
    const reviewers = [...byReviewer].map(([id, { email, dossiers }]): Reviewer => {
      const mail = store.find((m) => m.destination.to.includes(email) && /à évaluer/.test(m.subject));
      const link = mail?.body.text.match(/http:\/\/127\.0\.0\.1:\d+\/review\/[^\s?]+\?token=\S+/)?.[0];
      if (!link) throw new Error(`no assignment mail with a link for ${email}`);
      expect(link.startsWith(listUrl({ token: '' } as Reviewer))).toBe(true);
      return { id, email, token: new URL(link).searchParams.get('token')!, dossiers: dossiers.sort() };
    });
    expect(reviewers).toHaveLength(3);
    main = reviewers.find((r) => r.dossiers.length === 2)!;
    expect(main, 'one reviewer has both dossiers').toBeDefined();
    [scored, drafted] = main.dossiers as [number, number];
    withdrawing = reviewers.find((r) => r !== main && r.dossiers.includes(scored))!;
    replacement = reviewers.find((r) => r !== main && r !== withdrawing)!;
    for (const n of main.dossiers) {
      titles.set(n, (await stack.cliJson<{ project: { title: string } }>('dossiers', 'show', String(n))).project.title);
    }
    context = await newReviewerContext(browser);
    console.info(`review-page.test.ts: stack, browser and round ready in ${Date.now() - started} ms`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('takes a reviewer from the mailed link to a draft, kept on reload, then to a submitted evaluation', async () => {
    const page = await newPage('list');
    expect((await goto(page, listUrl(main))).status()).toBe(200);
    for (const n of main.dossiers) {
      await expect.poll(() => page.locator(`a[href*="/review/${ROUND}/dossiers/${n}?token=${main.token}"]`).count()).toBe(1);
      expect(await textOf(listEntry(page, n))).toContain('À faire');
      expect(await page.locator('body').innerText()).toContain(titles.get(n));
    }
    expect(await page.locator('body').innerText()).toMatch(/reste\s+2\s+dossiers?\s+à\s+évaluer/);
    await record('list', page);

    // The dossier: its title, its attachments, the score form.
    await Promise.all([page.waitForURL(`**/dossiers/${scored}?**`), page.locator(`a[href*="/dossiers/${scored}?"]`).first().click()]);
    await expect.poll(() => page.locator('h1').innerText()).toBe(titles.get(scored));
    // The profiles the project asks for, next to the EIG posts.
    expect(await page.locator('main').innerText()).toMatch(/Profils recherchés\s+Directeur·rice/);
    for (const criterion of CRITERIA) {
      const fieldset = page.locator(`fieldset:has(input[name="score_${criterion.id}"])`);
      expect(await fieldset.locator('legend').innerText()).toContain(criterion.label);
      expect(await fieldset.locator(`input[type="radio"][name="score_${criterion.id}"]`).evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['1', '2', '3', '4', '5']);
    }
    expect(await page.getByLabel('Commentaire').evaluate((e) => e.tagName)).toBe('TEXTAREA');
    expect(await page.getByLabel("J'ai un lien d'intérêt avec ce dossier").getAttribute('name')).toBe('conflict');
    expect(await page.locator('input[type="hidden"][name="csrf"]').count()).toBe(1);
    expect(await page.locator('input[type="hidden"][name="version"]').count()).toBe(1);
    expect(await page.locator('button[name="intent"][value="draft"]').innerText()).toMatch(/Enregistrer le brouillon/);
    expect(await page.locator('button[name="intent"][value="submit"]').innerText()).toMatch(/Envoyer l.évaluation/);
    await record('dossier', page);

    // A draft with two criteria and a comment.
    const [first, second] = CRITERIA as [(typeof CRITERIA)[0], (typeof CRITERIA)[0]];
    await chooseScores(page, { [first.id]: 4, [second.id]: 2 });
    await page.getByLabel('Commentaire').fill('Premier avis : à compléter.');
    const draft = await post(page, 'draft');
    expect(draft.status()).toBe(303);
    expect(page.url()).toMatch(/[?&]saved=draft\b/);
    expect(await page.locator('body').innerText()).toMatch(/brouillon/i);
    expect(await reviewOf(main, scored)).toMatchObject({ state: 'draft', counted: false, scores: { [first.id]: 4, [second.id]: 2 } });

    await page.reload();
    expect(await page.locator(`input[name="score_${first.id}"][value="4"]`).isChecked()).toBe(true);
    expect(await page.locator(`input[name="score_${second.id}"][value="2"]`).isChecked()).toBe(true);
    expect(await page.getByLabel('Commentaire').inputValue()).toBe('Premier avis : à compléter.');
    await goto(page, listUrl(main));
    expect(await textOf(listEntry(page, scored))).toContain('Brouillon');

    // Every criterion, then the evaluation is sent.
    await goto(page, dossierUrl(main, scored));
    const scores = fullScores(2);
    await chooseScores(page, scores);
    await page.getByLabel('Commentaire').fill('Projet solide, équipe prête.');
    const sent = await post(page, 'submit');
    expect(sent.status()).toBe(303);
    expect(page.url()).toMatch(/[?&]saved=submitted\b/);
    expect(await page.locator('body').innerText()).toMatch(/envoyée/i);
    expect(await reviewOf(main, scored)).toMatchObject({ state: 'submitted', counted: true, scores, weightedMean: weightedMean(scores), comment: 'Projet solide, équipe prête.' });
    await goto(page, listUrl(main));
    expect(await textOf(listEntry(page, scored))).toContain('Envoyée');
    expect(await page.locator('body').innerText()).toMatch(/reste\s+1\s+dossier\s+à\s+évaluer/);
    expect(problems.get('list')).toEqual([]);
    await page.close();
  });

  it('serves an attachment inline through a redirect to a presigned URL', async () => {
    const page = await newPage('attachments');
    await goto(page, dossierUrl(main, scored));
    const { attachments } = await stack.cliJson<{ attachments: { filename: string; checksum: string }[] }>('dossiers', 'show', String(scored));
    const pdf = attachments.find((a) => a.filename.endsWith('.pdf'))!;
    const link = page.locator(`a[href*="/review/${ROUND}/dossiers/${scored}/attachments/"]`, { hasText: pdf.filename });
    expect(await link.count()).toBe(1);
    const href = new URL((await link.getAttribute('href'))!, page.url()).href;
    expect(href).toMatch(new RegExp(`/dossiers/${scored}/attachments/\\d+\\?token=`));

    const redirect = await page.request.get(href, { maxRedirects: 0 });
    expect(redirect.status()).toBe(302);
    const location = redirect.headers().location!;
    expect(location).toMatch(/X-Amz-Signature=/);
    const file = await page.request.get(location);
    expect(file.status()).toBe(200);
    expect(file.headers()['content-type']).toMatch(/^application\/pdf/);
    expect(file.headers()['content-disposition'] ?? 'inline').toMatch(/^inline/);
    expect(createHash('md5').update(await file.body()).digest('base64')).toBe(pdf.checksum);
    await page.close();
  });

  it('weighs under 500 KB on the first load of a dossier page (fresh context, no cache)', async () => {
    const { totalBytes, resources } = await measureFirstLoad(browser, dossierUrl(main, drafted));
    // Tokens hidden; inline data: URLs (icons in the CSS) cut to their type.
    const shortUrl = (url: string) => (url.startsWith('data:') ? `${url.slice(0, url.indexOf(',') + 1)}…` : url.replace(/token=[^&]+/, 'token=…'));
    const lines = resources.map((r) => `  ${String(r.encodedBytes).padStart(8)} B  ${r.status} ${r.mimeType}  ${shortUrl(r.url)}`);
    console.info(`review-page.test.ts: dossier page first load: ${(totalBytes / 1024).toFixed(1)} KB in ${resources.length} responses\n${lines.join('\n')}`);
    expect(resources.length).toBeGreaterThan(1);
    expect(totalBytes, lines.join('\n')).toBeLessThan(MAX_FIRST_LOAD_BYTES);
  });

  it('shows the dossier at phone width (375 px) without horizontal scrolling', async () => {
    const phone = await newReviewerContext(browser, { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    const page = await newPage('dossier-phone', phone);
    await goto(page, dossierUrl(main, drafted));
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    screenshots.push(await screenshot(page, 'dossier-phone'));
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await phone.close();
  });

  it('refuses a submission with a criterion missing or a comment too long, with messages next to the fields', async () => {
    const page = await newPage('dossier-errors');
    await goto(page, dossierUrl(main, drafted));
    const missing = CRITERIA[CRITERIA.length - 1]!;
    const partial = Object.fromEntries(CRITERIA.slice(0, -1).map((c) => [c.id, 3]));
    // The server's check is what is tested: a `required` radio would stop the browser before it posts.
    const required = await page.locator('form:has(button[name="intent"]):not([novalidate]) [required]').count();
    if (required > 0) {
      console.info(`review-page.test.ts: the form has ${required} required field(s) without novalidate; removed to test the server's check`);
      await page.locator('form:has(button[name="intent"]) [required]').evaluateAll((fields) => fields.forEach((f) => f.removeAttribute('required')));
    }
    await chooseScores(page, partial);
    const refused = await post(page, 'submit');
    expect(refused.status()).toBe(422);
    const summary = page.locator('[role="alert"]').first();
    expect(await summary.isVisible()).toBe(true);
    expect(await summary.innerText()).toContain(missing.label);
    const field = page.locator(`fieldset:has(input[name="score_${missing.id}"])`);
    expect(await field.innerText()).toMatch(/Notez/);
    // The summary is announced (role="alert") and takes the focus (autofocus: the page has no script).
    await page.waitForFunction(() => !!document.activeElement?.closest('[role="alert"]'));
    // What was chosen is kept.
    for (const [id, value] of Object.entries(partial)) expect(await page.locator(`input[name="score_${id}"][value="${value}"]`).isChecked()).toBe(true);
    await record('dossier-errors', page);
    expect((await reviewOf(main, drafted))?.state).toBe('to_do');

    // A comment over the limit: the server's message, even if the field's maxlength would stop a typist first.
    const comment = page.getByLabel('Commentaire');
    const maxLength = await comment.getAttribute('maxlength');
    if (maxLength !== null) console.info(`review-page.test.ts: the comment has maxlength=${maxLength}; removed to test the server's check`);
    await comment.evaluate((e) => e.removeAttribute('maxlength'));
    await comment.fill('é'.repeat(COMMENT_MAX_LENGTH + 1));
    const tooLong = await post(page, 'draft');
    expect(tooLong.status()).toBe(422);
    const commentGroup = page.getByLabel('Commentaire').locator('xpath=ancestor::*[self::div or self::p][1]/..');
    expect(await commentGroup.innerText()).toMatch(/5\s?001 caractères|limite/);
    expect(await page.locator('[role="alert"]').first().innerText()).toMatch(/ommentaire/);
    expect((await reviewOf(main, drafted))?.state).toBe('to_do');
    await page.close();
  });

  it('refuses a stale form (saved meanwhile in another tab) and overwrites nothing', async () => {
    const [first, second] = CRITERIA as [(typeof CRITERIA)[0], (typeof CRITERIA)[0]];
    const tabA = await newPage('stale-a');
    const tabB = await newPage('stale-b');
    await goto(tabA, dossierUrl(main, drafted));
    await goto(tabB, dossierUrl(main, drafted));
    await chooseScores(tabA, { [first.id]: 2 });
    expect((await post(tabA, 'draft')).status()).toBe(303);

    await chooseScores(tabB, fullScores(0));
    await tabB.getByLabel('Commentaire').fill('Écrit dans le second onglet.');
    const stale = await post(tabB, 'submit');
    expect(stale.status()).toBe(409);
    expect(await tabB.locator('[role="alert"], .fr-alert').count()).toBeGreaterThan(0);
    console.info(`review-page.test.ts: stale form message: ${(await tabB.locator('[role="alert"], .fr-alert').first().innerText()).replace(/\s+/g, ' ')}`);
    const kept = await reviewOf(main, drafted);
    expect(kept).toMatchObject({ state: 'draft', scores: { [first.id]: 2 }, comment: '' });
    expect(kept?.scores[second.id]).toBeUndefined();
    await tabA.close();
    await tabB.close();
  });

  it('refuses forged and expired links with a 403 page that shows no dossier data', async () => {
    const page = await newPage('refused');
    const last = main.token.at(-1)!;
    const forged = main.token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    for (const url of [listUrl(main, forged), dossierUrl(main, scored, forged)]) {
      const response = await goto(page, url);
      expect(response.status()).toBe(403);
      const html = await page.content();
      expect(await page.locator('body').innerText()).toMatch(/nouveau lien/i);
      for (const title of titles.values()) expect(html).not.toContain(title);
      expect(html).not.toMatch(/\/dossiers\/\d+/);
      expect(html).not.toContain(main.email);
    }
    await record('refused-forged', page);

    const expired = reviewToken(stackJson.local.reviewLinkSecret, ROUND, main.id, new Date(Date.now() - 60_000));
    const response = await goto(page, dossierUrl(main, scored, expired));
    expect(response.status()).toBe(403);
    expect(await page.locator('body').innerText()).toMatch(/expiré/);
    for (const title of titles.values()) expect(await page.content()).not.toContain(title);
    await record('refused-expired', page);
    await page.close();
  });

  it('refuses a POST without the anti-forgery token (403) or for a dossier not assigned (404), and writes nothing', async () => {
    const before = await reviews();
    const page = await newPage('posts');
    await goto(page, dossierUrl(main, drafted));
    const fields: Record<string, string> = { ...(await formFields(page)), ...Object.fromEntries(CRITERIA.map((c) => [`score_${c.id}`, '5'])), intent: 'submit' };
    expect(fields.csrf).toBeTruthy();

    const { csrf, ...withoutCsrf } = fields;
    const noCsrf = await page.request.post(dossierUrl(main, drafted), { form: withoutCsrf, maxRedirects: 0 });
    expect(noCsrf.status()).toBe(403);
    const otherCsrf = await page.request.post(dossierUrl(main, drafted), { form: { ...fields, csrf: `${csrf!.slice(0, -1)}${csrf!.endsWith('A') ? 'B' : 'A'}` }, maxRedirects: 0 });
    expect(otherCsrf.status()).toBe(403);

    // The withdrawing reviewer's own csrf, on a dossier they were not given; and a dossier nobody was given.
    await goto(page, dossierUrl(withdrawing, scored));
    const theirs = await formFields(page);
    const notTheirs = withdrawing.dossiers.includes(drafted) ? 23456791 : drafted;
    const notAssigned = await page.request.post(dossierUrl(withdrawing, notTheirs), { form: { ...theirs, ...Object.fromEntries(CRITERIA.map((c) => [`score_${c.id}`, '1'])), intent: 'submit' }, maxRedirects: 0 });
    expect(notAssigned.status()).toBe(404);
    expect(await notAssigned.text()).not.toContain(titles.get(drafted)!);
    const unknown = await page.request.post(dossierUrl(main, 23456791), { form: fields, maxRedirects: 0 });
    expect(unknown.status()).toBe(404);
    const notAssignedPage = await goto(page, dossierUrl(withdrawing, notTheirs));
    expect(notAssignedPage.status()).toBe(404);
    await record('refused-not-assigned', page);

    expect(await reviews()).toEqual(before);
    await page.close();
  });

  it('changes nothing on GET, whatever the query string holds', async () => {
    const before = { reviews: await reviews(), mails: (await mails()).length };
    const page = await newPage('gets');
    await goto(page, dossierUrl(main, drafted));
    const fields = await formFields(page);
    const query = new URLSearchParams({ ...fields, ...Object.fromEntries(CRITERIA.map((c) => [`score_${c.id}`, '1'])), intent: 'submit', conflict: 'on' });
    for (const reviewer of [main, withdrawing, replacement]) {
      expect((await goto(page, listUrl(reviewer))).status()).toBe(200);
      for (const n of reviewer.dossiers) {
        expect((await goto(page, dossierUrl(reviewer, n))).status()).toBe(200);
        expect((await goto(page, `${dossierUrl(reviewer, n)}&${query}`)).status()).toBe(200);
        for (const href of await page.locator('a[href*="/attachments/"]').evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).href))) {
          expect((await page.request.get(href, { maxRedirects: 0 })).status()).toBe(302);
        }
      }
    }
    expect({ reviews: await reviews(), mails: (await mails()).length }).toEqual(before);
    await page.close();
  });

  it('takes a declared conflict of interest: the dossier goes to another reviewer, mailed once', async () => {
    const page = await newPage('conflict');
    await goto(page, listUrl(withdrawing));
    await Promise.all([page.waitForURL(`**/dossiers/${scored}?**`), page.locator(`a[href*="/dossiers/${scored}?"]`).first().click()]);
    await tick(page, page.getByLabel("J'ai un lien d'intérêt avec ce dossier"));
    const fields = await formFields(page);
    const declared = await post(page, 'submit');
    expect(declared.status()).toBe(303);
    // saved=submitted by the contract; a distinct saved=conflict is as good.
    expect(page.url()).toMatch(/[?&]saved=(submitted|conflict)\b/);
    expect(await page.locator('body').innerText()).toMatch(/lien d.intérêt/i);
    await record('dossier-conflict', page);
    await goto(page, listUrl(withdrawing));
    expect(await textOf(listEntry(page, scored))).toContain('Conflit déclaré');

    const after = await reviews();
    expect(after.find((r) => r.reviewerId === withdrawing.id && r.dossierNumber === scored)).toMatchObject({ state: 'conflict', conflictOfInterest: true, counted: false, scores: {} });
    expect(after.find((r) => r.reviewerId === replacement.id && r.dossierNumber === scored)).toMatchObject({ state: 'to_do' });
    const shown = await stack.cliJson<{ reviewProgress?: { reviewers: { reviewerId: string }[]; reassignments: unknown[] } }>('rounds', 'show', ROUND);
    expect(shown.reviewProgress?.reassignments).toEqual([
      expect.objectContaining({ dossierNumber: scored, withdrawnReviewerId: withdrawing.id, replacementReviewerId: replacement.id }),
    ]);
    expect(shown.reviewProgress?.reviewers).toEqual(expect.arrayContaining([
      expect.objectContaining({ reviewerId: withdrawing.id, conflictsDeclared: 1 }),
      expect.objectContaining({ reviewerId: replacement.id, replacementsReceived: 1 }),
    ]));
    const extra = (await mails()).filter((m) => m.destination.to.includes(replacement.email) && /dossier supplémentaire/.test(m.subject));
    expect(extra).toHaveLength(1);
    expect(extra[0]!.body.text).toContain(String(scored));
    expect(extra[0]!.body.text).toContain(`/review/${ROUND}?token=`);

    // The same conflict form posted again: refused or a no-op, and no second mail.
    const again = await page.request.post(dossierUrl(withdrawing, scored), { form: { ...fields, intent: 'submit' }, maxRedirects: 0 });
    console.info(`review-page.test.ts: the conflict form posted again answers ${again.status()}`);
    expect(again.status()).not.toBe(500);
    expect((await mails()).filter((m) => m.destination.to.includes(replacement.email) && /dossier supplémentaire/.test(m.subject))).toHaveLength(1);
    expect(await reviews()).toEqual(after);

    // The replacement now finds the dossier in their list.
    await goto(page, listUrl(replacement));
    expect(await textOf(listEntry(page, scored))).toContain('À faire');
    await page.close();
  });

  it('closes the selection: the dossier page is read-only and the ranking uses the submitted scores only', async () => {
    const closing = await stack.cli('rounds', 'close-selection', '--round', ROUND, '--force', '--json');
    expect(closing.code, `${closing.stderr}${closing.stdout}`).toBe(0);
    expect(JSON.parse(closing.stdout)).toMatchObject({ roundId: ROUND, status: 'closed' });

    const page = await newPage('read-only');
    expect((await goto(page, dossierUrl(main, scored))).status()).toBe(200);
    expect(await page.locator('button[name="intent"][value="submit"]').count()).toBe(0);
    expect(await page.locator('body').innerText()).toMatch(/clôtur/i);
    await record('dossier-read-only', page);
    await page.close();

    const submitted = await reviewOf(main, scored);
    expect(submitted).toMatchObject({ state: 'submitted', counted: true });
    expect(await reviewOf(main, drafted)).toMatchObject({ state: 'draft', counted: false });
    const report = await stack.cliJson<{ decisions: { dossierNumber: number; rank: number | null; score: number | null; reviewCount: number }[] }>('report', '--round', ROUND);
    expect(report.decisions.find((d) => d.dossierNumber === scored)).toMatchObject({ rank: 1, score: submitted!.weightedMean, reviewCount: 1 });
    expect(report.decisions.find((d) => d.dossierNumber === drafted)).toMatchObject({ rank: null, score: null, reviewCount: 0 });

    // The programme's rules in the report: its 2024 criteria, posts a round within the yearly ceiling,
    // the profiles asked, and the eligibility flag of the GIP's dossier (to check, not decided).
    const document = await stack.cliJson<{
      criteria: { id: string }[]; capacity: { roundCapacityPosts: number; ceilingPosts: number } | null;
      decisions: { dossierNumber: number; profiles: string[]; eligibility: { flag: string } | null }[];
    }>('report', '--round', ROUND);
    expect(document.criteria.map((c) => c.id)).toEqual(CRITERIA.map((c) => c.id));
    expect(document.capacity).toMatchObject({ roundCapacityPosts: 5, ceilingPosts: 30 });
    expect(document.decisions.find((d) => d.dossierNumber === 23456790)).toMatchObject({ profiles: ['Directeur·rice technique'], eligibility: { flag: 'to_check' } });
    expect(document.decisions.find((d) => d.dossierNumber === 23456789)?.eligibility?.flag).toBe('eligible');
    const text = (await stack.cli('report', '--round', ROUND)).stdout;
    expect(text).toMatch(/plafond 2026 30 postes/);
    expect(text).toMatch(/Postes sélectionnés par profil/);
  });

  it('has no serious or critical accessibility violation (axe-core) on any page', () => {
    expect([...audits.keys()]).toEqual(expect.arrayContaining(['list', 'dossier', 'dossier-errors', 'dossier-read-only', 'refused-forged']));
    const failing = [...audits].map(([name, violations]) => [name, seriousViolations(violations)] as const).filter(([, v]) => v.length > 0);
    const minor = [...audits].flatMap(([name, violations]) => violations.filter((v) => !seriousViolations([v]).length).map((v) => `${name}: [${v.impact}] ${v.id}`));
    if (minor.length > 0) console.info(`review-page.test.ts: minor or moderate axe findings:\n  ${minor.join('\n  ')}`);
    console.info(`review-page.test.ts: screenshots:\n  ${screenshots.join('\n  ')}`);
    expect(failing, failing.map(([name, v]) => `${name}:\n${describeViolations(v)}`).join('\n')).toEqual([]);
  });

  it('loaded every page without a CSP violation, script error or failed request', () => {
    const reported = [...problems].filter(([, list]) => list.length > 0).map(([name, list]) => `${name}:\n  ${list.join('\n  ')}`);
    expect(reported, reported.join('\n')).toEqual([]);
  });
});
