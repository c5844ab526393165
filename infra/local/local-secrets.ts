import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The secrets of the local stack: taken from the environment when set, else generated once
 * and kept in DATA_DIR, so the webhook URL printed at start-up stays the same across restarts.
 */
export interface LocalSecrets {
  webhookToken: string;
  webhookV2Secret: string;
  /** The token the built-in DS simulator expects. */
  simulatorToken: string;
  /** The key that signs reviewers' review links (REVIEW_LINK_SECRET). */
  reviewLinkSecret: string;
}

export async function loadLocalSecrets(dataDir: string, env: NodeJS.ProcessEnv): Promise<LocalSecrets> {
  const file = join(dataDir, 'local-secrets.json');
  const stored: Partial<LocalSecrets> = await readFile(file, 'utf8').then(JSON.parse, () => ({}));
  const secrets: LocalSecrets = {
    webhookToken: env.WEBHOOK_TOKEN || stored.webhookToken || randomBytes(24).toString('hex'),
    webhookV2Secret: env.DS_WEBHOOK_V2_SECRET || stored.webhookV2Secret || `whsec_${randomBytes(32).toString('base64')}`,
    simulatorToken: stored.simulatorToken || randomBytes(24).toString('base64url'),
    // Kept across restarts: a new key would break the links already mailed.
    reviewLinkSecret: env.REVIEW_LINK_SECRET || stored.reviewLinkSecret || randomBytes(32).toString('base64url'),
  };
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
