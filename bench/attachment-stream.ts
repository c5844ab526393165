/**
 * Figure 3, attachment streaming: a 200 MB file from a stand-in DS file host to s3rver.
 * - Throughput of S3AttachmentStore.putFile (streamed, counted, MD5 checked by S3) against a
 *   plain stream copy between the same two endpoints (fetch piped into a PutObject, no checks),
 *   alternated, after one warm-up of each.
 * - Peak RSS growth of a process that does nothing but putFile (bench/large-file-rss.ts).
 *
 *   npx tsx bench/attachment-stream.ts      (BENCH_ATTACHMENT_MB to change the size)
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import type { FileToFetch } from '#core/attachments';
import { startFileServer, startS3rver, type S3Engine } from '../test/helpers/s3-engine.ts';
import { pseudoRandomChunks, pseudoRandomMd5, runLargeFileRss } from './large-file-rss.ts';
import { absoluteFigure, MB, median, progress, ratioFigure, round, runScript } from './lib.ts';

const SCRIPT = 'attachment-stream';
const FILE_BYTES = Number(process.env.BENCH_ATTACHMENT_MB ?? 200) * MB;
const ROUNDS = 3;
const MIN_THROUGHPUT_RATIO = 0.8;
const MAX_GROWTH_MB = 64;

async function seconds(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

/** The floor: the same download piped into a plain PutObject, no count, no MD5. */
async function plainCopy(s3: S3Engine, url: string, key: string, bytes: number): Promise<void> {
  const response = await fetch(url);
  await s3.client.send(new PutObjectCommand({
    Bucket: s3.bucket, Key: key, ContentLength: bytes,
    Body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
  }));
}

async function throughput() {
  const warmUpBytes = 8 * MB;
  const [s3, host] = await Promise.all([
    startS3rver({ bucket: 'bench' }),
    startFileServer({
      '/file': { body: () => pseudoRandomChunks(FILE_BYTES), contentLength: FILE_BYTES },
      '/warm-up': { body: () => pseudoRandomChunks(warmUpBytes), contentLength: warmUpBytes },
    }),
  ]);
  try {
    const store = new S3AttachmentStore({ client: s3.client, bucket: s3.bucket });
    const checksums = { file: pseudoRandomMd5(FILE_BYTES), warmUp: pseudoRandomMd5(warmUpBytes) };
    const file = (key: string, path = '/file', bytes = FILE_BYTES, checksum = checksums.file): FileToFetch => ({
      champId: Buffer.from('Champ-1').toString('base64'), label: 'bench', filename: 'file.bin',
      contentType: 'application/octet-stream', byteSize: bytes, checksum, virusScan: 'safe', key, url: host.url(path),
    });
    progress(SCRIPT, 'warming up (8 MB each way)');
    await plainCopy(s3, host.url('/warm-up'), 'warm-up/plain', warmUpBytes);
    await store.putFile(file('warm-up/ours', '/warm-up', warmUpBytes, checksums.warmUp));
    const plain: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      progress(SCRIPT, `round ${i + 1} of ${ROUNDS}: ${FILE_BYTES / MB} MB, plain copy and putFile`);
      // Each goes first in turn: whatever the machine does meanwhile hits both alike.
      const runPlain = async () => plain.push(await seconds(() => plainCopy(s3, host.url('/file'), `plain/${i}`, FILE_BYTES)));
      const runOurs = async () => ours.push(await seconds(() => store.putFile(file(`ours/${i}`))));
      if (i % 2 === 0) { await runPlain(); await runOurs(); } else { await runOurs(); await runPlain(); }
    }
    return { plainMBps: FILE_BYTES / MB / median(plain), oursMBps: FILE_BYTES / MB / median(ours), plain, ours };
  } finally {
    await Promise.all([s3.stop(), host.stop()]);
  }
}

async function main() {
  const speed = await throughput();
  progress(SCRIPT, `peak RSS of a process archiving ${FILE_BYTES / MB} MB (child process)`);
  const memory = await runLargeFileRss({ sizeBytes: FILE_BYTES });
  if (!memory.md5Ok) throw new Error('the stored object does not have the MD5 of the file served');
  return {
    figures: [
      ratioFigure(`${SCRIPT}: putFile throughput, ${FILE_BYTES / MB} MB`, speed.oursMBps, speed.plainMBps, 'MB/s', { minRatio: MIN_THROUGHPUT_RATIO },
        `median of ${ROUNDS}, alternated with the plain copy; seconds: ours ${speed.ours.map((x) => round(x)).join(', ')}, plain ${speed.plain.map((x) => round(x)).join(', ')}`),
      absoluteFigure(`${SCRIPT}: peak RSS growth, ${FILE_BYTES / MB} MB file`, memory.growthMB, 'MB', { below: MAX_GROWTH_MB },
        `RSS ${memory.rssBeforeMB} MB before, ${memory.peakRssMB} MB at peak; ${memory.seconds} s; MD5 checked`),
    ],
    details: { seconds: { plain: speed.plain.map((s) => round(s)), ours: speed.ours.map((s) => round(s)) }, largeFileRss: memory },
  };
}

runScript(SCRIPT, main, import.meta.url);
