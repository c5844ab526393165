import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { createS3Client } from '#adapters/s3/client';
import type { FileToFetch } from '#core/attachments';
import { FileFetchError } from '#core/errors';

const client = new S3Client({ region: 'eu-west-3', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const s3 = mockClient(client);

afterEach(() => {
  s3.reset();
});

const file: FileToFetch = {
  champId: 'Q2hhbXAtNDEwMjEwOA==',
  label: 'Pièce jointe',
  filename: 'budget.pdf',
  contentType: 'application/pdf',
  byteSize: 1024 * 1024,
  checksum: createHash('md5').update('whatever').digest('base64'),
  virusScan: 'safe',
  key: 'attachments/1/4102108/abc/budget.pdf',
  url: 'https://static.example/file?temp_url_sig=secret',
};

/** A file host whose body never ends, and which records whether we let go of it. */
function endlessHost(init: ResponseInit = {}) {
  const state = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(16 * 1024));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  const fetch = vi.fn(async () => new Response(body, init)) as unknown as typeof globalThis.fetch;
  return { state, fetch };
}

function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: name });
}

describe('S3AttachmentStore failures', () => {
  it('rethrows an S3 AccessDenied as is, and lets go of the download', async () => {
    const host = endlessHost();
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: host.fetch });

    const error = await store.putFile(file).catch((e: unknown) => e);

    expect(error).not.toBeInstanceOf(FileFetchError);
    expect((error as Error).name).toBe('AccessDenied');
    await vi.waitFor(() => expect(host.state.cancelled).toBe(true));
  });

  it('maps S3 BadDigest to checksum_mismatch, and lets go of the download', async () => {
    const host = endlessHost();
    s3.on(PutObjectCommand).rejects(s3Error('BadDigest', 400));
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: host.fetch });

    const error = await store.putFile(file).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as FileFetchError).reason).toBe('checksum_mismatch');
    await vi.waitFor(() => expect(host.state.cancelled).toBe(true));
  });

  it.each([
    [401, 'url_expired'], [403, 'url_expired'], [404, 'url_expired'], [410, 'url_expired'],
    [429, 'download_failed'], [500, 'download_failed'], [503, 'download_failed'],
  ])('maps a %i from the file host to %s, cancels its body and calls no S3', async (status, reason) => {
    const host = endlessHost({ status });
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: host.fetch });

    const error = await store.putFile(file).catch((e: unknown) => e);

    expect((error as FileFetchError).reason).toBe(reason);
    expect((error as FileFetchError).message).not.toContain('secret');
    expect(host.state.cancelled).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('refuses a Content-Length other than DS says before reading, and cancels the body', async () => {
    const host = endlessHost({ headers: { 'content-length': String(file.byteSize + 1) } });
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: host.fetch });

    const error = await store.putFile(file).catch((e: unknown) => e);

    expect((error as FileFetchError).reason).toBe('size_mismatch');
    expect(host.state.cancelled).toBe(true);
  });

  it('sends one PutObject with DS size, MD5, type and only non-personal metadata', async () => {
    const host = endlessHost();
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: host.fetch });

    await store.putFile(file).catch(() => undefined);

    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'attachments',
      Key: file.key,
      ContentLength: file.byteSize,
      ContentMD5: file.checksum,
      ContentType: 'application/pdf',
      Metadata: { 'champ-id': file.champId, 'ds-checksum': file.checksum },
    });
    expect(JSON.stringify(input.Metadata)).not.toContain('budget');
  });

  it.each([
    ['application/pdf', 'application/pdf'],
    ['text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['image/png\r\nX-Injected: 1', 'application/octet-stream'],
    ['', 'application/octet-stream'],
  ])('sends DS content type %j as %j', async (contentType, sent) => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    const store = new S3AttachmentStore({ client, bucket: 'attachments', fetch: endlessHost().fetch });

    await store.putFile({ ...file, contentType }).catch(() => undefined);

    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.ContentType).toBe(sent);
  });
});

describe('createS3Client', () => {
  it('sends checksums only when S3 requires them: we send Content-MD5 ourselves', async () => {
    const s3Client = createS3Client({ region: 'eu-west-3' }, {});
    expect(await s3Client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await s3Client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
  });

  it.each([
    ['an explicit endpoint', true, { endpoint: 'http://127.0.0.1:4569' }, {}],
    ['AWS_ENDPOINT_URL_S3', true, {}, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569' }],
    ['AWS_ENDPOINT_URL', true, {}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4569' }],
    ['no endpoint (AWS)', false, {}, {}],
  ])('with %s, forcePathStyle is %s', (_name, pathStyle, options, env) => {
    const s3Client = createS3Client({ region: 'eu-west-3', ...options }, env);
    expect(s3Client.config.forcePathStyle).toBe(pathStyle);
  });
});
