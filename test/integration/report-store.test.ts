import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3ReportStore, reportKeys } from '#adapters/s3/report-store';
import { startS3rver, type S3Engine } from '../helpers/s3-engine.ts';

let s3: S3Engine;
let store: S3ReportStore;

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'reports-bucket' });
  store = new S3ReportStore({ client: s3.client, bucket: s3.bucket });
});
afterAll(async () => {
  await s3?.stop();
});

async function stored(key: string): Promise<{ bytes: Buffer; contentType: string | undefined; etag: string | undefined }> {
  const { Body, ContentType, ETag } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return { bytes: Buffer.from(await Body!.transformToByteArray()), contentType: ContentType, etag: ETag };
}

const report = {
  json: JSON.stringify({ round: '2026-05', decisions: [{ dossier: 12, outcome: 'selected', titre: 'Médiation numérique' }] }, null, 2),
  csv: 'rang;dossier;titre;décision\n1;12;Médiation numérique;selected\n',
};

describe('S3ReportStore against s3rver', () => {
  it('writes reports/<round>/selection.json and .csv, the CSV as UTF-8 with a BOM', async () => {
    const keys = await store.putReport('2026-05', report);
    expect(keys).toEqual({ jsonKey: 'reports/2026-05/selection.json', csvKey: 'reports/2026-05/selection.csv' });

    const json = await stored(keys.jsonKey);
    expect(json.bytes.toString('utf8')).toBe(report.json);
    expect(json.contentType).toBe('application/json; charset=utf-8');
    expect(json.etag).toBe(`"${createHash('md5').update(json.bytes).digest('hex')}"`);

    const csv = await stored(keys.csvKey);
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.bytes.subarray(3).toString('utf8')).toBe(report.csv);
    expect(csv.contentType).toBe('text/csv; charset=utf-8');
  });

  it('writes again over the same keys, and never doubles a BOM already there', async () => {
    await store.putReport('2026-07', report);
    const keys = await store.putReport('2026-07', { json: '{"v":2}', csv: `\uFEFF${report.csv}` });
    expect((await stored(keys.jsonKey)).bytes.toString('utf8')).toBe('{"v":2}');
    const csv = await stored(keys.csvKey);
    expect(csv.bytes.subarray(3).toString('utf8')).toBe(report.csv);
    const { ContentLength } = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: keys.csvKey }));
    expect(ContentLength).toBe(Buffer.byteLength(report.csv, 'utf8') + 3);
  });

  it('refuses a round id that could leave its folder', () => {
    expect(() => reportKeys('../2026-05')).toThrow(RangeError);
    expect(() => reportKeys('2026/05')).toThrow(RangeError);
    expect(() => reportKeys('')).toThrow(RangeError);
  });
});
