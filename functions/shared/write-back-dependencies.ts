import type { WriteBackDependencies } from '#core/write-back/write-back-decisions';
import { DsMutations } from '#adapters/ds-api/ds-mutations';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundDossiers } from '#adapters/dynamodb/round-dossiers';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { DynamoWriteBackRepository } from '#adapters/dynamodb/write-back-repository';
import type { WriteBackEnv } from '#schemas/write-back';
import { logger } from './powertools.ts';
import { resolveSecret } from './secrets.ts';

/**
 * What write-back-decisions' use case runs on in a deployment: the table (closed rounds, their
 * decisions and dossiers, the WRITEBACK# records) and DS's mutations, signed by the stage's
 * instructeur with the write token (DS_WRITE_TOKEN, its own secret: never the read token).
 */
export async function writeBackDependencies(env: WriteBackEnv): Promise<WriteBackDependencies> {
  const documentClient = createDocumentClient();
  const token = await resolveSecret(env, 'DS_WRITE_TOKEN');
  return {
    rounds: new DynamoRoundRepository({ client: documentClient, tableName: env.TABLE_NAME }),
    dossiers: new DynamoRoundDossiers({ dossiers: new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME }) }),
    store: new DynamoWriteBackRepository({ client: documentClient, tableName: env.TABLE_NAME }),
    ds: new DsMutations({
      url: env.DS_API_URL, token, instructeurId: env.WRITE_BACK_SETTINGS.instructeurId, timeoutMs: env.DS_API_TIMEOUT_SECONDS * 1000,
      onRetry: (notice) => logger.warn('DS call retried', { ...notice }),
    }),
    settings: env.WRITE_BACK_SETTINGS,
    clock: { now: () => new Date() },
  };
}
