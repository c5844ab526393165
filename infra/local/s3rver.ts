import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** s3rver, the in-process S3 of the local mode and the tests, with S3's all-or-nothing PUT. */

/** The part of s3rver's API we use (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  store: S3rverFilesystemStore;
}

/** s3rver 3.7.1's FilesystemStore, the methods the atomic PUT below relies on. */
interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: unknown;
}
type S3rverConstructor = new (options: { address: string; port: number; silent: boolean; directory: string }) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** s3rver accepts any request signed with these. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * s3rver writes a PUT body straight to the object's file, so an upload aborted mid-body leaves
 * a truncated object that Head, Get and List then serve (and its handler waits forever, holding
 * the file open). S3 stores nothing from an aborted PUT, and our adapter relies on that when it
 * aborts a file whose size or MD5 is wrong. This stores the body in a side file (a name that
 * s3rver's listing ignores) and moves it in place once complete, as S3 does.
 */
const PARTIAL_RESOURCE = 'partial-';
/** s3rver names each file of a key `<last key segment>._S3rver_<resource>` (its FilesystemStore). */
const PARTIAL_FILE = new RegExp(`\\._S3rver_${PARTIAL_RESOURCE}[0-9a-f-]{36}$`);
/** Where s3rver keeps the parts of multipart uploads not yet completed, per bucket. */
const UPLOADS_FOLDER = '._S3rver_uploads';

/**
 * What uploads cut by a hard kill (kill -9, a crash) leave under `directory`: the side files of
 * the atomic PUT below, whose `rm` never ran, and the parts of unfinished multipart uploads.
 * Removed at start, before s3rver serves anything: every client of this store runs in the
 * process that died, so none of them can resume (S3 would keep the parts until a lifecycle
 * rule aborts them; here nothing would, and they may hold personal data).
 */
export async function removePartialUploads(directory: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(directory, { withFileTypes: true, recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries) {
    const leftover = (entry.isFile() && PARTIAL_FILE.test(entry.name)) || (entry.isDirectory() && entry.name === UPLOADS_FOLDER);
    if (!leftover) continue;
    await rm(join(entry.parentPath, entry.name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

export function storeUploadsAtomically(store: S3rverFilesystemStore): void {
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    if (Buffer.isBuffer(object.content)) return putObject(object);
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const partialPath = store.getResourcePath(object.bucket, object.key, `${PARTIAL_RESOURCE}${randomUUID()}`);
    await mkdir(dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      // pipeline, unlike s3rver's pipe(), fails when the request is cut and closes the file.
      await pipeline(object.content, measure, createWriteStream(partialPath));
      await rename(partialPath, objectPath);
    } catch (error) {
      await rm(partialPath, { force: true });
      throw error;
    }
    const hex = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, hex);
    return { size, md5: hex };
  };
}

export interface RunningS3rver {
  endpoint: string;
  stop(): Promise<void>;
}

/** s3rver on 127.0.0.1 (a free port unless given), storing under `directory`, uploads atomic. */
export async function startS3rverEngine({ directory, port = 0 }: { directory: string; port?: number }): Promise<RunningS3rver> {
  await removePartialUploads(directory);
  const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
  storeUploadsAtomically(server.store);
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async stop() {
      // Requests aborted mid-body leave s3rver's handler waiting: drop every connection.
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}
