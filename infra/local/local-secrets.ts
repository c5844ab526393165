import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_RULES } from '#schemas/env';

/**
 * The secrets of the local stack: taken from the environment when set, else generated once
 * and kept in DATA_DIR, so the webhook URL printed at start-up stays the same across restarts.
 */
export interface LocalSecrets {
  webhookToken: string;
  webhookV2Secret: string;
  /** The token the built-in DS simulator expects. */
  simulatorToken: string;
  /** The simulator's token with write access (write-back, DS_WRITE_BACK=1): a token of its own, as on DS. */
  simulatorWriteToken: string;
  /** The key that signs reviewers' review links (REVIEW_LINK_SECRET). */
  reviewLinkSecret: string;
}

export const LOCAL_SECRETS_FILE = 'local-secrets.json';

/** The variable each secret is given to the handlers as, and checked by (schemas/env.ts SECRET_RULES). */
const VARIABLES = { webhookToken: 'WEBHOOK_TOKEN', webhookV2Secret: 'DS_WEBHOOK_V2_SECRET', reviewLinkSecret: 'REVIEW_LINK_SECRET' } as const;

export async function loadLocalSecrets(dataDir: string, env: NodeJS.ProcessEnv): Promise<LocalSecrets> {
  const file = join(dataDir, LOCAL_SECRETS_FILE);
  const stored: Partial<LocalSecrets> = await readFile(file, 'utf8').then(JSON.parse, () => ({}));
  const secrets: LocalSecrets = {
    webhookToken: env.WEBHOOK_TOKEN || stored.webhookToken || randomBytes(24).toString('hex'),
    webhookV2Secret: env.DS_WEBHOOK_V2_SECRET || stored.webhookV2Secret || `whsec_${randomBytes(32).toString('base64')}`,
    simulatorToken: stored.simulatorToken || randomBytes(24).toString('base64url'),
    simulatorWriteToken: stored.simulatorWriteToken || randomBytes(24).toString('base64url'),
    // Kept across restarts: a new key would break the links already mailed.
    reviewLinkSecret: env.REVIEW_LINK_SECRET || stored.reviewLinkSecret || randomBytes(32).toString('base64url'),
  };
  // The handlers check these at load; a stored value edited by hand would fail there with a
  // stack trace: say here which one and where, never the value. Nothing is regenerated silently.
  for (const [key, variable] of Object.entries(VARIABLES) as [keyof typeof VARIABLES, string][]) {
    const problem = SECRET_RULES[variable]!.safeParse(secrets[key]);
    if (!problem.success) {
      const from = env[variable] ? `the environment variable ${variable}` : `"${key}" in ${file} (delete that line to generate a new one)`;
      throw new Error(`${from}: ${problem.error.issues.map((issue) => issue.message).join('; ')}`);
    }
  }
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  // `mode` applies only when the file is created: an existing file keeps looser permissions.
  await chmod(file, 0o600);
  return secrets;
}
