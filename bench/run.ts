/**
 * `npm run bench`: every figure is a ratio against a baseline measured in the same run, so
 * the results compare across machines; absolute seconds and megabytes are printed for context.
 *
 * - putFile overhead: S3AttachmentStore.putFile of a 64 MB file (streamed, counted, MD5-checked)
 *   against piping the same download straight into a plain PutObject with no checks.
 * - memory: peak RSS growth while archiving a 200 MB file, against the file's size, and against
 *   the growth for a 16 MB file (flat memory means about the same growth for 12.5 times the bytes).
 *
 * Writes bench/results.json.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import type { FileToFetch } from '#core/attachments';
import { startFileServer, startS3rver, type S3Engine } from '../test/helpers/s3-engine.ts';
import { MB, pseudoRandomChunks, pseudoRandomMd5, runLargeFileRss } from './large-file-rss.ts';

const THROUGHPUT_BYTES = 64 * MB;
const THROUGHPUT_ROUNDS = 3;
const LARGE_FILE_BYTES = 200 * MB;
const SMALL_FILE_BYTES = 16 * MB;

interface Figure {
  name: string;
  ratio: number;
  measured: string;
  baseline: string;
}

async function seconds(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

/** The baseline: the same download piped into a plain PutObject, no count, no MD5. */
async function plainPut(s3: S3Engine, url: string, key: string): Promise<void> {
  const response = await fetch(url);
  await s3.client.send(new PutObjectCommand({
    Bucket: s3.bucket,
    Key: key,
    Body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    ContentLength: THROUGHPUT_BYTES,
  }));
}

async function putFileOverhead(): Promise<Figure> {
  const [s3, host] = await Promise.all([
    startS3rver({ bucket: 'bench' }),
    startFileServer({ '/file': { body: () => pseudoRandomChunks(THROUGHPUT_BYTES), contentLength: THROUGHPUT_BYTES } }),
  ]);
  try {
    const store = new S3AttachmentStore({ client: s3.client, bucket: s3.bucket });
    const file = (key: string): FileToFetch => ({
      champId: Buffer.from('Champ-1').toString('base64'),
      label: 'bench',
      filename: 'file.bin',
      contentType: 'application/octet-stream',
      byteSize: THROUGHPUT_BYTES,
      checksum,
      virusScan: 'safe',
      key,
      url: host.url('/file'),
    });
    const checksum = pseudoRandomMd5(THROUGHPUT_BYTES);
    // One untimed run of each warms up the SDK, the sockets and the JIT.
    await plainPut(s3, host.url('/file'), 'warm-up/plain');
    await store.putFile(file('warm-up/ours'));
    const plain: number[] = [];
    const ours: number[] = [];
    // Alternated, so a slower moment of the machine hits both alike.
    for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
      plain.push(await seconds(() => plainPut(s3, host.url('/file'), `plain/${round}`)));
      ours.push(await seconds(() => store.putFile(file(`ours/${round}`))));
    }
    const mbPerSecond = (s: number) => `${round(THROUGHPUT_BYTES / MB / s, 0)} MB/s`;
    return {
      name: 'putFile time / plain PutObject time (64 MB)',
      ratio: round(median(ours) / median(plain)),
      measured: `${round(median(ours))} s, ${mbPerSecond(median(ours))}`,
      baseline: `${round(median(plain))} s, ${mbPerSecond(median(plain))}`,
    };
  } finally {
    await Promise.all([s3.stop(), host.stop()]);
  }
}

async function memoryFigures(): Promise<{ figures: Figure[]; large: Awaited<ReturnType<typeof runLargeFileRss>> }> {
  const small = await runLargeFileRss({ sizeBytes: SMALL_FILE_BYTES });
  const large = await runLargeFileRss({ sizeBytes: LARGE_FILE_BYTES });
  if (!small.md5Ok || !large.md5Ok) throw new Error('the stored object does not have the MD5 of the file served');
  const figures: Figure[] = [
    {
      name: 'peak RSS growth / file size (200 MB)',
      ratio: round(large.growthMB / (LARGE_FILE_BYTES / MB), 3),
      measured: `${large.growthMB} MB growth (peak ${large.peakRssMB} MB), ${large.seconds} s`,
      baseline: `${LARGE_FILE_BYTES / MB} MB file`,
    },
    {
      name: 'RSS growth 200 MB file / 16 MB file',
      ratio: round(large.growthMB / small.growthMB),
      measured: `${large.growthMB} MB`,
      baseline: `${small.growthMB} MB`,
    },
  ];
  return { figures, large };
}

const started = performance.now();
const overhead = await putFileOverhead();
const memory = await memoryFigures();
const figures = [overhead, ...memory.figures];

console.table(Object.fromEntries(figures.map(({ name, ...rest }) => [name, rest])));
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  seconds: round((performance.now() - started) / 1000, 1),
  figures,
  largeFileRss: memory.large,
};
await writeFile(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log(`bench/results.json written (${results.seconds} s)`);
