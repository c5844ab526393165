import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSyncCursorRepository } from '#adapters/dynamodb/sync-cursor-repository';
import { ENGINES, type RunningEngine } from '../helpers/dynamodb-engines.ts';

const state = (updatedSince: string | undefined, runId: string) => ({
  ...(updatedSince ? { updatedSince } : {}), lastRunAt: '2026-03-10T12:00:00.000Z', lastRunId: runId,
});

describe.each(ENGINES)('DynamoSyncCursorRepository on $name', ({ start }) => {
  let engine: RunningEngine;
  let cursors: DynamoSyncCursorRepository;
  let demarche = 1000;

  beforeAll(async () => {
    engine = await start();
    cursors = new DynamoSyncCursorRepository({ client: engine.client, tableName: engine.tableName });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('creates the cursor at version 1 under SYNC#<demarche> / #CURSOR, and reads it back', async () => {
    const d = ++demarche;
    expect(await cursors.get(d)).toBeUndefined();
    const result = await cursors.save(d, { ...state('2026-03-07T08:00:00.000Z', 'a'), deletedSince: '2026-03-01T00:00:00.000Z' }, 0);
    const expected = {
      demarcheNumber: d, updatedSince: '2026-03-07T08:00:00.000Z', deletedSince: '2026-03-01T00:00:00.000Z',
      lastRunAt: '2026-03-10T12:00:00.000Z', lastRunId: 'a', version: 1,
    };
    expect(result).toEqual({ saved: true, cursor: expected });
    expect(await cursors.get(d)).toEqual(expected);
    const { Item } = await engine.client.send(new GetCommand({ TableName: engine.tableName, Key: { pk: `SYNC#${d}`, sk: '#CURSOR' } }));
    expect(Item).toMatchObject({ type: 'sync_cursor', version: 1 });
  });

  it('updates only from the version read; a stale write gets the current cursor back', async () => {
    const d = ++demarche;
    await cursors.save(d, state('2026-03-07T08:00:00.000Z', 'a'), 0);
    expect(await cursors.save(d, state('2026-03-08T08:00:00.000Z', 'b'), 1)).toMatchObject({ saved: true, cursor: { version: 2, lastRunId: 'b' } });
    const stale = await cursors.save(d, state('2026-03-09T08:00:00.000Z', 'c'), 1);
    expect(stale).toEqual({ saved: false, current: expect.objectContaining({ version: 2, lastRunId: 'b', updatedSince: '2026-03-08T08:00:00.000Z' }) });
    const created = await cursors.save(d, state('2026-03-09T08:00:00.000Z', 'd'), 0);
    expect(created).toMatchObject({ saved: false, current: { version: 2 } });
  });

  it('lets exactly one of two concurrent writers of the same version win', async () => {
    const d = ++demarche;
    await cursors.save(d, state(undefined, 'a'), 0);
    const results = await Promise.all(['x', 'y', 'z'].map((runId) => cursors.save(d, state('2026-03-08T08:00:00.000Z', runId), 1)));
    expect(results.filter((r) => r.saved)).toHaveLength(1);
    expect((await cursors.get(d))?.version).toBe(2);
  });

  it('drops a date it is not given (never stores an empty one) and refuses an unreadable one', async () => {
    const d = ++demarche;
    await cursors.save(d, state(undefined, 'a'), 0);
    expect(await cursors.get(d)).not.toHaveProperty('updatedSince');
    await expect(cursors.save(d, state('', 'b'), 1)).resolves.toMatchObject({ saved: true }); // '' is dropped by state()
    await expect(cursors.save(d, { lastRunAt: '2026-03-10T12:00:00.000Z', lastRunId: 'c', updatedSince: 'yesterday' }, 2)).rejects.toThrow(/updatedSince must be an ISO instant/);
    await expect(cursors.save(d, { lastRunAt: '2026-03-10T12:00:00.000Z', lastRunId: 'c', updatedSince: '' }, 2)).rejects.toThrow(/updatedSince must be an ISO instant/);
  });
});
