import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '#adapters/dynamodb/table';
import type { RetentionConfig } from '#schemas/retention';

export interface StorageProps {
  readonly removalPolicy: RemovalPolicy;
  /** Days the S3 server access logs are kept. */
  readonly accessLogRetentionDays: number;
  /** schemas/retention-config.json: the lifecycle safety net expires data objects after retention + margin. */
  readonly retention: Pick<RetentionConfig, 'closedRoundRetentionMonths' | 's3SafetyNetMarginMonths'>;
}

/** The bucket prefixes holding personal data: attachments, dossier snapshots, selection reports. */
export const PERSONAL_DATA_PREFIXES = ['attachments/', 'dossiers/', 'reports/'] as const;

/**
 * Days after which the lifecycle safety net expires an object under PERSONAL_DATA_PREFIXES:
 * (retention + margin) months of 31 days, so never before the scheduled purge would have removed
 * it (an object is created at most a few months before its round closes; docs/data-protection.md).
 */
export function safetyNetExpirationDays(retention: StorageProps['retention']): number {
  return (retention.closedRoundRetentionMonths + retention.s3SafetyNetMarginMonths) * 31;
}

/** Days a replaced or deleted object version stays recoverable in the data bucket. */
export const NONCURRENT_VERSION_DAYS = 90;

/**
 * The single DynamoDB table (keys from functions/adapters/dynamodb/table.ts, shared with the
 * adapters and the local runtime) and the data bucket (dossier snapshots under `dossiers/`,
 * attachments under `attachments/`, reports), plus the bucket receiving its access logs.
 */
export class Storage extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;
    const { partitionKey, sortKey, gsi1, gsi2, ttlAttribute } = TABLE_KEYS;
    const string = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: string(partitionKey),
      sortKey: string(sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: ttlAttribute,
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });
    for (const index of [gsi1, gsi2]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: string(index.partitionKey),
        sortKey: string(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // Server access logs cannot be delivered to a KMS (CMK) encrypted bucket: SSE-S3 here. Being
    // the data bucket's log target, it needs no access logs of its own (cdk-nag S1 agrees).
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays) }],
      removalPolicy: props.removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'DataBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Safety net of the data retention rules: whatever the scheduled purge did (a failing
        // function, a dossier outside any round), personal data does not outlive retention +
        // margin. The current version expires (a delete marker), then the noncurrent one after
        // NONCURRENT_VERSION_DAYS, then the marker left alone goes.
        ...PERSONAL_DATA_PREFIXES.flatMap((prefix) => {
          const id = `retention-safety-net-${prefix.replace(/\/$/, '')}`;
          return [
            {
              id,
              prefix,
              expiration: Duration.days(safetyNetExpirationDays(props.retention)),
              noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
            },
            { id: `${id}-delete-markers`, prefix, expiredObjectDeleteMarker: true },
          ];
        }),
      ],
      removalPolicy: props.removalPolicy,
    });
  }
}
