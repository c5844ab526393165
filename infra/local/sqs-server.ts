import { createHash, randomUUID, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * An in-process SQS for the local mode: an HTTP server that speaks the SQS JSON protocol
 * (what AWS SDK v3 sends), so the unmodified SQSClient reaches it through
 * AWS_ENDPOINT_URL_SQS and the handlers never know they run locally.
 *
 * Semantics kept from SQS because our code relies on them: batches of at most 10, MD5 of
 * bodies (the SDK checks them), receipt handles that change on every receive, visibility
 * timeouts, long polling, redrive to a dead-letter queue after maxReceiveCount receives, and
 * DLQ redrive (StartMessageMoveTask). Standard queues only, no FIFO.
 *
 * Durability: every change is written to `dataDir` before it is acknowledged (a snapshot of all
 * queues and a journal of the changes since, one line per write, so a move from a queue to its
 * DLQ is atomic on disk too: StateFiles), and survives a kill -9 of the process. A restart loses
 * nothing and keeps SQS's timing: a message in flight stays
 * hidden until its visibility timeout (or the delay ChangeMessageVisibility gave it) expires,
 * exactly as when a Lambda dies on AWS, so retry delays survive a restart of `npm start`.
 *
 * Deliberate differences from SQS, all stricter or simpler:
 * - a receipt handle from an earlier receive is refused (SQS may accept it silently and keep
 *   the message), so code that deletes with a stale handle fails visibly here;
 * - ApproximateNumberOf* counts are exact; PurgeQueue can be repeated at once;
 * - StartMessageMoveTask moves every message of the DLQ before it answers.
 */

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalSqsOptions {
  /** This server's own folder (it keeps `queues.json` there); created when missing. */
  dataDir: string;
  /** 0 or unset: a free port. */
  port?: number;
  region?: string;
  clock?: { now(): Date };
  /** When a new snapshot replaces the journal (see StateFiles); tests set it low to exercise snapshots. */
  snapshotAfter?: SnapshotPolicy;
}

export interface LocalQueueSettings {
  visibilityTimeoutSeconds: number;
  /** Messages received more than `maxReceiveCount` times go to this queue (which must exist). */
  redrive?: { deadLetterQueueName: string; maxReceiveCount: number };
  messageRetentionSeconds?: number;
  delaySeconds?: number;
  /** Default WaitTimeSeconds of ReceiveMessage calls that give none. */
  receiveWaitTimeSeconds?: number;
}

export interface LocalQueue {
  queueUrl: string;
  queueArn: string;
}

const LIMITS = {
  /** SQS raised its message size limit from 256 KiB to 1 MiB in 2025. */
  maxMessageBytes: 1_048_576,
  maxBatchEntries: 10,
  maxReceiveMessages: 10,
  maxWaitSeconds: 20,
  maxVisibilitySeconds: 12 * 60 * 60,
  maxDelaySeconds: 15 * 60,
  minRetentionSeconds: 60,
  maxRetentionSeconds: 14 * 24 * 60 * 60,
  maxReceiveCount: 1000,
  maxMessageAttributes: 10,
  /** A whole request: a 1 MiB batch, with room for JSON escaping. */
  maxRequestBytes: 8 * 1_048_576,
  /** Move tasks kept per DLQ for ListMessageMoveTasks. */
  keptMoveTasks: 10,
} as const;

const DEFAULTS = {
  visibilityTimeoutSeconds: 30,
  messageRetentionSeconds: 4 * 24 * 60 * 60,
  delaySeconds: 0,
  receiveWaitTimeSeconds: 0,
} as const;

// ---------------------------------------------------------------------------------------------
// Errors, as the SDK parses them: `__type` in the body and, because SQS is "awsQueryCompatible",
// the query-era code in the `x-amzn-query-error` header, from which the SDK picks the exception
// class (e.g. AWS.SimpleQueueService.NonExistentQueue -> QueueDoesNotExist).
// ---------------------------------------------------------------------------------------------

class SqsError extends Error {
  override name = 'SqsError';
  constructor(
    /** The SDK's exception name (also what the `__type` names). */
    readonly code: string,
    message: string,
    readonly status = 400,
    /** The query protocol's code, sent in `x-amzn-query-error`. */
    readonly queryCode = code,
    readonly fault: 'Sender' | 'Receiver' = 'Sender',
    readonly namespace = 'com.amazonaws.sqs',
  ) {
    super(message);
  }
}

const errors = {
  queueDoesNotExist: () =>
    new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 400, 'AWS.SimpleQueueService.NonExistentQueue'),
  queueNameExists: (name: string) =>
    new SqsError('QueueNameExists', `A queue already exists with the name ${name} and different attributes.`, 400, 'QueueAlreadyExists'),
  invalidParameter: (message: string) => new SqsError('InvalidParameterValue', message),
  missingParameter: (name: string) => new SqsError('MissingParameter', `The request must contain the parameter ${name}.`),
  invalidAttributeName: (name: string) => new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`),
  invalidAttributeValue: (name: string, reason: string) =>
    new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: ${reason}`),
  invalidMessageContents: (reason: string) => new SqsError('InvalidMessageContents', reason),
  receiptHandleIsInvalid: (reason: string) => new SqsError('ReceiptHandleIsInvalid', reason, 404),
  messageNotInflight: () =>
    new SqsError('MessageNotInflight', 'The message referred to is not in flight.', 400, 'AWS.SimpleQueueService.MessageNotInflight'),
  emptyBatch: () =>
    new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.', 400, 'AWS.SimpleQueueService.EmptyBatchRequest'),
  tooManyEntries: (count: number) =>
    new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${LIMITS.maxBatchEntries}. You have sent ${count}.`,
      400,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    ),
  batchIdsNotDistinct: (id: string) =>
    new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct'),
  invalidBatchEntryId: (id: string) =>
    new SqsError(
      'InvalidBatchEntryId',
      `A batch entry id can only contain alphanumeric characters, hyphens and underscores, at most 80: ${JSON.stringify(id)}.`,
      400,
      'AWS.SimpleQueueService.InvalidBatchEntryId',
    ),
  batchTooLong: () =>
    new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${LIMITS.maxMessageBytes} bytes.`, 400, 'AWS.SimpleQueueService.BatchRequestTooLong'),
  resourceNotFound: (arn: string) => new SqsError('ResourceNotFoundException', `The resource ${arn} does not exist.`, 404),
  unsupported: (message: string) =>
    new SqsError('UnsupportedOperation', message, 400, 'AWS.SimpleQueueService.UnsupportedOperation'),
  unknownOperation: (action: string) =>
    new SqsError('UnknownOperationException', `Unknown operation ${action}.`, 400, 'InvalidAction', 'Sender', 'com.amazon.coral.service'),
  serializationFailed: () => new SqsError('SerializationException', 'The request body is not a JSON object.', 400, 'MalformedInput'),
  requestTooLarge: () => new SqsError('RequestEntityTooLarge', 'The request is too large.', 413),
  shuttingDown: () => new SqsError('ServiceUnavailable', 'The local SQS is shutting down.', 503, 'ServiceUnavailable', 'Receiver'),
  internal: () => new SqsError('InternalError', 'The local SQS failed; see its log.', 500, 'InternalError', 'Receiver'),
};

// ---------------------------------------------------------------------------------------------
// The model: queues and their messages. Plain JSON-able data, so a snapshot is JSON.stringify.
// ---------------------------------------------------------------------------------------------

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

