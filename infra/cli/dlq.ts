import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { IngestMessageSchema } from '#schemas/ingest-message';
import { PartialFailureError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { formatTable, plural, writeJson, writeLines } from './output.ts';

/** One message waiting in the dead-letter queue: a dossier whose ingestion failed 5 times. */
export interface DeadLetterView {
  messageId: string;
  demarcheNumber: number | null;
  dossierNumber: number | null;
  /** Where the hint came from (webhook, sync, ...). */
  source: string | null;
  /** As SQS counts it: listing receives each message once, which adds one. */
  receiveCount: number | null;
  firstReceivedAt: string | null;
  sentAt: string | null;
}

export interface RedriveView {
  started: boolean;
  taskHandle: string | null;
  status: string | null;
  messagesToMove: number | null;
  messagesMoved: number | null;
  failureReason?: string;
}

/** Peeks stop after this many calls, whatever happens: a DLQ this big needs another tool. */
const MAX_RECEIVE_CALLS = 200;
/** Long polling asks every SQS server; short polling samples some and may miss messages of a small queue. */
const RECEIVE_WAIT_SECONDS = 1;
/** How long a listed message stays hidden if the CLI cannot make it visible again itself. */
const PEEK_HIDE_SECONDS = 30;
const REDRIVE_POLL_MS = 2_000;

export function registerDlqCommands(program: Command, context: CommandContext): void {
  const dlq = program
    .command('dlq')
    .description('the dead-letter queue: ingest messages that failed 5 times');

  dlq
    .command('list')
    .description('list the messages of the dead-letter queue without consuming them: each is hidden for a moment while listing, then made visible again')
    .option('--json', 'print a JSON array')
    .addHelpText('after', examples('ds-selection dlq list', 'ds-selection --stage prod dlq list --json'))
    .action(async (options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ sqs, outputs }) => {
        const messages = await peekAll(sqs, outputs.DeadLetterQueueUrl, (line) => context.io.stderr.write(`${line}\n`));
        if (options.json) {
          writeJson(context.io, messages);
          return;
        }
        if (messages.length > 0) writeLines(context.io.stdout, deadLetterTable(messages));
        context.io.stderr.write(`${plural(messages.length, 'message')} in the dead-letter queue\n`);
      });
    });

  dlq
    .command('redrive')
    .description('move every message of the dead-letter queue back to the ingest queue (an SQS message move task), to be ingested again')
    .option('--wait', 'wait until the move task has finished and report how many messages it moved')
    .option('--json', 'print { started, taskHandle, status, messagesToMove, messagesMoved }')
    .addHelpText('after', examples('ds-selection dlq redrive', 'ds-selection --stage prod dlq redrive --wait'))
    .action(async (options: { wait?: boolean; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ sqs, outputs }) => {
        const result = await redrive(sqs, outputs.DeadLetterQueueUrl, outputs.IngestQueueUrl, options.wait === true);
        if (options.json) writeJson(context.io, result);
        else context.io.stdout.write(`${describeRedrive(result)}\n`);
        if (result.status === 'FAILED' || result.status === 'CANCELLED') {
          throw new PartialFailureError(`the move task ${result.status.toLowerCase()}${result.failureReason ? `: ${result.failureReason}` : ''}`);
        }
      });
    });
}

/**
 * Lists every message without consuming it. A receive with visibility timeout 0 would be the
 * obvious peek, but then every call may return the same first ten messages (SQS and the local
 * queue both do), so a queue of more than ten could never be listed whole. Instead each batch
 * is hidden briefly, so the next receive gets others, until a receive brings nothing new; then
 * all of them are made visible again at once. If the CLI dies in between they reappear by
 * themselves after PEEK_HIDE_SECONDS: a DLQ has no consumer to miss them meanwhile.
 */
export async function peekAll(sqs: SQSClient, queueUrl: string, warn: (line: string) => void = () => {}): Promise<DeadLetterView[]> {
  if ((await approximateCount(sqs, queueUrl)) === 0) return [];
  const seen = new Map<string, DeadLetterView>();
  const receiptHandles = new Map<string, string>();
  try {
    for (let call = 0; call < MAX_RECEIVE_CALLS; call++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: PEEK_HIDE_SECONDS,
        WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp'],
      }));
      for (const message of Messages) {
        if (message.MessageId && message.ReceiptHandle) receiptHandles.set(message.MessageId, message.ReceiptHandle);
      }
      const fresh = Messages.filter((message) => message.MessageId && !seen.has(message.MessageId));
      if (fresh.length === 0) break;
      for (const message of fresh) seen.set(message.MessageId as string, deadLetterView(message));
    }
  } finally {
    const unreleased = await makeVisible(sqs, queueUrl, [...receiptHandles.values()]);
    if (unreleased > 0) warn(`${plural(unreleased, 'message')} could not be made visible again: SQS shows them again within ${PEEK_HIDE_SECONDS} s`);
  }
  return [...seen.values()].sort((a, b) => (a.sentAt ?? '').localeCompare(b.sentAt ?? ''));
}

