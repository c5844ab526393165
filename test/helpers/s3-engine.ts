import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '#adapters/s3/client';
import { S3RVER_CREDENTIALS, startS3rverEngine } from '../../infra/local/s3rver.ts';

export { S3RVER_CREDENTIALS };


export interface S3Engine {
  endpoint: string;
  client: S3Client;
  bucket: string;
  stop(): Promise<void>;
}

/** An in-process s3rver on a free port, storing in a fresh temp directory, with `bucket` created. */
export async function startS3rver({ bucket }: { bucket: string }): Promise<S3Engine> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = await startS3rverEngine({ directory });
  const { endpoint } = server;
  const client = createS3Client({ endpoint, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  const stop = async () => {
    client.destroy();
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, client, bucket, stop };
}

/** What the stand-in file host answers on one path. */
export interface FileRoute {
  /** The whole body, or a generator of chunks for files too big to hold in memory. */
  body: Buffer | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);
  status?: number;
  /**
   * The Content-Length to announce; by default the Buffer's length, none (chunked) for a
   * generator. When the body sent differs, the connection is cut once it is sent, like a broken host.
   */
  contentLength?: number;
  contentType?: string;
}

export interface FileServer {
  url(path: string): string;
  stop(): Promise<void>;
}

/** A stand-in for DS's file host on a free port: serves `routes`, 404 on any other path. */
export async function startFileServer(routes: Record<string, FileRoute>): Promise<FileServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    void serveRoute(route, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serveRoute(route: FileRoute, response: ServerResponse): Promise<void> {
  const headers: Record<string, string | number> = { 'content-type': route.contentType ?? 'application/octet-stream' };
  const contentLength = route.contentLength ?? (Buffer.isBuffer(route.body) ? route.body.length : undefined);
  if (contentLength !== undefined) headers['content-length'] = contentLength;
  response.writeHead(route.status ?? 200, headers);
  const chunks = Buffer.isBuffer(route.body) ? [route.body] : route.body();
  let sent = 0;
  for await (const chunk of chunks) {
    if (response.destroyed) return;
    sent += chunk.byteLength;
    if (!response.write(chunk)) await waitForDrainOrClose(response);
  }
  if (contentLength !== undefined && sent !== contentLength) response.destroy();
  else response.end();
}

function waitForDrainOrClose(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