interface QueueConfig {
  name: string;
  createdAt: number;
  lastModifiedAt: number;
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds: number;
  delaySeconds: number;
  receiveWaitTimeSeconds: number;
  redrivePolicy?: RedrivePolicy;
}

/** What the JSON protocol carries for a message attribute (BinaryValue is base64). */
interface WireAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, WireAttributeValue>;
  md5OfMessageAttributes?: string;
  sentAt: number;
  firstReceivedAt?: number;
  receiveCount: number;
  /** Hidden until then: by a send delay, or while in flight. */
  visibleAt: number;
  /** Set while in flight; a new one on every receive, so earlier receipt handles stop working. */
  receiptToken?: string;
  /** The queue it was dead-lettered from: where a DLQ redrive sends it back. */
  deadLetterSourceArn?: string;
}

interface MoveTask {
  TaskHandle: string;
  Status: 'COMPLETED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  MaxNumberOfMessagesPerSecond?: number;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  FailureReason?: string;
  StartedTimestamp: number;
}

interface QueueSnapshot {
  config: QueueConfig;
  messages: StoredMessage[];
  moveTasks: MoveTask[];
}

interface StateSnapshot {
  version: 1;
  /** The journal holding the changes made after this snapshot (none in files written before journals existed). */
  journal?: string;
  queues: QueueSnapshot[];
}

/** One change in the journal: a queue's settings, a message as it now is, or a message gone from a queue. */
type JournalRecord =
  | { queue: string; config: QueueConfig; moveTasks: MoveTask[] }
  | { queue: string; message: StoredMessage }
  | { queue: string; removed: string };

/**
 * Each message's JSON text, computed at its first write. A message changed in place (received,
 * its visibility changed) goes through `Queue.changed()`, which drops its text; a moved message
 * is a new object, so it gets a new text.
 */
const serializedMessages = new WeakMap<StoredMessage, string>();

function messageJson(message: StoredMessage): string {
  let json = serializedMessages.get(message);
  if (json === undefined) {
    json = JSON.stringify(message);
    serializedMessages.set(message, json);
  }
  return json;
}

class Queue {
  /** In send order, which receives follow (SQS makes no promise; tests read better). */
  private readonly messages = new Map<string, StoredMessage>();
  private currentConfig: QueueConfig;
  private currentMoveTasks: MoveTask[] = [];
  private readonly waiters = new Set<() => void>();
  /**
   * What changed since the last write, for the journal: the settings, and each message id in the
   * order of its last change, true when it left the queue meanwhile (removed, or moved away and
   * maybe back). Replaying the records in that order rebuilds the same queue in the same order.
   */
  private settingsChanged: boolean;
  private readonly changedMessages = new Map<string, boolean>();

  constructor(
    config: QueueConfig,
    readonly arn: string,
    /** Called at each change (the server's save() then writes it). */
    private readonly onChange: (queue: Queue) => void,
    { restored = false } = {},
  ) {
    this.currentConfig = config;
    this.settingsChanged = !restored;
    if (!restored) onChange(this);
  }

  get name(): string {
    return this.currentConfig.name;
  }

  get config(): QueueConfig {
    return this.currentConfig;
  }

  set config(config: QueueConfig) {
    this.currentConfig = config;
    this.settingsChanged = true;
    this.onChange(this);
  }

  get moveTasks(): MoveTask[] {
    return this.currentMoveTasks;
  }

  set moveTasks(tasks: MoveTask[]) {
    this.currentMoveTasks = tasks;
    this.settingsChanged = true;
    this.onChange(this);
  }

  get size(): number {
    return this.messages.size;
  }

  get(messageId: string): StoredMessage | undefined {
    return this.messages.get(messageId);
  }

  values(): IterableIterator<StoredMessage> {
    return this.messages.values();
  }

  add(message: StoredMessage): void {
    this.messages.set(message.messageId, message);
    // Last in the change order, as it is last in the queue; still marked if it left earlier.
    const left = this.changedMessages.get(message.messageId) ?? false;
    this.changedMessages.delete(message.messageId);
    this.markChanged(message.messageId, left);
    this.notify();
  }

  remove(messageId: string): boolean {
    if (!this.messages.delete(messageId)) return false;
    this.changedMessages.delete(messageId);
    this.markChanged(messageId, true);
    return true;
  }

  /** A message of this queue changed in place (received, its visibility changed). */
  changed(message: StoredMessage): void {
    serializedMessages.delete(message);
    this.markChanged(message.messageId, this.changedMessages.get(message.messageId) ?? false);
  }

  clear(): void {
    for (const messageId of [...this.messages.keys()]) this.remove(messageId);
  }

  private markChanged(messageId: string, left: boolean): void {
    this.changedMessages.set(messageId, left);
    this.onChange(this);
  }

  /** Drops the messages older than the retention period; true when some were. */
  expire(now: number): boolean {
    const oldest = now - this.config.messageRetentionSeconds * 1000;
    let expired = false;
    for (const message of this.messages.values()) {
      if (message.sentAt <= oldest) expired = this.remove(message.messageId);
    }
    return expired;
  }

