import type { RoundStepDependencies } from '#core/rounds/run-round-step';
import { eligibilityOf } from '#core/eligibility';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundDossiers } from '#adapters/dynamodb/round-dossiers';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { createS3Client } from '#adapters/s3/client';
import { S3ReportStore } from '#adapters/s3/report-store';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer } from '#adapters/ses/mailer';
import type { RoundStepEnv } from '#schemas/round-step-env';
import { ELIGIBILITY_RULES } from './eligibility-config.ts';
import { JURY_CONFIG } from './jury-config.ts';
import { ROUNDS_CONFIG } from './rounds-config.ts';
import { resolveSecret } from './secrets.ts';

/**
 * What run-round-step's use case runs on in a deployment: the table (rounds, reviewers, the
 * round's dossiers), SES for the mails (from MAIL_FROM when the stage sets it), S3 for the
 * reports, and the review links signed with the deployment's secret (read once, at cold start).
 */
export async function roundStepDependencies(env: RoundStepEnv): Promise<RoundStepDependencies> {
  const documentClient = createDocumentClient();
  const config = { ...ROUNDS_CONFIG, mailFrom: env.MAIL_FROM ?? ROUNDS_CONFIG.mailFrom };
  const secret = await resolveSecret(env, 'REVIEW_LINK_SECRET');
  return {
    rounds: new DynamoRoundRepository({ client: documentClient, tableName: env.TABLE_NAME }),
    dossiers: new DynamoRoundDossiers({ dossiers: new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME }) }),
    mailer: new SesMailer({ client: createSesClient(), from: config.mailFrom, configurationSetName: env.SES_CONFIGURATION_SET }),
    reports: new S3ReportStore({ client: createS3Client(), bucket: env.BUCKET_NAME }),
    config,
    clock: { now: () => new Date() },
    reviewLinks: { baseUrl: env.REVIEW_PAGE_URL, secret },
    // The report flags each dossier's eligibility under this deployment's rules (it decides nothing).
    eligibilityOf: (dossier) => eligibilityOf(dossier.project, ELIGIBILITY_RULES),
    jury: JURY_CONFIG,
  };
}
