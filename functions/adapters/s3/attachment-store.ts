import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FileToFetch } from '#core/attachments';
import { FileFetchError } from '#core/errors';
import type { AttachmentStore } from '#core/ports';

export interface S3AttachmentStoreOptions {
  client: S3Client;
  bucket: string;
  /** The HTTP client for DS's file host; the global fetch by default (tests inject their own). */
  fetch?: typeof fetch;
  /**
   * Longest wait without progress from the file host: for its response headers, then between
   * two chunks of the body. Not a cap on the whole transfer: a 200 MB file may take minutes.
   */
  downloadTimeoutMs?: number;
}

/** What the CLI needs to know of an archived file before downloading it. */
export interface StoredFileInfo {
  byteSize: number;
  /** Base64 MD5, as DS gives it. */
  contentMd5?: string;
  contentType: string;
}

const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;

/** The file host's answers that mean "this signed URL no longer works": DS URLs live one hour. */
const EXPIRED_URL_STATUSES = new Set([401, 403, 404, 410]);

/** S3's answers to a body that does not match its Content-MD5. */
const DIGEST_ERRORS = new Set(['BadDigest', 'InvalidDigest']);

/**
 * Archives DS files and dossier snapshots in one bucket.
 *
 * Files are streamed from DS's file host to S3 in a single PutObject: never buffered whole
 * (files go up to 200 MB, a Lambda has little memory), and never accepted unless every byte
 * matches DS's size and MD5.
 */
export class S3AttachmentStore implements AttachmentStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly fetch: typeof fetch;
  private readonly downloadTimeoutMs: number;

  constructor(options: S3AttachmentStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  }

  async putSnapshot(key: string, dossier: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(dossier), 'utf8');
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      ContentMD5: createHash('md5').update(body).digest('base64'),
    }));
  }

  /**
   * Streams `file.url` into `file.key`. Throws FileFetchError (reason `url_expired`,
   * `download_failed`, `size_mismatch` or `checksum_mismatch`) when this file could not be
   * archived this time; rethrows any other S3 error as is (a configuration problem).
   */
  async putFile(file: FileToFetch): Promise<void> {
    const transfer = new Transfer(this.downloadTimeoutMs);
    try {
      const body = await this.download(file, transfer);
      await this.upload(file, body, transfer);
    } finally {
      transfer.end();
    }
  }

  /** The stored object as a stream (rejects with S3's NoSuchKey when there is none). */
  async openFile(key: string): Promise<Readable> {
    const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!(Body instanceof Readable)) throw new Error(`S3 returned no stream for the object`);
    return Body;
  }

  /** Size, MD5 and type of the stored object; undefined when there is none. */
  async headFile(key: string): Promise<StoredFileInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const contentMd5 = head.Metadata?.['ds-checksum'] ?? md5FromEtag(head.ETag);
      return {
        byteSize: head.ContentLength ?? 0,
        ...(contentMd5 ? { contentMd5 } : {}),
        contentType: head.ContentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (httpStatusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** GETs the file and checks the answer before any byte is read; the body is left unread. */
  private async download(file: FileToFetch, transfer: Transfer): Promise<Readable> {
    let response: Response;
    try {
      response = await this.fetch(file.url, {
        signal: transfer.signal,
        redirect: 'follow',
        // The byte count and the MD5 are those of the raw file: no transparent decompression.
        headers: { 'accept-encoding': 'identity' },
      });
    } catch (error) {
      throw transfer.failure ?? downloadFailed('file host unreachable', error);
    }
    transfer.progressed();
    const refusal = refusalOf(response, file.byteSize);
    if (refusal) {
      await discard(response);
      throw refusal;
    }
    return response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  }

  /**
   * One streamed PutObject, not a lib-storage multipart upload: S3 checks Content-MD5 against
   * the whole body of a PutObject, whereas a multipart upload only checks each part (the
   * object's ETag is then no MD5 at all), so DS's checksum could not be enforced by S3.
   * A single PUT takes up to 5 GB; DS files stop at 200 MB.
   */
  private async upload(file: FileToFetch, source: Readable, transfer: Transfer): Promise<void> {
    const body = new VerifiedBody(file, transfer);
    // A failure on either side tears both down (the download socket included) and aborts the PUT,
    // which would otherwise wait forever for the bytes it was promised.
    pipeline(source, body, (error) => {
      if (error) transfer.fail(asFileFetchError(error));
    });
    try {
      await this.client.send(new PutObjectCommand(this.putInput(file, body)), { abortSignal: transfer.signal });
    } catch (error) {
      throw transfer.failure ?? s3Failure(error);
    } finally {
      source.destroy();
    }
    // VerifiedBody already refuses to end on a wrong count; this guards the guard.
    if (body.byteCount !== file.byteSize) throw new FileFetchError('file size differs from DS', 'size_mismatch');
  }

  private putInput(file: FileToFetch, body: Readable): PutObjectCommandInput {
    return {
      Bucket: this.bucket,
      Key: file.key,
      Body: body,
      ContentLength: file.byteSize,
      ContentMD5: file.checksum,
      ContentType: safeContentType(file.contentType),
      // Stable ids and DS's checksum only: labels, filenames and values may be personal data.
      Metadata: {
        'champ-id': file.champId,
        ...(file.rowId ? { 'row-id': file.rowId } : {}),
        'ds-checksum': file.checksum,
      },
    };
  }
}

/**
 * One file's transfer: a single abort signal for the download and the upload, the first
 * failure seen, and a stall timer the file host must keep resetting.
 */
class Transfer {
  private readonly controller = new AbortController();
  private stallTimer: NodeJS.Timeout | undefined;
  failure: FileFetchError | undefined;

  constructor(private readonly stallTimeoutMs: number) {
    this.progressed();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The file host answered or sent bytes: restart the stall timer. */
  progressed(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.fail(new FileFetchError('file transfer stalled', 'download_failed')), this.stallTimeoutMs);
  }

  /** Every byte is in: from here S3's own timeouts apply. */
  downloaded(): void {
    clearTimeout(this.stallTimer);
  }

  /** Records the first failure and aborts everything still running. */
  fail(error: FileFetchError): void {
    this.failure ??= error;
    if (!this.signal.aborted) this.controller.abort(this.failure);
  }

  end(): void {
    clearTimeout(this.stallTimer);
  }
}

/**
 * Passes the file through while counting its bytes and computing its MD5, and holds the last
 * chunk back until both match DS: the PUT (sent with Content-Length = DS's size) can only
 * complete with the right bytes, on S3 and on engines that do not verify Content-MD5 (s3rver).
 * Errors as soon as one byte too many arrives.
 */
class VerifiedBody extends Transform {
  byteCount = 0;
  private readonly md5 = createHash('md5');
  private heldBack: Buffer | undefined;

  constructor(private readonly expected: Pick<FileToFetch, 'byteSize' | 'checksum'>, private readonly transfer: Transfer) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length;
    if (this.byteCount > this.expected.byteSize) {
      callback(new FileFetchError('file larger than DS says', 'size_mismatch'));
      return;
    }
    this.transfer.progressed();
    this.md5.update(chunk);
    const previous = this.heldBack;
    this.heldBack = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    this.transfer.downloaded();
    if (this.byteCount !== this.expected.byteSize) {
      callback(new FileFetchError('file smaller than DS says', 'size_mismatch'));
      return;
    }
    if (!this.md5.digest().equals(Buffer.from(this.expected.checksum, 'base64'))) {
      callback(new FileFetchError('file content does not match its DS checksum', 'checksum_mismatch'));
      return;
    }
    callback(null, this.heldBack);
  }
}

