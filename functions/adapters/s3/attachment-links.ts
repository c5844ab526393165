import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AttachmentRef } from '#core/dossier';

/**
 * Short-lived download links to archived attachments (the review page redirects to them): a
 * presigned GetObject, so the files never pass through the function. The link names the file and
 * its type, so a PDF opens in the browser under its own name.
 */

export interface S3AttachmentLinksOptions {
  client: S3Client;
  bucket: string;
  /** At most 15 minutes: a link leaked from a browser history stops working soon. */
  expiresInSeconds?: number;
}

export const MAX_LINK_SECONDS = 15 * 60;

/**
 * Types a browser may display in place. Anything else (HTML, SVG, ...) is served as a download:
 * a file's type is what the uploader's browser claimed, and a page rendered from it would run on
 * the storage origin.
 */
const INLINE_TYPES = /^(application\/pdf|image\/(png|jpeg|gif|webp)|text\/plain)(\s*;.*)?$/i;
const MIME_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[\w .+-]*"|[\w.+-]+))*$/;

/** RFC 6266 / RFC 8187: `filename*=UTF-8''<percent-encoded>`, safe for any name. */
export function contentDisposition(filename: string, contentType: string): string {
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${INLINE_TYPES.test(contentType) ? 'inline' : 'attachment'}; filename*=UTF-8''${encoded}`;
}

export class S3AttachmentLinks {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly expiresIn: number;

  constructor({ client, bucket, expiresInSeconds = MAX_LINK_SECONDS }: S3AttachmentLinksOptions) {
    if (!(expiresInSeconds > 0 && expiresInSeconds <= MAX_LINK_SECONDS)) throw new RangeError(`a link lasts 1 to ${MAX_LINK_SECONDS} seconds`);
    this.client = client;
    this.bucket = bucket;
    this.expiresIn = expiresInSeconds;
  }

  async downloadUrl(file: Pick<AttachmentRef, 'key' | 'filename' | 'contentType'>): Promise<string> {
    const contentType = MIME_TYPE.test(file.contentType) ? file.contentType : 'application/octet-stream';
    return getSignedUrl(this.client, new GetObjectCommand({
      Bucket: this.bucket,
      Key: file.key,
      ResponseContentType: contentType,
      ResponseContentDisposition: contentDisposition(file.filename, contentType),
    }), { expiresIn: this.expiresIn });
  }
}
