import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { attachmentKey, type FileToFetch } from '#core/attachments';
import { FileFetchError } from '#core/errors';
import { startFileServer, startS3rver, type FileRoute, type FileServer, type S3Engine } from '../helpers/s3-engine.ts';
import { expectingStreamingWarning } from '../helpers/sdk-warnings.ts';

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('base64');
const CHAMP_ID = Buffer.from('Champ-4102108').toString('base64');

/** Three megabytes: more than one chunk everywhere along the way. */
const content = randomBytes(3 * 1024 * 1024 + 17);
const otherContent = randomBytes(content.length);

/** Yields `bytes` in 64 KiB chunks, with no Content-Length: only counting can catch a wrong size. */
function chunked(bytes: Buffer): () => Iterable<Uint8Array> {
  return function* () {
    for (let offset = 0; offset < bytes.length; offset += 65_536) yield bytes.subarray(offset, offset + 65_536);
  };
}

const routes: Record<string, FileRoute> = {
  '/file': { body: chunked(content), contentLength: content.length },
  '/file-chunked': { body: chunked(content) },
  '/short': { body: chunked(content.subarray(0, content.length - 1000)) },
  // One byte too many, then silence: only a count that stops at once can answer before the timeout.
  '/long': { body: async function* () { yield* chunked(Buffer.concat([content, Buffer.alloc(1)]))(); await never(); } },
  '/short-announced': { body: content.subarray(0, 1000) },
  '/cut': { body: chunked(content.subarray(0, 100_000)), contentLength: content.length },
  '/expired': { body: Buffer.from('<Error>Expired</Error>'), status: 403 },
  '/broken': { body: Buffer.from('oops'), status: 500 },
};

function never(): Promise<never> {
  return new Promise(() => undefined);
}

let s3: S3Engine;
let host: FileServer;
let store: S3AttachmentStore;
let fileNumber = 0;

beforeAll(async () => {
  [s3, host] = await Promise.all([startS3rver({ bucket: 'attachments' }), startFileServer(routes)]);
  store = new S3AttachmentStore({ client: s3.client, bucket: s3.bucket, downloadTimeoutMs: 5_000 });
});

afterAll(async () => {
  await Promise.all([s3?.stop(), host?.stop()]);
});

/** A DS file pointing at `url`; each gets its own dossier number so keys never collide. */
function dsFile(url: string, overrides: Partial<FileToFetch> = {}): FileToFetch {
  const checksum = overrides.checksum ?? md5(content);
  const filename = 'dossier.pdf';
  return {
    champId: CHAMP_ID,
    label: 'Pièce jointe',
    filename,
    contentType: 'application/pdf',
    byteSize: content.length,
    checksum,
    virusScan: 'safe',
    key: attachmentKey(++fileNumber, CHAMP_ID, checksum, filename),
    url,
    ...overrides,
  };
}

async function storedBytes(key: string): Promise<Buffer> {
  const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

async function rejection(promise: Promise<unknown>): Promise<FileFetchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FileFetchError);
  return error as FileFetchError;
}

describe('S3AttachmentStore against s3rver', () => {
  it('streams a file to S3 with the bytes DS checksummed', async () => {
    const file = dsFile(host.url('/file'));
    await store.putFile(file);
    expect(md5(await storedBytes(file.key))).toBe(file.checksum);
    expect(await store.headFile(file.key)).toEqual({
      byteSize: content.length, contentMd5: file.checksum, contentType: 'application/pdf',
    });
  });

  it('streams a file the host sends without Content-Length', async () => {
    const file = dsFile(host.url('/file-chunked'));
    await store.putFile(file);
    expect(md5(await storedBytes(file.key))).toBe(file.checksum);
  });

  it('refuses bytes that do not match the DS checksum, and stores nothing', async () => {
    const file = dsFile(host.url('/file'), { checksum: md5(otherContent) });
    const error = await expectingStreamingWarning(() => rejection(store.putFile(file)));
    expect(error.reason).toBe('checksum_mismatch');
    expect(await store.headFile(file.key)).toBeUndefined();
  });

  it('refuses a file shorter than DS says', async () => {
    const file = dsFile(host.url('/short'));
    expect((await expectingStreamingWarning(() => rejection(store.putFile(file)))).reason).toBe('size_mismatch');
    expect(await store.headFile(file.key)).toBeUndefined();
  });

  it('refuses a file longer than DS says as soon as the extra byte arrives', async () => {
    const file = dsFile(host.url('/long'));
    expect((await expectingStreamingWarning(() => rejection(store.putFile(file)))).reason).toBe('size_mismatch');
    expect(await store.headFile(file.key)).toBeUndefined();
  });

  it('refuses a file whose Content-Length differs from DS, before reading it', async () => {
    const file = dsFile(host.url('/short-announced'));
    expect((await rejection(store.putFile(file))).reason).toBe('size_mismatch');
  });

  it('reports a download cut short as download_failed', async () => {
    const file = dsFile(host.url('/cut'));
    expect((await expectingStreamingWarning(() => rejection(store.putFile(file)))).reason).toBe('download_failed');
    expect(await store.headFile(file.key)).toBeUndefined();
  });

  it('reports a 403 from the file host as an expired URL', async () => {
    const error = await rejection(store.putFile(dsFile(host.url('/expired'))));
    expect(error.reason).toBe('url_expired');
    expect(error.message).not.toContain('127.0.0.1');
  });

  it('reports a 500 from the file host as download_failed', async () => {
    expect((await rejection(store.putFile(dsFile(host.url('/broken'))))).reason).toBe('download_failed');
  });

  it('reports a refused connection as download_failed', async () => {
    const closed = await startFileServer({});
    const url = closed.url('/file?signature=secret');
    await closed.stop();
    const error = await rejection(store.putFile(dsFile(url)));
    expect(error.reason).toBe('download_failed');
    expect(JSON.stringify({ message: error.message, cause: error.cause })).not.toContain('secret');
  });

  it('reports a silent file host as download_failed once the timeout passes', async () => {
    const silent = await startFileServer({
      '/slow': { body: async function* () { await new Promise((r) => setTimeout(r, 2_000)); yield content; } },
    });
    try {
      const quickStore = new S3AttachmentStore({ client: s3.client, bucket: s3.bucket, downloadTimeoutMs: 200 });
      const file = dsFile(silent.url('/slow'));
      expect((await rejection(quickStore.putFile(file))).reason).toBe('download_failed');
    } finally {
      await silent.stop();
    }
  });

  it('round-trips a dossier snapshot as JSON', async () => {
    const dossier = { number: 42, champs: [{ label: 'Nom du projet', stringValue: 'Données ouvertes' }] };
    await store.putSnapshot('dossiers/42/1700000000000.json', dossier);
    const stored = await storedBytes('dossiers/42/1700000000000.json');
    expect(JSON.parse(stored.toString('utf8'))).toEqual(dossier);
    expect((await store.headFile('dossiers/42/1700000000000.json'))?.contentType).toBe('application/json');
  });

  it('streams a stored file back', async () => {
    const file = dsFile(host.url('/file'));
    await store.putFile(file);
    const stream = await store.openFile(file.key);
    expect(md5(await buffer(stream))).toBe(file.checksum);
  });

  it('knows no file at an unknown key', async () => {
    expect(await store.headFile('attachments/0/none')).toBeUndefined();
  });
});