/** Why the file host's answer cannot be archived, before reading its body; undefined when it can. */
function refusalOf(response: Response, byteSize: number): FileFetchError | undefined {
  if (EXPIRED_URL_STATUSES.has(response.status)) {
    return new FileFetchError(`file host answered ${response.status}`, 'url_expired');
  }
  if (!response.ok) {
    return new FileFetchError(`file host answered ${response.status}`, 'download_failed');
  }
  const announced = response.headers.get('content-length');
  if (announced !== null && !response.headers.has('content-encoding') && Number(announced) !== byteSize) {
    return new FileFetchError('file host announces another size than DS', 'size_mismatch');
  }
  return undefined;
}

/** Releases the socket of an answer we will not read. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

function asFileFetchError(error: unknown): FileFetchError {
  return error instanceof FileFetchError ? error : downloadFailed('file download interrupted', error);
}

/** The cause keeps the error's name and code only: network errors may quote the signed URL. */
function downloadFailed(message: string, error: unknown): FileFetchError {
  return new FileFetchError(message, 'download_failed', { cause: errorSummary(error) });
}

function errorSummary(error: unknown): { name?: string; code?: string } {
  if (!(error instanceof Error)) return {};
  const cause = error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown }).code;
  return { name: cause.name, ...(typeof code === 'string' ? { code } : {}) };
}

/** S3 refusing the body for its digest is the file's fault; anything else is ours. */
function s3Failure(error: unknown): unknown {
  if (error instanceof Error && DIGEST_ERRORS.has(error.name)) {
    return new FileFetchError('S3 refused the file: content does not match its DS checksum', 'checksum_mismatch');
  }
  return error;
}

function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** A single-part S3 ETag is the hex MD5 of the object; multipart ones (with `-N`) are not. */
function md5FromEtag(etag: string | undefined): string | undefined {
  const hex = etag?.replaceAll('"', '');
  return hex && /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, 'hex').toString('base64') : undefined;
}

const MIME_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[\w .+-]*"|[\w.+-]+))*$/;

/**
 * DS's content type is what the uploader's browser said: keep it only when it is a plain MIME
 * type, so a stray character cannot fail the PUT (an invalid header) again at every retry.
 */
function safeContentType(contentType: string): string {
  return MIME_TYPE.test(contentType) ? contentType : 'application/octet-stream';
}