/** Visibility timeout 0 for each receipt handle; returns how many SQS did not take. */
async function makeVisible(sqs: SQSClient, queueUrl: string, receiptHandles: string[]): Promise<number> {
  let failed = 0;
  for (let start = 0; start < receiptHandles.length; start += 10) {
    const batch = receiptHandles.slice(start, start + 10);
    try {
      const { Failed = [] } = await sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((receiptHandle, index) => ({ Id: String(index), ReceiptHandle: receiptHandle, VisibilityTimeout: 0 })),
      }));
      failed += Failed.length;
    } catch {
      failed += batch.length;
    }
  }
  return failed;
}

export function deadLetterView(message: Message): DeadLetterView {
  const parsed = IngestMessageSchema.safeParse(parseJson(message.Body));
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    demarcheNumber: parsed.success ? parsed.data.demarcheNumber : null,
    dossierNumber: parsed.success ? parsed.data.dossierNumber : null,
    source: parsed.success ? parsed.data.hint.source : null,
    receiveCount: numberOrNull(attributes.ApproximateReceiveCount),
    firstReceivedAt: instantOrNull(attributes.ApproximateFirstReceiveTimestamp),
    sentAt: instantOrNull(attributes.SentTimestamp),
  };
}

export function deadLetterTable(messages: DeadLetterView[]): string[] {
  return formatTable(
    [{ header: 'MESSAGE ID' }, { header: 'DOSSIER', align: 'right' }, { header: 'SOURCE' }, { header: 'RECEIVES', align: 'right' }, { header: 'FIRST RECEIVED' }],
    messages.map((message) => [
      message.messageId,
      message.dossierNumber === null ? '(unreadable body)' : String(message.dossierNumber),
      message.source ?? '-',
      message.receiveCount === null ? '-' : String(message.receiveCount),
      message.firstReceivedAt ?? '-',
    ]),
  );
}

/** Starts a move task from the DLQ to the ingest queue (not "back to the source": we name it). */
export async function redrive(sqs: SQSClient, deadLetterQueueUrl: string, ingestQueueUrl: string, wait: boolean): Promise<RedriveView> {
  if ((await approximateCount(sqs, deadLetterQueueUrl)) === 0) {
    return { started: false, taskHandle: null, status: null, messagesToMove: 0, messagesMoved: 0 };
  }
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, deadLetterQueueUrl), queueArn(sqs, ingestQueueUrl)]);
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }));
  let task = await currentTask(sqs, sourceArn, TaskHandle);
  while (wait && task?.Status === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, REDRIVE_POLL_MS));
    task = await currentTask(sqs, sourceArn, TaskHandle);
  }
  return {
    started: true,
    taskHandle: TaskHandle ?? null,
    status: task?.Status ?? null,
    messagesToMove: task?.ApproximateNumberOfMessagesToMove ?? null,
    messagesMoved: task?.ApproximateNumberOfMessagesMoved ?? null,
    ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
  };
}

export function describeRedrive(result: RedriveView): string {
  if (!result.started) return 'the dead-letter queue is empty: nothing to redrive';
  const moved = result.messagesMoved === null ? '' : `, ${result.messagesMoved}${result.messagesToMove === null ? '' : ` of ${result.messagesToMove}`} moved`;
  return `move task ${result.status?.toLowerCase() ?? 'started'}${moved} (task handle ${result.taskHandle ?? 'unknown'})`;
}

/** The most recent move task of the queue: ours, when its handle matches. */
async function currentTask(sqs: SQSClient, sourceArn: string, taskHandle: string | undefined): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
  return Results.find((task) => task.TaskHandle !== undefined && task.TaskHandle === taskHandle) ?? Results[0];
}

async function approximateCount(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  if (!Attributes.QueueArn) throw new Error(`SQS returned no QueueArn for ${queueUrl}`);
  return Attributes.QueueArn;
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function numberOrNull(value: string | undefined): number | null {
  return value === undefined || Number.isNaN(Number(value)) ? null : Number(value);
}

/** SQS timestamps are epoch milliseconds as strings. */
function instantOrNull(value: string | undefined): string | null {
  const ms = numberOrNull(value);
  return ms === null ? null : new Date(ms).toISOString();
}