  counts(now: number): { visible: number; inFlight: number; delayed: number } {
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) counts.visible++;
      else if (message.receiptToken !== undefined) counts.inFlight++;
      else counts.delayed++;
    }
    return counts;
  }

  /** Milliseconds until the next hidden message shows again (Infinity when none will). */
  msUntilNextVisible(now: number): number {
    let next = Infinity;
    for (const message of this.messages.values()) {
      if (message.visibleAt > now) next = Math.min(next, message.visibleAt - now);
    }
    return next;
  }

  /** Resolves when a message may have become receivable, after `ms`, or on `signal`. */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes the long polls waiting on this queue. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * The journal records of what changed since the last call (see `changedMessages`), as JSON
   * texts, and forgets the changes.
   */
  takeRecords(records: string[]): void {
    const queue = JSON.stringify(this.name);
    if (this.settingsChanged) {
      records.push(`{"queue":${queue},"config":${JSON.stringify(this.config)},"moveTasks":${JSON.stringify(this.moveTasks)}}`);
    }
    for (const [messageId, left] of this.changedMessages) {
      if (left) records.push(`{"queue":${queue},"removed":${JSON.stringify(messageId)}}`);
      const message = this.messages.get(messageId);
      if (message) records.push(`{"queue":${queue},"message":${messageJson(message)}}`);
    }
    this.settingsChanged = false;
    this.changedMessages.clear();
  }

  /**
   * The queue's QueueSnapshot as JSON text, as JSON.stringify would write it, but each
   * message serialized once and kept until it changes: a snapshot costs a join of cached strings,
   * not a serialization of the whole queue.
   */
  snapshotJson(): string {
    const messages: string[] = [];
    for (const message of this.messages.values()) messages.push(messageJson(message));
    return `{"config":${JSON.stringify(this.config)},"messages":[${messages.join(',')}],"moveTasks":${JSON.stringify(this.moveTasks)}}`;
  }

  /**
   * A queue read back from disk, as SQS would be after the same time: a message in flight stays
   * hidden until its `visibleAt` (the visibility timeout, or what ChangeMessageVisibility set),
   * and its receipt handle still deletes it until then. SQS does not know its consumer is gone.
   */
  static restore(snapshot: QueueSnapshot, arn: string, onChange: (queue: Queue) => void): Queue {
    const queue = new Queue(snapshot.config, arn, onChange, { restored: true });
    for (const message of snapshot.messages) queue.messages.set(message.messageId, message);
    queue.currentMoveTasks = snapshot.moveTasks ?? [];
    return queue;
  }

  /** Applies a journal record of this queue read back from disk (nothing is marked changed). */
  replay(record: JournalRecord): void {
    if ('config' in record) {
      this.currentConfig = record.config;
      this.currentMoveTasks = record.moveTasks;
    } else if ('message' in record) {
      this.messages.set(record.message.messageId, record.message);
    } else {
      this.messages.delete(record.removed);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence.
// ---------------------------------------------------------------------------------------------

const SNAPSHOT_FILE = 'queues.json';
const JOURNAL_FILE = /^queues\.(\d+)\.jsonl$/;
const journalFile = (generation: number) => `queues.${generation}.jsonl`;
/**
 * A new snapshot once the journal outgrows the snapshot this many times (and this many bytes):
 * a snapshot costs O(state), so each journal line stays O(change) amortized.
 */
const SNAPSHOT_AFTER: SnapshotPolicy = { ratio: 2, minBytes: 4 * 1_048_576 };

/** A new snapshot once the journal holds more than `minBytes` and more than `ratio` times the snapshot. */
export interface SnapshotPolicy {
  ratio: number;
  minBytes: number;
}

interface StateSource {
  /** The whole state as StateSnapshot JSON naming `journal`. */
  snapshotJson(journal: string): string;
  /** The JSON records of every change since the last call. */
  takeRecords(): string[];
}

interface OpenJournal {
  generation: number;
  fd: number;
  bytes: number;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A save nobody awaits any more (its request is gone) must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The state on disk: a snapshot of every queue (`queues.json`) and a journal of the changes made
 * since (`queues.<n>.jsonl`, named by the snapshot), replayed over it at start.
 *
 * Each write appends one line holding every change made since the previous one (group commit),
 * and a change is acknowledged only once its line is written. A line is the unit of atomicity: a
 * move from a queue to its DLQ is on disk whole or not at all, and a line cut by a crash (it ends
 * without its newline) was never acknowledged, so it is dropped at start.
 *
 * Once the journal outgrows the snapshot, a new snapshot naming a new, empty journal is written
 * to `queues.json.next`, the old file removed and `.next` renamed into its place (not a rename
 * over the old file: on ext4, auto_da_alloc makes that rename wait for the disk). While it is
 * written, lines go to both journals; so a crash at any point leaves a snapshot and the journal
 * it names, together holding every acknowledged change (`.next` alone is a snapshot whose rename
 * did not happen: it is taken at start).
 *
 * Why a journal: the whole state written at every change cost O(queue) per acknowledged message,
 * so a paused consumer under a webhook burst made each webhook slower than the one before.
 *
 * Lines are written synchronously, from a setImmediate: every change made in one turn of the
 * event loop goes into one write() of a few kilobytes to the page cache, tens of microseconds,
 * where an asynchronous write costs a round trip through libuv's thread pool (two thread switches,
 * more than the write itself on two busy cores). No fsync: this guards against the process dying
 * (kill -9 included: what write() has taken is in the kernel), which is what a local runtime meets.
 */
class StateFiles {
  private generation = 0;
  /** Two while a snapshot is being written (its own journal and the one it replaces), else one. */
  private journals: OpenJournal[] = [];
  private snapshotBytes = 0;
  private pending: Deferred | undefined;
  private snapshotting: Promise<void> | undefined;
  /** A write failed, so the journal may lack a change: the next save writes a whole snapshot. */
  private failed = false;

  constructor(
    private readonly dir: string,
    private readonly source: StateSource,
    private readonly snapshotAfter: SnapshotPolicy = SNAPSHOT_AFTER,
  ) {}

  /** The saved state: the snapshot and the records of its journal, to replay in order. */
  async load(): Promise<{ snapshot: StateSnapshot | undefined; records: JournalRecord[] }> {
    await this.recover();
    const path = join(this.dir, SNAPSHOT_FILE);
    let snapshot: StateSnapshot | undefined;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // else a first start
    }
    if (text !== undefined) {
      try {
        snapshot = JSON.parse(text) as StateSnapshot;
      } catch (error) {
        throw new Error(`Local SQS: ${path} is not JSON (${(error as Error).message}); move the folder away to start empty`, { cause: error });
      }
      if (snapshot.version !== 1) throw new Error(`Local SQS: ${path} has unknown version ${String(snapshot.version)}`);
      if (snapshot.journal !== undefined && !JOURNAL_FILE.test(snapshot.journal)) {
        throw new Error(`Local SQS: ${path} names an unexpected journal ${JSON.stringify(snapshot.journal)}; move the folder away to start empty`);
      }
    }
    this.generation = Number(JOURNAL_FILE.exec(snapshot?.journal ?? '')?.[1] ?? 0);
    const records = snapshot?.journal ? await readJournal(join(this.dir, snapshot.journal)) : [];
    // A journal the snapshot does not name was started by a snapshot that never took its place.
    for (const name of await readdir(this.dir)) {
      if (JOURNAL_FILE.test(name) && name !== snapshot?.journal) await rm(join(this.dir, name), { force: true });
    }
    return { snapshot, records };
  }

  /** After load() and the replay: the state as a new snapshot with an empty journal, open for writes. */
  async open(): Promise<void> {
    await this.writeSnapshot();
  }

  /** Resolves once every change made before this call is written (rejects if the write failed). */
  save(): Promise<void> {
    if (!this.pending) {
      this.pending = deferred();
      setImmediate(() => this.write());
    }
    return this.pending.promise;
  }

  /** Waits for the writes asked for, then closes the journal. */
  async close(): Promise<void> {
    while (this.pending || this.snapshotting) {
      await this.pending?.promise.catch(() => undefined);
      await this.snapshotting;
    }
    for (const journal of this.journals) closeSync(journal.fd);
    this.journals = [];
  }

  private write(): void {
    const waiting = this.pending!;
    this.pending = undefined;
    if (this.journals.length === 0) return waiting.reject(new Error('Local SQS: the state files are not open'));
    const records = this.source.takeRecords();
    if (this.failed) {
      // The records are in the state the snapshot will hold.
      this.afterSnapshotting(() => this.writeSnapshot()).then(() => {
        this.failed = false;
        waiting.resolve();
      }, waiting.reject);
      return;
    }
    if (records.length > 0) {
      try {
        this.append(`[${records.join(',')}]\n`);
      } catch (error) {
        console.error('[local-sqs] could not write its journal; a whole snapshot comes next:', error);
        this.failed = true;
        waiting.reject(error);
        return;
      }
    }
    waiting.resolve();
    const journal = this.journals.at(-1)!;
    if (!this.snapshotting && journal.bytes > Math.max(this.snapshotAfter.minBytes, this.snapshotAfter.ratio * this.snapshotBytes)) {
      void this.afterSnapshotting(() => this.writeSnapshot()).catch((error: unknown) => {
        // The journal is still whole: only the compaction is lost.
        console.error('[local-sqs] could not write a snapshot; the journal keeps growing:', error);
      });
    }
  }

  private append(line: string): void {
    const bytes = Buffer.from(line, 'utf8');
    for (const journal of this.journals) {
      let written = 0;
      while (written < bytes.length) written += writeSync(journal.fd, bytes, written, bytes.length - written);
      journal.bytes += bytes.length;
    }
  }

  /** Runs `write` once the snapshot being written (if any) is done; the next ones wait for it. */
  private afterSnapshotting(write: () => Promise<void>): Promise<void> {
    const run = (this.snapshotting ?? Promise.resolve()).then(write);
    const settled: Promise<void> = run.then(() => undefined, () => undefined).then(() => {
      if (this.snapshotting === settled) this.snapshotting = undefined;
    });
    this.snapshotting = settled;
    return run;
  }

  /**
   * A new snapshot of the whole state and its empty journal (see the class comment). The
   * journal is opened before the state is taken, in the same turn, so no change falls between.
   */
  private async writeSnapshot(): Promise<void> {
    const generation = this.generation + 1;
    const name = journalFile(generation);
    const journal: OpenJournal = { generation, fd: openSync(join(this.dir, name), 'w', 0o600), bytes: 0 };
    this.journals.push(journal);
    const text = this.source.snapshotJson(name);
    const path = join(this.dir, SNAPSHOT_FILE);
    try {
      await writeFile(`${path}.next`, text, { mode: 0o600 });
      await rm(path, { force: true });
      await rename(`${path}.next`, path);
    } catch (error) {
      this.journals = this.journals.filter((open) => open !== journal);
      closeSync(journal.fd);
      await rm(join(this.dir, name), { force: true }).catch(() => undefined);
      throw error;
    }
    // The new snapshot and its journal hold everything: the older journals are read no more.
    // Out of the list before closed, in one synchronous step: a write to a closed descriptor
    // could land in whatever file reuses its number.
    const older = this.journals.filter((open) => open !== journal);
    this.journals = [journal];
    this.generation = generation;
    this.snapshotBytes = text.length;
    for (const old of older) closeSync(old.fd);
    for (const old of older) await rm(join(this.dir, journalFile(old.generation)), { force: true });
  }

  /**
   * Before reading the snapshot: `.next` without the snapshot is a finished write whose rename
   * did not happen (take it); `.next` next to the snapshot is a write cut short (drop it: the
   * snapshot and its journal are whole).
   */
  private async recover(): Promise<void> {
    const path = join(this.dir, SNAPSHOT_FILE);
    const next = `${path}.next`;
    if (!(await exists(next))) return;
    if (await exists(path)) await rm(next, { force: true });
    else await rename(next, path);
  }
}

/** The records of a journal, in order; a last line without its newline was cut by a crash before it was acknowledged. */
async function readJournal(path: string): Promise<JournalRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  lines.pop(); // what follows the last newline: nothing, or a cut line
  const records: JournalRecord[] = [];
  for (const [index, line] of lines.entries()) {
    try {
      records.push(...(JSON.parse(line) as JournalRecord[]));
    } catch (error) {
      throw new Error(`Local SQS: line ${index + 1} of ${path} is not JSON (${(error as Error).message}); move the folder away to start empty`, { cause: error });
    }
  }
  return records;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Request reading: the JSON protocol sends the operation's input as a JSON object.
// ---------------------------------------------------------------------------------------------

type Input = Record<string, unknown>;

function requiredString(input: Input, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === '') throw errors.missingParameter(name);
  if (typeof value !== 'string') throw errors.invalidParameter(`Value for parameter ${name} must be a string.`);
  return value;
}

