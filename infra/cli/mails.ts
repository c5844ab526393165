import type { Command } from 'commander';
import { z } from 'zod';
import { examples, withConnection, type CommandContext } from './context.ts';
import { StackUnreachableError, UsageError } from './errors.ts';
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

export function registerMailCommands(program: Command, context: CommandContext): void {
  const mails = program.command('mails').description('the mails the local stack sent (its local SES keeps them; local stack only)');
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
