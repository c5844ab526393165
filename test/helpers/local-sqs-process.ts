/**
 * A LocalSqs alone in this process, for the tests that kill it (kill -9): started with
 * `fork(this file, [dataDir])`, it sends `{ endpoint }` over IPC once it listens, then serves
 * until it is killed. Snapshots are made small and frequent (SNAPSHOT_POLICY), so a kill also
 * lands while one is being written.
 */
import { LocalSqs } from '../../infra/local/sqs-server.ts';

export const SNAPSHOT_POLICY = { minBytes: 16 * 1024, ratio: 0.25 };

const dataDir = process.argv[2];
if (!dataDir || !process.send) throw new Error('usage: fork(local-sqs-process.ts, [dataDir]) with an IPC channel');
const sqs = new LocalSqs({ dataDir, snapshotAfter: SNAPSHOT_POLICY });
const { endpoint } = await sqs.start();
process.send({ endpoint });
