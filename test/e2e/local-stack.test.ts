import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LocalStackProcess, ROOT } from '../helpers/local-stack-process.ts';

// The local stack end to end, as a user runs it: `npm start` in a child process on free
// ports and a temp DATA_DIR, webhooks posted over HTTP, assertions through the CLI's --json.
const run = promisify(execFile);
let dataDir: string;
let port: number;
let stack: LocalStackProcess;

const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs?: number) => stack.waitFor(what, check, timeoutMs);
const cli = (...args: string[]) => stack.cli(...args);

const showJson = async (n: number) => {
  const result = await cli('dossiers', 'show', String(n), '--json');
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
};

async function webhook(dossier: number): Promise<Response> {
  const stackJson = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8'));
  return fetch(stackJson.LegacyWebhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `procedure_id=98765&dossier_id=${dossier}&state=en_construction&updated_at=2026-03-05%2014%3A22%3A10%20%2B0100`,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-e2e-'));
  port = await freePort();
  stack = new LocalStackProcess(dataDir, port);
  await stack.start();
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('local stack', () => {
  it('prints the webhook URL with its token, the mail page and the data folder at start-up', async () => {
    expect(stack.output).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}/webhooks/ds/[0-9a-f]{48}`));
    expect(stack.output).toContain('Mails (SES)');
    expect(stack.output).toContain(dataDir);
    // stack.json holds what the CLI needs, nothing the SDK added to the objects it was given.
    const text = await readFile(join(dataDir, 'stack.json'), 'utf8');
    expect(text).not.toContain('$source');
    expect(Object.keys(JSON.parse(text).local.credentials).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
  });

  it('stores a dossier posted by webhook, mapped, with its files in S3 at DS\'s MD5', async () => {
    expect((await webhook(23456790)).status).toBe(200);
    const dossier = await waitFor('dossier 23456790 stored', async () => {
      const shown = await showJson(23456790);
      return shown?.status === 'stored' ? shown : undefined;
    });
    expect(dossier).toMatchObject({
      number: 23456790, state: 'en_construction', round: '2026-03', dateDerniereModification: '2026-03-06T10:02:00+01:00',
      project: { title: expect.stringMatching(/^Open Transport/), administration: { siret: '13001111100015' } },
    });
    expect(dossier.attachments).toHaveLength(2);
    for (const attachment of dossier.attachments) {
      expect(attachment).toMatchObject({ status: 'stored', key: expect.stringMatching(/^attachments\/23456790\//) });
    }

    const out = join(dataDir, 'downloads');
    const download = await cli('attachments', 'download', '23456790', '--out', out);
    expect(download.code).toBe(0);
    for (const attachment of dossier.attachments) {
      const bytes = await readFile(join(out, attachment.filename));
      expect(createHash('md5').update(bytes).digest('base64')).toBe(attachment.checksum);
    }
  });

  it('stores a dossier whose signed v2 webhook the DS simulator sends to the local endpoint', async () => {
    const { local } = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8'));
    const simulator = local.dsApiUrl.replace('/api/v2/graphql', '');
    const emitted = await fetch(`${simulator}/_simulator/webhooks?dossier=23456789&kind=v2`, { method: 'POST' });
    expect(await emitted.json()).toEqual({ status: 200 });
    const dossier = await waitFor('dossier 23456789 stored', async () => {
      const shown = await showJson(23456789);
      return shown?.status === 'stored' ? shown : undefined;
    });
    expect(dossier.attachments.map((a: { filename: string }) => a.filename)).toEqual(['fiche-defi.pdf', 'lettre-soutien-dg.pdf', 'annexe-donnees.xlsx']);
  });

  it('refuses a webhook with a wrong token and stores nothing for it', async () => {
    // A number DS does not know: even the scheduled reconciliation could not store it.
    const response = await fetch(`http://127.0.0.1:${port}/webhooks/ds/wrong-token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'procedure_id=98765&dossier_id=11111111&state=en_construction&updated_at=2026-03-05%2014%3A22%3A10%20UTC',
    });
    expect(response.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await cli('dossiers', 'show', '11111111', '--json')).code).toBe(3);
  });

  it('backfills the démarche with sync, invalid dossiers included', async () => {
    const sync = await cli('sync', '--json');
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ listed: 3, queued: 3 });
    const invalid = await waitFor('dossier 23456791 ingested', async () => {
      const shown = await showJson(23456791);
      return shown?.status === 'invalid' ? shown : undefined;
    });
    expect(invalid.issues.length).toBeGreaterThan(0);
    const list = JSON.parse((await cli('dossiers', 'list', '--round', '2026-03', '--json')).stdout);
    expect(list.map((d: { number: number }) => d.number).sort()).toEqual([23456789, 23456790, 23456791]);
  });

  it('runs a round from the CLI: reviewers, opening, assignment mails shown on the local SES page', async () => {
    const reviewersFile = join(dataDir, 'reviewers.csv');
    await writeFile(reviewersFile, 'email,name,conflicts\nalice@example.gouv.fr,Alice Reviewer,\nbob@example.gouv.fr,Bob Reviewer,13009999700012\ncarol@example.gouv.fr,Carol Reviewer,\n');
    expect((await cli('reviewers', 'import', reviewersFile, '--json')).code).toBe(0);
    expect((await cli('rounds', 'open', '--round', '2026-03', '--force', '--json')).code).toBe(0);
    const closing = await cli('rounds', 'close-submissions', '--round', '2026-03', '--json');
    expect(closing.code).toBe(0);
    expect(JSON.parse(closing.stdout)).toMatchObject({ roundId: '2026-03', changed: true, status: 'reviewing' });

    // The two valid dossiers get two reviewers each; Bob never gets the administration he declared a conflict with.
    const reviews = JSON.parse((await cli('reviews', 'list', '--round', '2026-03', '--json')).stdout) as { dossierNumber: number; reviewerEmail: string }[];
    expect(reviews).toHaveLength(4);
    expect(reviews.filter((r) => r.dossierNumber === 23456789).map((r) => r.reviewerEmail)).not.toContain('bob@example.gouv.fr');
    const { local } = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8'));
    type StoredMail = { destination: { to: string[] }; body: { text: string } };
    const store = await (await fetch(`${local.mailUrl}store`)).json() as { emails: StoredMail[] };
    // One assignment mail per reviewer who has dossiers, each with a personal review link.
    const recipients = store.emails.flatMap((mail) => mail.destination.to).sort();
    expect(recipients).toEqual([...new Set(reviews.map((r) => r.reviewerEmail))].sort());
    for (const mail of store.emails) expect(mail.body.text).toMatch(/\/review\/2026-03\?token=[0-9a-f]{16}\./);
    // The same mails through the CLI, without reading the mail page's script.
    const listed = JSON.parse((await cli('mails', 'list', '--json')).stdout) as { to: string[]; subject: string; text: string }[];
    expect(listed.map((m) => m.to[0]).sort()).toEqual(recipients);
    const alices = JSON.parse((await cli('mails', 'list', '--to', 'ALICE@example.gouv.fr', '--json')).stdout) as { to: string[]; text: string }[];
    expect(alices).toHaveLength(1);
    expect(alices[0]!.text).toMatch(/\/review\/2026-03\?token=/);
    expect((await cli('mails', 'list')).stdout).toMatch(/^envoyé le \(UTC\)\s+à\s+objet/);
    expect((await cli('rounds', 'close-submissions', '--round', '2026-03', '--json')).code).toBe(0);
    const again = await (await fetch(`${local.mailUrl}store`)).json() as { emails: unknown[] };
    expect(again.emails).toHaveLength(store.emails.length);
  });

  it('keeps everything across a restart, and a second start on a busy port fails clearly', async () => {
    const second = await run(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
      cwd: ROOT, env: { ...process.env, PORT: String(port), DATA_DIR: join(dataDir, 'other') },
    }).catch((error) => error as { code: number; stderr: string });
    expect((second as { code: number }).code).toBe(2);
    expect((second as { stderr: string }).stderr).toContain(`port ${port} is already in use`);
    // The mail page's port is checked as clearly (it is PORT + 1 unless MAIL_PORT says otherwise).
    const mailPort = new URL((await stack.stackJson()).local.mailUrl).port;
    const third = await run(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
      cwd: ROOT, env: { ...process.env, PORT: String(await freePort()), MAIL_PORT: mailPort, DATA_DIR: join(dataDir, 'third') },
    }).catch((error) => error as { code: number; stderr: string });
    expect(third).toMatchObject({ code: 2, stderr: expect.stringContaining(`port ${mailPort} (the local mail page) is already in use`) });

    const before = JSON.parse((await cli('dossiers', 'list', '--round', '2026-03', '--json')).stdout);
    const { local: localBefore } = await stack.stackJson();
    const mailsBefore = await (await fetch(`${localBefore.mailUrl}store`)).json() as { emails: unknown[] };
    expect(mailsBefore.emails.length).toBeGreaterThan(0);
    await stack.stop();
    await stack.start({ RUN_SCHEDULES_AT_START: 'reconcile-dossiers' });
    // The mail page and the simulator keep their ports, and the mails sent before the restart are still there.
    const { local: localAfter } = await stack.stackJson();
    expect([localAfter.mailUrl, localAfter.dsApiUrl]).toEqual([localBefore.mailUrl, localBefore.dsApiUrl]);
    expect(await (await fetch(`${localAfter.mailUrl}store`)).json()).toEqual(mailsBefore);
    // The scheduled reconciliation runs the real handler: it lists DS from its cursor and queues what changed.
    await waitFor('the reconciliation run', async () => (/reconcile-dossiers: \d+ message\(s\) queued/.test(stack.output) ? true : undefined));
    const after = JSON.parse((await cli('dossiers', 'list', '--round', '2026-03', '--json')).stdout);
    expect(after).toEqual(before);
    const files = await readdir(join(dataDir, 's3'));
    expect(files.length).toBeGreaterThan(0);
    expect((await showJson(23456790)).attachments.every((a: { status: string }) => a.status === 'stored')).toBe(true);
  }, 90_000); // three stack starts and five CLI processes: a loaded machine needs more than the default 30 s
});
