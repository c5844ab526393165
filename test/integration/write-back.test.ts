import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord, RoundRecord } from '#core/rounds/model';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { DynamoWriteBackRepository } from '#adapters/dynamodb/write-back-repository';
import { DEFAULT_MOTIVATIONS, LOCAL_WRITE_BACK_FILE, type LocalWriteBack } from '#schemas/write-back';
import type { StackOutputs } from '#infra/stack-outputs';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { SIMULATOR_INSTRUCTEUR_ID } from '../../infra/local/ds-simulator-mutations.ts';
import { motivationText } from '#core/write-back/plan';
import { MUTATION_DOCUMENTS } from '#adapters/ds-api/ds-mutations';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { cliRunner } from '../helpers/cli-runner.ts';

/*
 * `ds-selection rounds write-back` against the DS simulator (its mutations, state machine and
 * refusals) and dynalite, found through a stack.json and write-back.json as `npm start` with
 * DS_WRITE_BACK=1 writes them. The sample dossiers of events/dossiers/ (all en_construction) are
 * the closed round's: one selected, one not selected, one waitlisted. The tests run in order.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUND = '2026-03';
const [SELECTED, NOT_SELECTED, WAITLISTED] = [23456789, 23456790, 23456791];
const READ_TOKEN = 'simulator-read-token';
const WRITE_TOKEN = 'simulator-write-token';

let dynamo: RunningEngine;
let simulator: DsSimulator;
let rounds: DynamoRoundRepository;
let dataDir: string;
let workDir: string;
const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));

const decision = (dossierNumber: number, outcome: DecisionRecord['outcome'], rank: number): DecisionRecord => ({
  roundId: ROUND, dossierNumber, outcome, rank, score: 4 - rank / 2, reviewCount: 2, eigPostsRequested: 1, reasonCode: 'selected_within_capacity', reason: 'r',
});

async function dossierOnDs(number: number): Promise<any> {
  const response = await fetch(`${simulator.baseUrl}/_simulator/dossiers/${number}`);
  expect(response.status).toBe(200);
  return response.json();
}

const mutationCount = () => [...simulator.mutations.calls.values()].reduce((a, b) => a + b, 0);

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'write-back-data-')), mkdtemp(join(tmpdir(), 'write-back-work-'))]);
  dynamo = await startDynalite();
  simulator = await new DsSimulator({ token: READ_TOKEN, seedDir: join(ROOT, 'events', 'dossiers'), writeBack: { writeToken: WRITE_TOKEN } }).start();
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const outputs: StackOutputs = {
    stage: 'local', region: 'eu-west-3', ApiUrl: 'http://127.0.0.1:9/', V2WebhookUrl: 'http://127.0.0.1:9/webhooks/ds-v2',
    TableName: dynamo.tableName, BucketName: 'unused',
    IngestQueueUrl: 'http://127.0.0.1:9/000000000000/ingest', DeadLetterQueueUrl: 'http://127.0.0.1:9/000000000000/ingest-dlq',
    local: {
      endpoints: { dynamodb: dynamo.endpoint, s3: 'http://127.0.0.1:9', sqs: 'http://127.0.0.1:9', ses: 'http://127.0.0.1:9' },
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, dsApiUrl: simulator.graphqlUrl, dsApiToken: READ_TOKEN, demarcheNumbers: [98765],
      mailUrl: 'http://127.0.0.1:9/', dataDir, pid: process.pid,
    },
  };
  await writeFile(join(dataDir, 'stack.json'), JSON.stringify(outputs));
  const round: RoundRecord = {
    id: ROUND, status: 'closed', openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z', reviewDeadline: '2026-05-15T06:00:00Z',
    selectionClosedAt: '2026-05-22T07:00:00Z', capacityPosts: 1, reviewersPerDossier: 2, criteria: [], version: 3,
  };
  await rounds.createRound(round);
  await rounds.createRound({ ...round, id: '2026-05', status: 'reviewing', selectionClosedAt: null });
  await rounds.putDecisions([decision(SELECTED, 'selected', 1), decision(NOT_SELECTED, 'not_selected', 3), decision(WAITLISTED, 'waitlisted', 2)]);
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), simulator?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('rounds write-back, local stack and DS simulator', () => {
  it('is off until the local stack enables it (exit 2)', async () => {
    const { code, stderr } = await cli('rounds', 'write-back', '--round', ROUND);
    expect(code).toBe(2);
    expect(stderr).toMatch(/DS_WRITE_BACK=1/);
    const local: LocalWriteBack = { dsApiUrl: simulator.graphqlUrl, writeToken: WRITE_TOKEN, settings: { instructeurId: SIMULATOR_INSTRUCTEUR_ID, motivations: { ...DEFAULT_MOTIVATIONS } } };
    await writeFile(join(dataDir, LOCAL_WRITE_BACK_FILE), JSON.stringify(local));
  });

  it('refuses a round that is not closed (exit 6), and a round that does not exist (exit 3)', async () => {
    expect((await cli('rounds', 'write-back', '--round', '2026-05')).code).toBe(6);
    expect((await cli('rounds', 'write-back', '--round', '2026-07')).code).toBe(3);
  });

  it('--dry-run prints each mutation it would send, and sends none', async () => {
    const { code, stdout } = await cli('rounds', 'write-back', '--round', ROUND, '--dry-run');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`would send dossierPasserEnInstruction \\{"input":\\{"dossierId":"${Buffer.from(`Dossier-${SELECTED}`).toString('base64')}","instructeurId":"${SIMULATOR_INSTRUCTEUR_ID}"\\}\\}`));
    expect(stdout).toMatch(/would send dossierAccepter .*"motivation":"Votre projet a été retenu/);
    expect(stdout).toMatch(/would send dossierRefuser /);
    expect(mutationCount()).toBe(0);
    expect((await dossierOnDs(SELECTED)).state).toBe('en_construction');
  });

  it('a DS refusal fails that dossier only (exit 5); the others reach their final state with their motivation', async () => {
    simulator.mutations.requestCorrection(NOT_SELECTED);
    const { code, stdout, stderr } = await cli('rounds', 'write-back', '--round', ROUND);
    expect(code, stderr).toBe(5);
    expect(stdout).toMatch(/23456790: Le dossier est en attente de correction/);
    const selected = await dossierOnDs(SELECTED);
    expect(selected).toMatchObject({ state: 'accepte', motivation: motivationText(DEFAULT_MOTIVATIONS.selected, { roundId: ROUND, dossierNumber: SELECTED }) });
    expect(await dossierOnDs(WAITLISTED)).toMatchObject({ state: 'en_instruction', motivation: null });
    expect(await dossierOnDs(NOT_SELECTED)).toMatchObject({ state: 'en_construction' });
    const records = await new DynamoWriteBackRepository({ client: dynamo.client, tableName: dynamo.tableName }).listWriteBacks(ROUND);
    expect(records.map((r) => [r.dossierNumber, r.status])).toEqual([[SELECTED, 'done'], [NOT_SELECTED, 'failed'], [WAITLISTED, 'done']]);
    expect(records[1]!.errors).toEqual(['Le dossier est en attente de correction']);
    expect((await rounds.listAudit(ROUND)).map((a) => a.step as string)).toContain('write-back');
  });

  it('a rerun sends only what is left; the one after changes nothing', async () => {
    simulator.mutations.clearCorrection(NOT_SELECTED);
    const before = new Map(simulator.mutations.calls);
    const result = await cliJson('rounds', 'write-back', '--round', ROUND);
    expect(result.summary).toMatchObject({ done: 1, failed: 0, skipped: 2, mutationsSent: 2 });
    expect(simulator.mutations.calls.get('dossierRefuser')).toBe((before.get('dossierRefuser') ?? 0) + 1);
    expect(simulator.mutations.calls.get('dossierAccepter')).toBe(before.get('dossierAccepter'));
    expect(await dossierOnDs(NOT_SELECTED)).toMatchObject({
      state: 'refuse', motivation: motivationText(DEFAULT_MOTIVATIONS.not_selected, { roundId: ROUND, dossierNumber: NOT_SELECTED }),
    });

    const count = mutationCount();
    const again = await cliJson('rounds', 'write-back', '--round', ROUND, '--recheck');
    expect(again.summary).toMatchObject({ done: 3, failed: 0, mutationsSent: 0 });
    expect(mutationCount()).toBe(count);
    expect((await dossierOnDs(SELECTED)).state).toBe('accepte');
  });

  it('the simulator refuses a mutation with the read token, as DS does', async () => {
    const response = await fetch(simulator.graphqlUrl, {
      method: 'POST', headers: { authorization: `Bearer ${READ_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ operationName: 'dossierPasserEnInstruction', query: MUTATION_DOCUMENTS.dossierPasserEnInstruction, variables: { input: { dossierId: 'x', instructeurId: SIMULATOR_INSTRUCTEUR_ID } } }),
    });
    const body = await response.json();
    expect(body.errors[0]).toMatchObject({ message: 'Le jeton utilisé est configuré seulement en lecture', extensions: { code: 'forbidden' } });
  });
});
