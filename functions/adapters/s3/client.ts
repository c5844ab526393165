import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, type ClientOptions } from '../client-options.ts';

export type S3ClientOptions = ClientOptions;

/** The endpoint the SDK will use when none is given: the standard AWS variables, S3's first. */
function endpointFromEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * The one S3 client every adapter uses, on AWS and on local engines alike.
 *
 * Checksums only WHEN_REQUIRED: we send Content-MD5 ourselves (DS gives the MD5 of every file,
 * and S3 verifies the whole body against it). The SDK's default since 3.729 would instead
 * re-encode streamed bodies as `aws-chunked` with a trailing CRC32, which s3rver does not
 * understand and stores corrupted (chunk framing included); one data-access code for every
 * engine means the request must look the same to S3 and to s3rver.
 *
 * Path-style addressing whenever an endpoint is configured: local engines serve every bucket
 * on one host (`http://127.0.0.1:4569/bucket/key`), not on `bucket.host` subdomains.
 */
export function createS3Client(options: S3ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = options.endpoint ?? endpointFromEnvironment(env);
  // Local engines ignore the region, but the SDK refuses to sign without one.
  const region = options.region ?? (endpoint && !env.AWS_REGION ? 'us-east-1' : undefined);
  return new S3Client({
    ...clientConfig({ ...options, ...(region ? { region } : {}) }),
    forcePathStyle: endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
