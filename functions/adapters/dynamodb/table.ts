/**
 * The single table: key attribute names and index names, shared by the adapters, the CDK
 * stack and the local runtime so the three can never disagree. docs/data-model.md lists
 * the item types and access patterns.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Dossiers by round and status; rounds by status; assignments and reviews by reviewer. */
  gsi1: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Dossiers by status across rounds (files_pending to retry, invalid to review); reviewers. */
  gsi2: { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  /** Epoch seconds after which DynamoDB may delete the item (webhook dedupe records). */
  ttlAttribute: 'expiresAt',
} as const;

/** CreateTable input for local engines and tests (the CDK stack declares the same keys). */
export function tableDefinition(tableName: string) {
  const { partitionKey, sortKey, gsi1, gsi2 } = TABLE_KEYS;
  const attribute = (name: string) => ({ AttributeName: name, AttributeType: 'S' as const });
  const keys = (hash: string, range: string) => [
    { AttributeName: hash, KeyType: 'HASH' as const },
    { AttributeName: range, KeyType: 'RANGE' as const },
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [partitionKey, sortKey, gsi1.partitionKey, gsi1.sortKey, gsi2.partitionKey, gsi2.sortKey].map(attribute),
    KeySchema: keys(partitionKey, sortKey),
    GlobalSecondaryIndexes: [gsi1, gsi2].map((index) => ({
      IndexName: index.indexName,
      KeySchema: keys(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}
