import { RECONCILE_DS_RETRIES, type ReconcileDependencies } from '#core/reconcile';
import { DsGraphqlClient } from '#adapters/ds-api/graphql-client';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoSyncCursorRepository } from '#adapters/dynamodb/sync-cursor-repository';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import type { ReconcileEnv } from '#schemas/reconcile-env';
import { logger } from './powertools.ts';
import { resolveSecret } from './secrets.ts';

/**
 * What reconcile-dossiers' use case runs on in a deployment: DS's listings (read token, retried
 * as RECONCILE_DS_RETRIES says, which the run's time reserve counts on), the ingest queue, the
 * per-démarche cursors and the dossiers' status index.
 */
export async function reconcileDependencies(env: ReconcileEnv): Promise<ReconcileDependencies> {
  const documentClient = createDocumentClient();
  const token = await resolveSecret(env, 'DS_API_TOKEN');
  return {
    ds: new DsGraphqlClient({
      url: env.DS_API_URL, token, timeoutMs: env.DS_API_TIMEOUT_SECONDS * 1000, ...RECONCILE_DS_RETRIES,
      onRetry: (notice) => logger.warn('DS call retried', { ...notice }),
    }),
    queue: new SqsIngestQueue({ client: createSqsClient(), queueUrl: env.INGEST_QUEUE_URL }),
    cursors: new DynamoSyncCursorRepository({ client: documentClient, tableName: env.TABLE_NAME }),
    dossiers: new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME }),
    clock: { now: () => new Date() },
  };
}
