import {
  DeleteObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, type ListObjectVersionsCommandOutput, type S3Client,
} from '@aws-sdk/client-s3';
import type { PurgeObjectStore } from '#core/retention/ports';

/**
 * Deletes whole prefixes of the data bucket, every version: the bucket is versioned, and a
 * DeleteObject without a version id only adds a delete marker (the bytes would stay, recoverable,
 * until the noncurrent-version lifecycle rule). So each version and delete marker is deleted by
 * its id (s3:ListBucketVersions, s3:DeleteObjectVersion: the purge function's whole S3 grant).
 *
 * An engine without versioning (s3rver, the local mode and the tests) refuses the versions
 * listing: there every object is its only version, so the current objects are listed and deleted.
 * The switch follows the engine's answer, not where the code runs.
 */

/** Only these prefixes may be purged: a bug passing '' or 'attachments' must not empty the bucket. */
const PURGEABLE = /^(attachments|dossiers)\/[1-9][0-9]*\/$|^reports\/[A-Za-z0-9][A-Za-z0-9_-]*\/$/;
const DELETE_CONCURRENCY = 8;
/** S3's answers when it has no versioning API (s3rver: 405 MethodNotAllowed). */
const NO_VERSIONING = new Set(['MethodNotAllowed', 'NotImplemented']);

interface ObjectVersion { key: string; versionId?: string }

export class S3PurgeStore implements PurgeObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor({ client, bucket }: { client: S3Client; bucket: string }) {
    this.client = client;
    this.bucket = bucket;
  }

  async deletePrefix(prefix: string, dryRun: boolean): Promise<number> {
    if (!PURGEABLE.test(prefix)) throw new RangeError(`refusing to purge ${JSON.stringify(prefix)}: only attachments/<n>/, dossiers/<n>/ and reports/<round>/`);
    let total = 0;
    // Listing and deleting page by page: a page's objects are gone before the next is asked for.
    for await (const page of this.versions(prefix)) {
      total += page.length;
      if (!dryRun) await this.deleteAll(page);
    }
    return total;
  }

  private async *versions(prefix: string): AsyncGenerator<ObjectVersion[]> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      let page: ListObjectVersionsCommandOutput;
      try {
        page = await this.client.send(new ListObjectVersionsCommand({
          Bucket: this.bucket, Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
        }));
      } catch (error) {
        if (keyMarker === undefined && error instanceof Error && NO_VERSIONING.has(error.name)) {
          yield* this.currentObjects(prefix);
          return;
        }
        throw error;
      }
      const found = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((entry) => entry.Key)
        .map((entry) => ({ key: entry.Key!, ...(entry.VersionId ? { versionId: entry.VersionId } : {}) }));
      if (found.length > 0) yield found;
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
  }

  private async *currentObjects(prefix: string): AsyncGenerator<ObjectVersion[]> {
    // The continuation token names the last key listed: deleting what came before it is safe.
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      const found = (page.Contents ?? []).filter((entry) => entry.Key).map((entry) => ({ key: entry.Key! }));
      if (found.length > 0) yield found;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteAll(objects: ObjectVersion[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < objects.length) {
        const object = objects[next++]!;
        await this.client.send(new DeleteObjectCommand({
          Bucket: this.bucket, Key: object.key, ...(object.versionId ? { VersionId: object.versionId } : {}),
        }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, objects.length) }, worker));
  }
}
