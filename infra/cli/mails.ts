import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import type { MailEventResult } from '#core/mail-events/handle-mail-event';
import { SesEventBridgeEventSchema } from '#schemas/ses-event';
import type { StackOutputs } from '#infra/stack-outputs';
import { lambdaContext } from '../local/lambda-context.ts';
import { readInputFile } from './csv.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { PartialFailureError, StackUnreachableError, UsageError } from './errors.ts';
import { formatTable, plural, truncate, writeJson, writeLines } from './output.ts';

/*
 * `mails list`: the mails the local stack "sent", as its local SES keeps them (aws-ses-v2-local,
 * GET <mail page>/store; kept in DATA_DIR/ses/mails.json across restarts). A deployed stage sends
 * real mail through SES, which keeps no copy: the command is for the local stack only.
 */

/** One mail of the local store, as aws-ses-v2-local 2.10 writes it (the fields read here). */
const StoredMailSchema = z.object({
  messageId: z.string(),
  from: z.string(),
  destination: z.object({ to: z.array(z.string()).default([]), cc: z.array(z.string()).default([]), bcc: z.array(z.string()).default([]) }),
  subject: z.string(),
  body: z.object({ text: z.string().optional(), html: z.string().optional() }),
  /** Epoch seconds. */
  at: z.number(),
});
const StoreSchema = z.object({ emails: z.array(StoredMailSchema) });