function optionalString(input: Input, name: string): string | undefined {
  return input[name] === undefined || input[name] === null ? undefined : requiredString(input, name);
}

function optionalInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw errors.invalidParameter(`Value ${String(value)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`);
  }
  return value;
}

function optionalStringList(input: Input, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw errors.invalidParameter(`Value for parameter ${name} must be a list of strings.`);
  }
  return value;
}

function optionalStringMap(input: Input, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (!isObject(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw errors.invalidParameter(`Value for parameter ${name} must be a map of strings.`);
  }
  return value as Record<string, string>;
}

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Queue attributes (CreateQueue, SetQueueAttributes, GetQueueAttributes): strings on the wire.
// ---------------------------------------------------------------------------------------------

type ConfigChange = Partial<Omit<QueueConfig, 'name' | 'createdAt' | 'lastModifiedAt'>>;

/** Accepted so CDK-like attribute maps work, but with no effect locally (encryption, policies). */
const IGNORED_ATTRIBUTES = new Set([
  'SqsManagedSseEnabled',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'Policy',
  'RedriveAllowPolicy',
  'MaximumMessageSize',
]);

function integerAttribute(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw errors.invalidAttributeValue(name, `must be an integer from ${min} to ${max}.`);
  }
  return number;
}

function parseRedrivePolicy(value: string): RedrivePolicy | undefined {
  if (value === '') return undefined; // SQS: an empty policy removes it
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw errors.invalidAttributeValue('RedrivePolicy', 'Redrive policy is not a valid JSON map.');
  }
  if (!isObject(parsed) || typeof parsed.deadLetterTargetArn !== 'string') {
    throw errors.invalidAttributeValue('RedrivePolicy', 'Redrive policy must name deadLetterTargetArn.');
  }
  const maxReceiveCount = integerAttribute('RedrivePolicy', String(parsed.maxReceiveCount), 1, LIMITS.maxReceiveCount);
  return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount };
}

function parseQueueAttributes(attributes: Record<string, string>): ConfigChange {
  const change: ConfigChange = {};
  for (const [name, value] of Object.entries(attributes)) {
    switch (name) {
      case 'VisibilityTimeout':
        change.visibilityTimeoutSeconds = integerAttribute(name, value, 0, LIMITS.maxVisibilitySeconds);
        break;
      case 'MessageRetentionPeriod':
        change.messageRetentionSeconds = integerAttribute(name, value, LIMITS.minRetentionSeconds, LIMITS.maxRetentionSeconds);
        break;
      case 'DelaySeconds':
        change.delaySeconds = integerAttribute(name, value, 0, LIMITS.maxDelaySeconds);
        break;
      case 'ReceiveMessageWaitTimeSeconds':
        change.receiveWaitTimeSeconds = integerAttribute(name, value, 0, LIMITS.maxWaitSeconds);
        break;
      case 'RedrivePolicy':
        change.redrivePolicy = parseRedrivePolicy(value);
        break;
      case 'FifoQueue':
      case 'ContentBasedDeduplication':
        throw errors.unsupported('The local SQS has standard queues only.');
      default:
        if (!IGNORED_ATTRIBUTES.has(name)) throw errors.invalidAttributeName(name);
    }
  }
  return change;
}

/** CreateQueue on an existing queue succeeds only if every attribute given matches. */
function configMatches(config: QueueConfig, change: ConfigChange): boolean {
  return Object.entries(change).every(
    ([key, value]) => JSON.stringify(config[key as keyof QueueConfig]) === JSON.stringify(value),
  );
}

// ---------------------------------------------------------------------------------------------
// Messages on the wire.
// ---------------------------------------------------------------------------------------------

const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/**
 * SQS's MD5 of message attributes: names in order, each as length-prefixed name, length-prefixed
 * data type, a transport byte (1 string, 2 binary) and the length-prefixed value.
 */
