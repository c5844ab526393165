import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ReportStore } from '#core/rounds/ports';

export interface S3ReportStoreOptions {
  client: S3Client;
  bucket: string;
}

/** The prefix of every report: `reports/<round>/selection.json` and `reports/<round>/selection.csv`. */
export const REPORT_KEY_PREFIX = 'reports/';

/** Spreadsheet software (Excel above all) reads a CSV as UTF-8 only when it starts with this. */
const UTF8_BOM = '\uFEFF';

export function reportKeys(roundId: string): { jsonKey: string; csvKey: string } {
  // The id becomes a path segment: nothing that could climb out of the round's folder.
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(roundId)) throw new RangeError(`not a round id: ${JSON.stringify(roundId)}`);
  const folder = `${REPORT_KEY_PREFIX}${roundId}/`;
  return { jsonKey: `${folder}selection.json`, csvKey: `${folder}selection.csv` };
}

/**
 * Writes the selection report of a round to S3, in JSON and CSV. Each object is one PutObject
 * with Content-MD5, so S3 stores exactly these bytes or nothing; writing again replaces both
 * (closing a round twice writes the same report).
 */
export class S3ReportStore implements ReportStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor({ client, bucket }: S3ReportStoreOptions) {
    this.client = client;
    this.bucket = bucket;
  }

  async putReport(roundId: string, report: { json: string; csv: string }): Promise<{ jsonKey: string; csvKey: string }> {
    const keys = reportKeys(roundId);
    const csv = report.csv.startsWith(UTF8_BOM) ? report.csv : `${UTF8_BOM}${report.csv}`;
    await Promise.all([
      this.put(keys.jsonKey, Buffer.from(report.json, 'utf8'), 'application/json; charset=utf-8'),
      this.put(keys.csvKey, Buffer.from(csv, 'utf8'), 'text/csv; charset=utf-8'),
    ]);
    return keys;
  }

  private async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ContentMD5: createHash('md5').update(body).digest('base64'),
    }));
  }
}