export interface MailView {
  messageId: string;
  /** ISO instant. */
  sentAt: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export function mailViews(store: unknown, to?: string): MailView[] {
  const parsed = StoreSchema.safeParse(store);
  if (!parsed.success) throw new StackUnreachableError(`the local mail store answered something else than aws-ses-v2-local's store: ${z.prettifyError(parsed.error)}`);
  const wanted = to?.trim().toLowerCase();
  return parsed.data.emails
    .map((mail): MailView => ({
      messageId: mail.messageId,
      sentAt: new Date(mail.at * 1000).toISOString(),
      from: mail.from,
      to: [...mail.destination.to, ...mail.destination.cc, ...mail.destination.bcc],
      subject: mail.subject,
      text: mail.body.text ?? '',
    }))
    .filter((mail) => !wanted || mail.to.some((address) => address.toLowerCase() === wanted))
    .sort((a, b) => (a.sentAt < b.sentAt ? -1 : a.sentAt > b.sentAt ? 1 : 0));
}

/*
 * `mails inject-event FILE --to EMAIL`: what SES would publish about a mail (events/ses-*.json),
 * fed to the very handler module the Lambda runs (functions/handle-mail-events.ts), here, with the
 * local stack's engines (from stack.json) in its environment: suppression, outcome and staff mail
 * happen as they would in AWS, nothing is simulated around them.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The event with every recipient replaced by `to` (the sample's own address otherwise). Throws on a file that is no SES event. */
export function retargetSesEvent(event: unknown, to: string | undefined): Record<string, any> {
  const parsed = SesEventBridgeEventSchema.safeParse(event);
  if (!parsed.success) throw new UsageError(`not an SES event as EventBridge delivers it (see events/README.md):\n${z.prettifyError(parsed.error)}`);
  const copy = structuredClone(event) as Record<string, any>;
  if (to === undefined) return copy;
  const address = to.trim();
  if (!z.email().safeParse(address).success) throw new UsageError(`--to: "${to}" is not an email address`);
  const detail = copy.detail;
  detail.mail.destination = [address];
  if (detail.mail.commonHeaders) detail.mail.commonHeaders.to = [address];
  for (const header of detail.mail.headers ?? []) if (String(header.name).toLowerCase() === 'to') header.value = address;
  if (detail.bounce) detail.bounce.bouncedRecipients = [{ ...detail.bounce.bouncedRecipients[0], emailAddress: address }];
  if (detail.complaint) detail.complaint.complainedRecipients = [{ ...detail.complaint.complainedRecipients[0], emailAddress: address }];
  if (detail.delivery) detail.delivery.recipients = [address];
  return copy;
}

type MailEventsHandler = (event: unknown, context: Context) => Promise<MailEventResult>;

/** The handler module, loaded once with the local stack's engines in the environment (as `npm start` gives its handlers). */
async function localMailEventsHandler(outputs: StackOutputs): Promise<MailEventsHandler> {
  const local = outputs.local!;
  Object.assign(process.env, {
    AWS_REGION: outputs.region,
    AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: local.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SESV2: local.endpoints.ses,
    TABLE_NAME: outputs.TableName,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  return (await import(join(ROOT, 'functions', 'handle-mail-events.ts'))).handler as MailEventsHandler;
}

export function describeMailEvent(result: MailEventResult): string {
  const parts = [
    `${result.eventType} (outcome ${result.outcome})`,
    result.suppression
      ? `${plural(result.suppressed.length, 'reviewer')} suppressed (${result.suppression})${result.alreadySuppressed.length ? `, ${result.alreadySuppressed.length} already` : ''}`
      : 'no suppression',
    ...(result.unknownRecipients ? [`${result.unknownRecipients} ${result.unknownRecipients === 1 ? 'address' : 'addresses'} of no reviewer ignored`] : []),
    `staff mails: ${result.staffMails.sent} sent, ${result.staffMails.alreadySent} already sent`,
    `notification: ${result.notification}`,
  ];
  return `mails inject-event: ${parts.join('; ')}`;
}

export function registerMailCommands(program: Command, context: CommandContext): void {
  const mails = program.command('mails').description('the mails the local stack sent (its local SES keeps them; local stack only)');
  mails
    .command('inject-event')
    .description(
      'feed an SES event (bounce, complaint, delivery, reject: events/ses-*.json) to handle-mail-events, the same handler module the Lambda runs, '
      + 'against the local stack: a permanent bounce or a complaint suppresses the reviewer and mails staff once; replaying it changes nothing. '
      + 'Local stack only (in AWS, SES publishes the events itself).',
    )
    .argument('<file>', 'an SES event as EventBridge delivers it, e.g. events/ses-bounce.json')
    .option('--to <email>', 'the recipient the event is about (replaces the sample\'s)')
    .option('--json', 'print what the handler did: { eventType, outcome, notification, suppression, suppressed, alreadySuppressed, unknownRecipients, staffMails }')
    .addHelpText('after', examples('ds-selection mails inject-event events/ses-bounce.json --to alice@example.gouv.fr', 'ds-selection mails inject-event events/ses-complaint.json --to bob@example.gouv.fr --json'))
    .action(async (file: string, options: { to?: string; json?: boolean }, command: Command) => {
      const { path, text } = await readInputFile(context.io, file);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new UsageError(`${path} is not JSON (${(error as Error).message})`);
      }
      const event = retargetSesEvent(json, options.to);
      await withConnection(context, command, async ({ outputs }) => {
        if (!outputs.local) throw new UsageError('mails inject-event feeds the local stack; in AWS, SES publishes its events itself');
        const handler = await localMailEventsHandler(outputs);
        let result: MailEventResult;
        try {
          result = await handler(event, lambdaContext('handle-mail-events', 30));
        } catch (error) {
          if ((error as Error).name === 'MailEventIncompleteError') throw new PartialFailureError(`mails inject-event: ${(error as Error).message}`);
          throw error;
        }
        if (options.json) writeJson(context.io, result);
        else context.io.stdout.write(`${describeMailEvent(result)}\n`);
      });
    });
  mails
    .command('list')
    .description('list the mails the local stack sent, oldest first: when, to whom, subject (--json adds the text, with the review links)')
    .option('--to <email>', 'only the mails to this address')
    .option('--json', 'print a JSON array of { messageId, sentAt, from, to, subject, text }')
    .addHelpText('after', examples('ds-selection mails list', 'ds-selection mails list --to alice@example.gouv.fr --json | jq -r \'.[-1].text\''))
    .action(async (options: { to?: string; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ outputs }) => {
        const mailUrl = outputs.local?.mailUrl;
        if (!mailUrl) throw new UsageError('mails list reads the local stack\'s mail store; a deployed stage sends real mail through SES, which keeps no copy');
        let store: unknown;
        try {
          store = await (await fetch(new URL('store', mailUrl))).json();
        } catch (error) {
          throw new StackUnreachableError(`the local mail page ${mailUrl} does not answer (${(error as Error).message}): is \`npm start\` running?`);
        }
        const views = mailViews(store, options.to);
        if (options.json) return writeJson(context.io, views);
        const { io } = context;
        if (views.length === 0) return writeLines(io.stdout, [options.to ? 'Aucun courriel envoyé à cette adresse.' : 'Aucun courriel envoyé.']);
        writeLines(io.stdout, [
          ...formatTable(
            [{ header: 'envoyé le (UTC)' }, { header: 'à' }, { header: 'objet' }],
            views.map((m) => [m.sentAt.slice(0, 19).replace('T', ' '), truncate(m.to.join(', '), 40), truncate(m.subject, 70)]),
          ),
          '',
          `${plural(views.length, 'courriel')} ; le texte et les liens : --json, ou la page ${mailUrl}`,
        ]);
      });
    });
}
