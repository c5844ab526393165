/**
 * aws-ses-v2-local in this process, for tests: SES API v2 on a free port, mails kept in memory
 * and read back with `GET /store`.
 *
 * Its store is a module-level variable: every server started in one process shares it. Vitest
 * runs each test file in its own worker, so files do not see each other's mails; within a file,
 * start one server and clear() between tests rather than starting several.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { createSesClient } from '#adapters/ses/client';

/** A mail as aws-ses-v2-local 2.10 stores it (its `Email` type). */
export interface StoredMail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  attachments: { content: string; contentType: string; filename?: string; size: number }[];
  headers?: { name: string; value: string }[];
  /** Epoch seconds. */
  at: number;
}

export interface SesEngine {
  endpoint: string;
  /** An SESv2 client for this engine (dummy credentials: no AWS account can be reached). */
  client: SESv2Client;
  /** The mails sent so far, oldest first. */
  mails(): Promise<StoredMail[]>;
  clear(): Promise<void>;
  stop(): Promise<void>;
}

export const SES_LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const SES_LOCAL_REGION = 'eu-west-3';

// aws-ses-v2-local is CommonJS with a default export.
const sesServer = (createRequire(import.meta.url)('aws-ses-v2-local') as typeof import('aws-ses-v2-local')).default;

export async function startSesLocal(): Promise<SesEngine> {
  const server: Server = await sesServer({ host: '127.0.0.1', port: 0 });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createSesClient({ endpoint, region: SES_LOCAL_REGION, credentials: SES_LOCAL_CREDENTIALS });

  async function call(method: 'GET' | 'POST', path: string): Promise<unknown> {
    const response = await fetch(`${endpoint}${path}`, { method });
    if (!response.ok) throw new Error(`aws-ses-v2-local ${method} ${path}: HTTP ${response.status}`);
    return response.json();
  }

  return {
    endpoint,
    client,
    async mails() {
      const store = await call('GET', '/store') as { emails: StoredMail[] };
      return store.emails;
    },
    async clear() {
      await call('POST', '/clear-store');
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
