import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { startLocalStack, type RunningLocalStack } from '../../infra/local/local-stack.ts';

// With DS_API_URL and DS_API_TOKEN set, the local stack starts no simulator of its own and
// ingests from the DS it is given (here a standalone simulator, since the real DS is out of reach).
const TOKEN = 'external-ds-token';
let externalDs: DsSimulator;
let stack: RunningLocalStack;
let dataDir: string;

beforeAll(async () => {
  externalDs = await new DsSimulator({ token: TOKEN, seedDir: fileURLToPath(new URL('../../events/dossiers', import.meta.url)) }).start();
  dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-external-ds-'));
  stack = await startLocalStack({
    port: 0, dataDir, env: { DS_API_URL: externalDs.graphqlUrl, DS_API_TOKEN: TOKEN, DS_DEMARCHE_NUMBER: '98765' },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await externalDs?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('local stack with DS_API_URL and DS_API_TOKEN', () => {
  it('uses the given DS and starts no simulator', () => {
    expect(stack.simulator).toBeUndefined();
    expect(stack.outputs.local).toMatchObject({ dsApiUrl: externalDs.graphqlUrl, dsApiToken: TOKEN });
  });

  it('ingests a webhooked dossier from that DS, with its token', async () => {
    const response = await fetch(stack.outputs.LegacyWebhookUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'procedure_id=98765&dossier_id=23456790&state=en_construction&updated_at=2026-03-06%2010%3A02%3A00%20%2B0100',
    });
    expect(response.status).toBe(200);
    const local = stack.outputs.local!;
    const repository = new DynamoDossierRepository({
      client: createDocumentClient({ endpoint: local.endpoints.dynamodb, region: stack.outputs.region, credentials: local.credentials }),
      tableName: stack.outputs.TableName,
    });
    const deadline = Date.now() + 20_000;
    let stored = await repository.get(23456790);
    while (stored?.status !== 'stored' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stored = await repository.get(23456790);
    }
    expect(stored).toMatchObject({ status: 'stored', project: { title: expect.stringMatching(/^Open Transport/) } });
    expect(externalDs.calls.get('getDossier')).toBeGreaterThanOrEqual(1);
    expect(externalDs.calls.get('file')).toBe(2);
  });
});
