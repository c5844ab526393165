import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MessageRejected, SESv2Client, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer, SesSendError } from '#adapters/ses/mailer';
import { SES_LOCAL_CREDENTIALS, startSesLocal, type SesEngine } from '../helpers/ses-engine.ts';

const FROM = 'selection@eig.example.gouv.fr';

let ses: SesEngine;
let mailer: SesMailer;

beforeAll(async () => {
  ses = await startSesLocal();
  mailer = new SesMailer({ client: ses.client, from: FROM });
});
afterAll(async () => {
  await ses?.stop();
});
beforeEach(async () => {
  await ses.clear();
});

describe('SesMailer against aws-ses-v2-local', () => {
  it('sends a mail with accents: subject, text and html arrive as written, under the returned MessageId', async () => {
    const message = {
      to: ['élodie.béranger@example.fr'],
      subject: 'Évaluation des projets : 3 dossiers vous sont attribués – session « 2026-05 »',
      text: 'Bonjour Élodie,\n\nVoici vos dossiers à évaluer avant le 22 mai. Merci !\n— L’équipe EIG',
      html: '<p>Bonjour Élodie,</p><p>Voici vos dossiers à évaluer : <a href="https://eig.example/revue?t=abc">évaluer</a>.</p>',
    };
    const messageId = await mailer.send(message);
    expect(messageId).toMatch(/\S/);

    const mails = await ses.mails();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({
      messageId,
      from: FROM,
      destination: { to: message.to, cc: [], bcc: [] },
      subject: message.subject,
      body: { text: message.text, html: message.html },
    });
  });

  it('sends text only when there is no html, to several recipients', async () => {
    await mailer.send({ to: ['a@example.fr', 'b@example.fr'], subject: 'Rappel', text: 'Il vous reste 2 évaluations.' });
    const [mail] = await ses.mails();
    expect(mail?.destination.to).toEqual(['a@example.fr', 'b@example.fr']);
    expect(mail?.body.text).toBe('Il vous reste 2 évaluations.');
    expect(mail?.body.html).toBeUndefined();
  });

  it('passes the configuration set when one is given', async () => {
    const withSet = new SesMailer({ client: ses.client, from: FROM, configurationSetName: 'ds-selection-events' });
    await expect(withSet.send({ to: ['c@example.fr'], subject: 'Objet', text: 'Texte' })).resolves.toMatch(/\S/);
    expect(await ses.mails()).toHaveLength(1);
  });

  it('rethrows a refusal with the SES error name, never the recipient address', async () => {
    // aws-ses-v2-local refuses a mail without subject text (SES would too), with a 400.
    const error = await mailer.send({ to: ['secret.person@example.fr'], subject: '', text: 'x' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SesSendError);
    const sendError = error as SesSendError;
    expect(sendError.name).toMatch(/\S/);
    expect(sendError.message).toMatch(/^SES SendEmail failed: \S+ \(HTTP 400\)$/);
    expect(sendError.statusCode).toBe(400);
    expect(sendError.retryable).toBe(false);
    expect(JSON.stringify({ message: sendError.message, cause: sendError.cause, stack: sendError.stack })).not.toContain('secret.person');
    expect(await ses.mails()).toEqual([]);
  });

  it('drops SES\'s own message, which may quote the address, and keeps the error name (injected faults)', async () => {
    const failing = (error: Error) => new SesMailer({ client: { send: async () => { throw error; } } as unknown as SESv2Client, from: FROM });
    const rejected = new MessageRejected({
      message: 'Email address is not verified. The following identities failed the check in region EU-WEST-3: secret.person@example.fr',
      $metadata: { httpStatusCode: 400, requestId: 'req-1' },
    });
    const error = await failing(rejected).send({ to: ['secret.person@example.fr'], subject: 's', text: 't' }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ name: 'MessageRejected', message: 'SES SendEmail failed: MessageRejected (HTTP 400)', retryable: false });
    expect(JSON.stringify({ message: (error as Error).message, cause: (error as Error).cause, stack: (error as Error).stack })).not.toContain('secret.person');

    const throttled = new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 429 } });
    await expect(failing(throttled).send({ to: ['x@example.fr'], subject: 's', text: 't' })).rejects.toMatchObject({ name: 'TooManyRequestsException', retryable: true });
  });

  it('reports a network failure as retryable, by its code', async () => {
    const stopped = await startSesLocal();
    await stopped.stop();
    const client = createSesClient({ endpoint: stopped.endpoint, region: 'eu-west-3', credentials: SES_LOCAL_CREDENTIALS });
    const unreachable = new SesMailer({ client, from: FROM });
    try {
      await expect(unreachable.send({ to: ['d@example.fr'], subject: 'Objet', text: 'Texte' })).rejects.toMatchObject({ name: 'ECONNREFUSED', retryable: true });
    } finally {
      client.destroy();
    }
  });
});

describe('createSesClient', () => {
  it('takes the endpoint from AWS_ENDPOINT_URL_SESV2 when none is given', async () => {
    const previous = process.env.AWS_ENDPOINT_URL_SESV2;
    process.env.AWS_ENDPOINT_URL_SESV2 = ses.endpoint;
    let client: SESv2Client | undefined;
    try {
      client = createSesClient({ region: 'eu-west-3', credentials: SES_LOCAL_CREDENTIALS });
      await new SesMailer({ client, from: FROM }).send({ to: ['e@example.fr'], subject: 'Par variable', text: 'ok' });
      expect((await ses.mails()).map((m) => m.subject)).toEqual(['Par variable']);
    } finally {
      client?.destroy();
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SESV2;
      else process.env.AWS_ENDPOINT_URL_SESV2 = previous;
    }
  });
});