function md5OfMessageAttributes(attributes: Record<string, WireAttributeValue>): string {
  const hash = createHash('md5');
  const lengthPrefixed = (target: Hash, bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    target.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    lengthPrefixed(hash, Buffer.from(name, 'utf8'));
    lengthPrefixed(hash, Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.of(2));
      lengthPrefixed(hash, Buffer.from(value.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.of(1));
      lengthPrefixed(hash, Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** The characters SQS accepts in a body: XML's. */
const INVALID_BODY_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function parseMessageAttributes(input: Input): Record<string, WireAttributeValue> {
  const raw = input.MessageAttributes;
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw errors.invalidParameter('MessageAttributes must be a map.');
  const entries = Object.entries(raw);
  if (entries.length > LIMITS.maxMessageAttributes) {
    throw errors.invalidParameter(`Number of message attributes [${entries.length}] exceeds the allowed maximum [${LIMITS.maxMessageAttributes}].`);
  }
  return Object.fromEntries(entries.map(([name, value]) => [name, parseAttributeValue(name, value)]));
}

function parseAttributeValue(name: string, value: unknown): WireAttributeValue {
  if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('AWS.') || name.startsWith('Amazon.')) {
    throw errors.invalidParameter(`Message attribute name '${name}' is invalid.`);
  }
  if (!isObject(value) || typeof value.DataType !== 'string') {
    throw errors.invalidParameter(`The message attribute '${name}' must contain a DataType.`);
  }
  const dataType = value.DataType;
  if (/^Binary(\..+)?$/.test(dataType)) {
    if (typeof value.BinaryValue !== 'string') throw errors.invalidParameter(`The message attribute '${name}' with type 'Binary' must use field 'Binary'.`);
    return { DataType: dataType, BinaryValue: value.BinaryValue };
  }
  if (/^(String|Number)(\..+)?$/.test(dataType)) {
    if (typeof value.StringValue !== 'string' || value.StringValue === '') {
      throw errors.invalidParameter(`The message attribute '${name}' must contain a non-empty message attribute value.`);
    }
    if (dataType.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
      throw errors.invalidParameter(`Can't cast the value of message attribute '${name}' to a number.`);
    }
    return { DataType: dataType, StringValue: value.StringValue };
  }
  throw errors.invalidParameter(`The type of message attribute '${name}' is invalid: ${dataType}.`);
}

function messageSize(body: string, attributes: Record<string, WireAttributeValue>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, 'base64').length : Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/** Whether a requested attribute name list asks for `name` ("All", ".*", "prefix.*" or exact). */
function requested(names: string[], name: string): boolean {
  return names.some(
    (wanted) => wanted === 'All' || wanted === '.*' || wanted === name || (wanted.endsWith('.*') && name.startsWith(wanted.slice(0, -1))),
  );
}

const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'SenderId',
  'DeadLetterQueueSourceArn',
] as const;

function systemAttributes(message: StoredMessage, names: string[]): Record<string, string> | undefined {
  const all: Record<(typeof SYSTEM_ATTRIBUTES)[number], string | undefined> = {
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: message.firstReceivedAt === undefined ? undefined : String(message.firstReceivedAt),
    SentTimestamp: String(message.sentAt),
    SenderId: LOCAL_ACCOUNT_ID,
    DeadLetterQueueSourceArn: message.deadLetterSourceArn,
  };
  const picked = SYSTEM_ATTRIBUTES.filter((name) => all[name] !== undefined && (names.includes('All') || names.includes(name)));
  return picked.length > 0 ? Object.fromEntries(picked.map((name) => [name, all[name]!])) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Receipt handles: which queue, which message, which receive. Opaque to clients.
// ---------------------------------------------------------------------------------------------

function encodeReceiptHandle(queueName: string, message: StoredMessage): string {
  return Buffer.from(JSON.stringify([queueName, message.messageId, message.receiptToken])).toString('base64url');
}

function decodeReceiptHandle(handle: string): { queueName: string; messageId: string; token: string } | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 3 && decoded.every((part) => typeof part === 'string')) {
      const [queueName, messageId, token] = decoded as [string, string, string];
      return { queueName, messageId, token };
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Batches.
// ---------------------------------------------------------------------------------------------

interface BatchResult<T> {
  Successful: T[];
  Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[];
}

function batchEntries(input: Input): (Input & { Id: string })[] {
  const entries = input.Entries;
  if (entries === undefined || entries === null) throw errors.missingParameter('Entries');
  if (!Array.isArray(entries) || !entries.every(isObject)) throw errors.invalidParameter('Entries must be a list of objects.');
  if (entries.length === 0) throw errors.emptyBatch();
  if (entries.length > LIMITS.maxBatchEntries) throw errors.tooManyEntries(entries.length);
  const ids = new Set<string>();
  for (const entry of entries) {
    const id = entry.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw errors.invalidBatchEntryId(String(id));
    if (ids.has(id)) throw errors.batchIdsNotDistinct(id);
    ids.add(id);
  }
  return entries as (Input & { Id: string })[];
}

/** Runs `apply` on each entry; an SqsError fails that entry only, as SQS reports it. */
function eachEntry<T>(entries: (Input & { Id: string })[], apply: (entry: Input & { Id: string }) => T): BatchResult<T> {
  const result: BatchResult<T> = { Successful: [], Failed: [] };
  for (const entry of entries) {
    try {
      result.Successful.push(apply(entry));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      result.Failed.push({ Id: entry.Id, SenderFault: error.fault === 'Sender', Code: error.queryCode, Message: error.message });
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------------------------

/** What an action may ask of the HTTP request it serves. */
interface RequestScope {
  /** Aborted when the client hangs up or the server stops: a long poll gives up. */
  signal: AbortSignal;
}

type Action = (input: Input, scope: RequestScope) => object | Promise<object>;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export class LocalSqs {
  private readonly dataDir: string;
  private readonly port: number;
  readonly region: string;
  private readonly clock: { now(): Date };
  private readonly queues = new Map<string, Queue>();
  private readonly state: StateFiles;
  /** The queues changed since the last write: their records go into the next journal line. */
  private readonly changedQueues = new Set<Queue>();
  private readonly changed = (queue: Queue) => void this.changedQueues.add(queue);
  private server: Server | undefined;
  private endpoint: string | undefined;
  private readonly activeRequests = new Set<Promise<void>>();
  private stopping = new AbortController();

  constructor(options: LocalSqsOptions) {
    this.dataDir = options.dataDir;
    this.port = options.port ?? 0;
    this.region = options.region ?? 'eu-west-3';
    this.clock = options.clock ?? { now: () => new Date() };
    this.state = new StateFiles(this.dataDir, {
      snapshotJson: (journal) => this.snapshotJson(journal),
      takeRecords: () => this.takeRecords(),
    }, options.snapshotAfter);
  }

  /** Loads the queues saved in `dataDir`, then listens on 127.0.0.1. */
  async start(): Promise<{ endpoint: string }> {
    if (this.server) throw new Error('LocalSqs is already started');
    this.stopping = new AbortController();
    await mkdir(this.dataDir, { recursive: true });
    await this.loadQueues();
    const server = createServer((request, response) => this.track(this.serve(request, response)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { endpoint: this.endpoint };
  }

  /** Ends long polls (they answer with no message), closes the server and waits for pending writes. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping.abort();
    await Promise.allSettled([...this.activeRequests]);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.state.close();
    this.server = undefined;
    this.endpoint = undefined;
  }

  /**
   * Creates the queue, or gives an existing one these settings (its messages stay): the local
   * runtime calls this at every start, so changed settings apply. The DLQ must exist first.
   */
  async createQueue(name: string, settings: LocalQueueSettings): Promise<LocalQueue> {
    // Before start() the saved queues are not loaded yet: saving now would write over them.
    if (!this.server) throw new Error('LocalSqs is not started: call start() before createQueue()');
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(settings.messageRetentionSeconds ?? DEFAULTS.messageRetentionSeconds),
      DelaySeconds: String(settings.delaySeconds ?? DEFAULTS.delaySeconds),
      ReceiveMessageWaitTimeSeconds: String(settings.receiveWaitTimeSeconds ?? DEFAULTS.receiveWaitTimeSeconds),
      RedrivePolicy: settings.redrive
        ? JSON.stringify({ deadLetterTargetArn: this.queueArn(settings.redrive.deadLetterQueueName), maxReceiveCount: settings.redrive.maxReceiveCount })
        : '',
    };
    await this.defineQueue(name, attributes, 'replace');
    return { queueUrl: this.queueUrl(name), queueArn: this.queueArn(name) };
  }

  queueUrl(name: string): string {
    if (!this.endpoint) throw new Error('LocalSqs is not started: queue URLs name its port');
    return `${this.endpoint}/${LOCAL_ACCOUNT_ID}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.region}:${LOCAL_ACCOUNT_ID}:${name}`;
  }

  // --- the actions, by X-Amz-Target name ----------------------------------------------------

  private readonly actions: Record<string, Action> = {
    CreateQueue: (input) => this.createQueueAction(input),
    GetQueueUrl: (input) => ({ QueueUrl: this.queueUrl(this.queueNamed(requiredString(input, 'QueueName')).name) }),
    ListQueues: (input) => this.listQueues(input),
    GetQueueAttributes: (input) => this.getQueueAttributes(input),
    SetQueueAttributes: (input) => this.setQueueAttributes(input),
    SendMessage: (input) => this.sendMessage(input),
    SendMessageBatch: (input) => this.sendMessageBatch(input),
    ReceiveMessage: (input, scope) => this.receiveMessage(input, scope),
    DeleteMessage: (input) => this.deleteMessage(input),
    DeleteMessageBatch: (input) => this.deleteMessageBatch(input),
    ChangeMessageVisibility: (input) => this.changeMessageVisibility(input),
    ChangeMessageVisibilityBatch: (input) => this.changeMessageVisibilityBatch(input),
    PurgeQueue: (input) => this.purgeQueue(input),
    ListDeadLetterSourceQueues: (input) => this.listDeadLetterSourceQueues(input),
    StartMessageMoveTask: (input) => this.startMessageMoveTask(input),
    ListMessageMoveTasks: (input) => this.listMessageMoveTasks(input),
  };

  private async createQueueAction(input: Input): Promise<object> {
    const name = requiredString(input, 'QueueName');
    await this.defineQueue(name, optionalStringMap(input, 'Attributes'), 'match');
    return { QueueUrl: this.queueUrl(name) };
  }

  /** `match`: SQS's CreateQueue (an existing queue must have the attributes given); `replace`: settings win. */
  private async defineQueue(name: string, attributes: Record<string, string>, existing: 'match' | 'replace'): Promise<Queue> {
    if (!QUEUE_NAME.test(name)) {
      throw errors.invalidParameter(`Queue name ${JSON.stringify(name)} is invalid: up to 80 alphanumeric characters, hyphens or underscores (no FIFO queues here).`);
    }
    const change = parseQueueAttributes(attributes);
    this.checkDeadLetterTarget(name, change.redrivePolicy);
    const now = this.now();
    let queue = this.queues.get(name);
    if (queue && existing === 'match') {
      if (!configMatches(queue.config, change)) throw errors.queueNameExists(name);
      return queue;
    }
    const config: QueueConfig = {
      name,
      createdAt: queue?.config.createdAt ?? now,
      lastModifiedAt: now,
      visibilityTimeoutSeconds: DEFAULTS.visibilityTimeoutSeconds,
      messageRetentionSeconds: DEFAULTS.messageRetentionSeconds,
      delaySeconds: DEFAULTS.delaySeconds,
      receiveWaitTimeSeconds: DEFAULTS.receiveWaitTimeSeconds,
      ...withoutUndefined(change),
    };
    if (queue) queue.config = config;
    else {
      queue = new Queue(config, this.queueArn(name), this.changed);
      this.queues.set(name, queue);
    }
    await this.state.save();
    return queue;
  }

  private checkDeadLetterTarget(name: string, policy: RedrivePolicy | undefined): void {
    if (!policy) return;
    const target = this.queueNameFromArn(policy.deadLetterTargetArn);
    if (target === name || !this.queues.has(target)) {
      throw errors.invalidAttributeValue('RedrivePolicy', `Dead-letter target ${policy.deadLetterTargetArn} does not exist.`);
    }
  }

  private listQueues(input: Input): object {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const maxResults = optionalInteger(input, 'MaxResults', 1, 1000);
    const after = optionalString(input, 'NextToken');
    const names = [...this.queues.keys()].filter((name) => name.startsWith(prefix)).sort();
    const from = after === undefined ? 0 : names.findIndex((name) => name > Buffer.from(after, 'base64url').toString('utf8'));
    const page = from < 0 ? [] : names.slice(from, maxResults === undefined ? undefined : from + maxResults);
    const more = maxResults !== undefined && from >= 0 && from + maxResults < names.length;
    return {
      ...(page.length > 0 ? { QueueUrls: page.map((name) => this.queueUrl(name)) } : {}),
      ...(more ? { NextToken: Buffer.from(page.at(-1)!, 'utf8').toString('base64url') } : {}),
    };
  }

  private async getQueueAttributes(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const names = optionalStringList(input, 'AttributeNames');
    const now = this.now();
    if (queue.expire(now)) await this.state.save();
    const counts = queue.counts(now);
    const config = queue.config;
    const all: Record<string, string | undefined> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      VisibilityTimeout: String(config.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(config.messageRetentionSeconds),
      DelaySeconds: String(config.delaySeconds),
      ReceiveMessageWaitTimeSeconds: String(config.receiveWaitTimeSeconds),
      MaximumMessageSize: String(LIMITS.maxMessageBytes),
      CreatedTimestamp: String(Math.floor(config.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(config.lastModifiedAt / 1000)),
      SqsManagedSseEnabled: 'false',
      RedrivePolicy: config.redrivePolicy ? JSON.stringify(config.redrivePolicy) : undefined,
    };
    for (const name of names) if (name !== 'All' && !(name in all)) throw errors.invalidAttributeName(name);
    const picked = Object.entries(all).filter(([name, value]) => value !== undefined && (names.includes('All') || names.includes(name)));
    return picked.length > 0 ? { Attributes: Object.fromEntries(picked) } : {};
  }

  private async setQueueAttributes(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const change = parseQueueAttributes(optionalStringMap(input, 'Attributes'));
    this.checkDeadLetterTarget(queue.name, change.redrivePolicy);
    const next: QueueConfig = { ...queue.config, ...change, lastModifiedAt: this.now() };
    if (change.redrivePolicy === undefined && 'redrivePolicy' in change) delete next.redrivePolicy;
    queue.config = next;
    await this.state.save();
    return {};
  }

  private async sendMessage(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const result = this.enqueue(queue, input);
    await this.state.save();
    return result;
  }

  private async sendMessageBatch(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const entries = batchEntries(input);
    const total = entries.reduce((sum, entry) => sum + (typeof entry.MessageBody === 'string' ? Buffer.byteLength(entry.MessageBody) : 0), 0);
    if (total > LIMITS.maxMessageBytes) throw errors.batchTooLong();
    const result = eachEntry(entries, (entry) => ({ Id: entry.Id, ...this.enqueue(queue, entry) }));
    if (result.Successful.length > 0) await this.state.save();
    return result;
  }

  /** Validates and adds one message; what SendMessage answers for it. */
  private enqueue(queue: Queue, input: Input): { MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string } {
    const body = requiredString(input, 'MessageBody');
    const delaySeconds = optionalInteger(input, 'DelaySeconds', 0, LIMITS.maxDelaySeconds) ?? queue.config.delaySeconds;
    const attributes = parseMessageAttributes(input);
    if (INVALID_BODY_CHARACTER.test(body)) {
      throw errors.invalidMessageContents('Invalid characters found. Valid values: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
    }
    if (messageSize(body, attributes) > LIMITS.maxMessageBytes) {
      throw errors.invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${LIMITS.maxMessageBytes} bytes.`);
    }
    const now = this.now();
    const hasAttributes = Object.keys(attributes).length > 0;
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      messageAttributes: attributes,
      ...(hasAttributes ? { md5OfMessageAttributes: md5OfMessageAttributes(attributes) } : {}),
      sentAt: now,
      receiveCount: 0,
      visibleAt: now + delaySeconds * 1000,
    };
    queue.add(message);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  private async receiveMessage(input: Input, scope: RequestScope): Promise<object> {
    const queue = this.queueAt(input);
    const max = optionalInteger(input, 'MaxNumberOfMessages', 1, LIMITS.maxReceiveMessages) ?? 1;
    const visibilitySeconds = optionalInteger(input, 'VisibilityTimeout', 0, LIMITS.maxVisibilitySeconds);
    const waitSeconds = optionalInteger(input, 'WaitTimeSeconds', 0, LIMITS.maxWaitSeconds) ?? queue.config.receiveWaitTimeSeconds;
    const attributeNames = [...optionalStringList(input, 'AttributeNames'), ...optionalStringList(input, 'MessageSystemAttributeNames')];
    const messageAttributeNames = optionalStringList(input, 'MessageAttributeNames');
    const deadline = this.now() + waitSeconds * 1000;

    for (;;) {
      // A client that hung up must not get messages: they would stay hidden for nothing.
      if (scope.signal.aborted) return {};
      const now = this.now();
      const { received, changed } = this.takeVisibleMessages(queue, max, visibilitySeconds ?? queue.config.visibilityTimeoutSeconds, now);
      if (changed) await this.state.save();
      if (received.length > 0) {
        return { Messages: received.map((message) => this.toWireMessage(queue, message, attributeNames, messageAttributeNames)) };
      }
      const remaining = deadline - now;
      if (remaining <= 0) return {};
      await queue.waitForChange(Math.min(remaining, queue.msUntilNextVisible(now)), scope.signal);
    }
  }

  /**
   * Marks up to `max` visible messages in flight. A message already received maxReceiveCount
   * times goes to the dead-letter queue instead, as SQS does at its next receive.
   * Synchronous, so two long polls never take the same message; the caller saves.
   */
  private takeVisibleMessages(queue: Queue, max: number, visibilitySeconds: number, now: number): { received: StoredMessage[]; changed: boolean } {
    let changed = queue.expire(now);
    const deadLetterQueue = this.deadLetterQueueOf(queue);
    const received: StoredMessage[] = [];
    for (const message of queue.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      changed = true;
      if (deadLetterQueue && message.receiveCount >= queue.config.redrivePolicy!.maxReceiveCount) {
        this.moveMessage(message, queue, deadLetterQueue, { deadLetterSourceArn: queue.arn, now });
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.receiptToken = randomUUID();
      message.visibleAt = now + visibilitySeconds * 1000;
      queue.changed(message);
      received.push(message);
    }
    return { received, changed };
  }

  private toWireMessage(queue: Queue, message: StoredMessage, attributeNames: string[], messageAttributeNames: string[]): object {
    const attributes = systemAttributes(message, attributeNames);
    const messageAttributes = Object.fromEntries(
      Object.entries(message.messageAttributes).filter(([name]) => requested(messageAttributeNames, name)),
    );
    const hasMessageAttributes = Object.keys(messageAttributes).length > 0;
    return {
      MessageId: message.messageId,
      ReceiptHandle: encodeReceiptHandle(queue.name, message),
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      ...(attributes ? { Attributes: attributes } : {}),
      ...(hasMessageAttributes ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  private async deleteMessage(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    this.deleteByReceipt(queue, requiredString(input, 'ReceiptHandle'));
    await this.state.save();
    return {};
  }

  private async deleteMessageBatch(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const result = eachEntry(batchEntries(input), (entry) => {
      this.deleteByReceipt(queue, requiredString(entry, 'ReceiptHandle'));
      return { Id: entry.Id };
    });
    await this.state.save();
    return result;
  }

  /** Deleting a message that is already gone succeeds, as in SQS; a stale handle does not. */
  private deleteByReceipt(queue: Queue, handle: string): void {
    const message = this.messageOfReceipt(queue, handle);
    if (message) queue.remove(message.messageId);
  }

  private async changeMessageVisibility(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    this.changeVisibility(queue, input);
    await this.state.save();
    return {};
  }

  private async changeMessageVisibilityBatch(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    const result = eachEntry(batchEntries(input), (entry) => {
      this.changeVisibility(queue, entry);
      return { Id: entry.Id };
    });
    await this.state.save();
    return result;
  }

  private changeVisibility(queue: Queue, input: Input): void {
    const handle = requiredString(input, 'ReceiptHandle');
    const seconds = optionalInteger(input, 'VisibilityTimeout', 0, LIMITS.maxVisibilitySeconds);
    if (seconds === undefined) throw errors.missingParameter('VisibilityTimeout');
    const message = this.messageOfReceipt(queue, handle);
    const now = this.now();
    if (!message || message.visibleAt <= now) throw errors.messageNotInflight();
    message.visibleAt = now + seconds * 1000;
    queue.changed(message);
    if (seconds === 0) queue.notify();
  }

  /** The message a receipt handle names, undefined if it is gone; throws if the handle is not its latest. */
  private messageOfReceipt(queue: Queue, handle: string): StoredMessage | undefined {
    const receipt = decodeReceiptHandle(handle);
    if (!receipt || receipt.queueName !== queue.name) {
      throw errors.receiptHandleIsInvalid(`The input receipt handle "${handle}" is not a valid receipt handle.`);
    }
    const message = queue.get(receipt.messageId);
    if (message && message.receiptToken !== receipt.token) {
      throw errors.receiptHandleIsInvalid('The receipt handle has expired: the message was received again since.');
    }
    return message;
  }

  private async purgeQueue(input: Input): Promise<object> {
    const queue = this.queueAt(input);
    queue.clear();
    await this.state.save();
    return {};
  }

  private listDeadLetterSourceQueues(input: Input): object {
    const queue = this.queueAt(input);
    return { queueUrls: this.deadLetterSourcesOf(queue).map((source) => this.queueUrl(source.name)) };
  }

  /**
   * DLQ redrive. Each message goes to DestinationArn when given, else back to the queue it was
   * dead-lettered from, with its receive count reset (else it would come straight back).
   */
  private async startMessageMoveTask(input: Input): Promise<object> {
    const sourceArn = requiredString(input, 'SourceArn');
    const source = this.queueWithArn(sourceArn);
    const sources = this.deadLetterSourcesOf(source);
    if (sources.length === 0) throw errors.invalidParameter('Source queue must be configured as a Dead Letter Queue.');
    const destinationArn = optionalString(input, 'DestinationArn');
    const destination = destinationArn === undefined ? undefined : this.queueWithArn(destinationArn);
    const maxPerSecond = optionalInteger(input, 'MaxNumberOfMessagesPerSecond', 1, 500);
    const now = this.now();

    const toMove = source.size;
    let unroutable = 0;
    for (const message of [...source.values()]) {
      const target = destination ?? this.redriveTarget(message, sources);
      if (!target) {
        unroutable++;
        continue;
      }
      this.moveMessage(message, source, target, { now });
    }
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64url'),
      Status: unroutable === 0 ? 'COMPLETED' : 'FAILED',
      SourceArn: sourceArn,
      ...(destinationArn ? { DestinationArn: destinationArn } : {}),
      ...(maxPerSecond ? { MaxNumberOfMessagesPerSecond: maxPerSecond } : {}),
      ApproximateNumberOfMessagesMoved: toMove - unroutable,
      ApproximateNumberOfMessagesToMove: toMove,
      ...(unroutable > 0 ? { FailureReason: `${unroutable} message(s) have no known source queue; give DestinationArn.` } : {}),
      StartedTimestamp: now,
    };
    source.moveTasks = [task, ...source.moveTasks].slice(0, LIMITS.keptMoveTasks);
    await this.state.save();
    return { TaskHandle: task.TaskHandle };
  }

  private redriveTarget(message: StoredMessage, sources: Queue[]): Queue | undefined {
    if (message.deadLetterSourceArn !== undefined) {
      return this.queues.get(this.queueNameFromArn(message.deadLetterSourceArn));
    }
    return sources.length === 1 ? sources[0] : undefined;
  }

  private listMessageMoveTasks(input: Input): object {
    const source = this.queueWithArn(requiredString(input, 'SourceArn'));
    const maxResults = optionalInteger(input, 'MaxResults', 1, 10) ?? 1;
    return { Results: source.moveTasks.slice(0, maxResults) };
  }

  // --- queues and messages ------------------------------------------------------------------

  /** Moves a message between queues as a fresh one (visible, never received) keeping id, body and sent time. */
  private moveMessage(message: StoredMessage, from: Queue, to: Queue, { now, deadLetterSourceArn }: { now: number; deadLetterSourceArn?: string }): void {
    from.remove(message.messageId);
    const moved: StoredMessage = { ...message, visibleAt: now };
    delete moved.receiptToken;
    delete moved.deadLetterSourceArn;
    if (deadLetterSourceArn) moved.deadLetterSourceArn = deadLetterSourceArn;
    else {
      moved.receiveCount = 0;
      delete moved.firstReceivedAt;
    }
    to.add(moved);
  }

  private deadLetterQueueOf(queue: Queue): Queue | undefined {
    const policy = queue.config.redrivePolicy;
    return policy ? this.queues.get(this.queueNameFromArn(policy.deadLetterTargetArn)) : undefined;
  }

  private deadLetterSourcesOf(queue: Queue): Queue[] {
    return [...this.queues.values()].filter((source) => source.config.redrivePolicy?.deadLetterTargetArn === queue.arn);
  }

  private queueAt(input: Input): Queue {
    const url = requiredString(input, 'QueueUrl');
    return this.queueNamed(url.split('/').filter(Boolean).at(-1) ?? '');
  }

  private queueNamed(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw errors.queueDoesNotExist();
    return queue;
  }

  private queueWithArn(arn: string): Queue {
    const queue = this.queues.get(this.queueNameFromArn(arn));
    if (!queue || queue.arn !== arn) throw errors.resourceNotFound(arn);
    return queue;
  }

  private queueNameFromArn(arn: string): string {
    return arn.split(':').at(-1) ?? '';
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  // --- persistence --------------------------------------------------------------------------

  /** The StateSnapshot as JSON text (see Queue.snapshotJson); changes after it go to `journal`. */
  private snapshotJson(journal: string): string {
    return `{"version":1,"journal":${JSON.stringify(journal)},"queues":[${[...this.queues.values()].map((queue) => queue.snapshotJson()).join(',')}]}`;
  }

  private takeRecords(): string[] {
    const records: string[] = [];
    for (const queue of this.changedQueues) queue.takeRecords(records);
    this.changedQueues.clear();
    return records;
  }

  /** The saved snapshot, its journal replayed over it; then a fresh snapshot, so the journal starts empty. */
  private async loadQueues(): Promise<void> {
    this.queues.clear();
    const { snapshot, records } = await this.state.load();
    for (const saved of snapshot?.queues ?? []) {
      const name = saved.config.name;
      this.queues.set(name, Queue.restore(saved, this.queueArn(name), this.changed));
    }
    for (const record of records) {
      const queue = this.queues.get(record.queue);
      if (queue) queue.replay(record);
      else if ('config' in record) {
        this.queues.set(record.queue, Queue.restore({ config: record.config, messages: [], moveTasks: record.moveTasks }, this.queueArn(record.queue), this.changed));
      }
    }
    await this.state.open();
  }

  // --- HTTP ---------------------------------------------------------------------------------

  /**
   * The signal is made on first use: only a long poll needs one, and a signal joined to the
   * server's (AbortSignal.any) plus a listener on the response cost every send and delete too.
   */
  private requestScope(response: ServerResponse): RequestScope {
    const stopping = this.stopping.signal;
    let signal: AbortSignal | undefined;
    return {
      get signal() {
        if (!signal) {
          const clientGone = new AbortController();
          if (response.destroyed) clientGone.abort();
          else {
            response.on('close', () => {
              if (!response.writableFinished) clientGone.abort();
            });
          }
          signal = AbortSignal.any([clientGone.signal, stopping]);
        }
        return signal;
      },
    };
  }

  private track(request: Promise<void>): void {
    this.activeRequests.add(request);
    void request.finally(() => this.activeRequests.delete(request));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      if (this.stopping.signal.aborted) throw errors.shuttingDown();
      const action = actionOf(request);
      const input = await readJsonBody(request);
      const run = this.actions[action];
      if (!run) throw errors.unknownOperation(action);
      const output = await run(input, this.requestScope(response));
      reply(response, 200, output, requestId);
    } catch (error) {
      if (!(error instanceof SqsError)) console.error('[local-sqs] request failed:', error);
      const sqsError = error instanceof SqsError ? error : errors.internal();
      reply(response, sqsError.status, { __type: `${sqsError.namespace}#${sqsError.code}`, message: sqsError.message }, requestId, {
        'x-amzn-query-error': `${sqsError.queryCode};${sqsError.fault}`,
      });
    }
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

function actionOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  if (request.method !== 'POST' || typeof target !== 'string' || !target.startsWith('AmazonSQS.')) {
    throw errors.unknownOperation(String(target ?? `${request.method} ${request.url}`));
  }
  return target.slice('AmazonSQS.'.length);
}

/** Events rather than `for await`: an async iterator costs a promise per chunk, on every request. */
function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMITS.maxRequestBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(errors.requestTooLarge());
      } else chunks.push(chunk);
    });
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
    // After 'end' this changes nothing; before it, the client hung up mid-request.
    request.once('close', () => reject(new Error('the client hung up before the end of its request')));
  });
}

async function readJsonBody(request: IncomingMessage): Promise<Input> {
  const text = (await readBody(request)).toString('utf8');
  try {
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (isObject(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw errors.serializationFailed();
}

function reply(response: ServerResponse, status: number, body: object, requestId: string, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...headers,
  });
  response.end(text);
}
