import { SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';

export interface SesClientOptions {
  /**
   * Only for tests and the local runtime. Everywhere else leave it out: the SDK reads the
   * standard AWS_ENDPOINT_URL_SESV2 (or AWS_ENDPOINT_URL) variable itself, so no branch is needed here.
   */
  endpoint?: string;
  region?: string;
  /** Only for local engines (dummy keys, so no real AWS account can ever be reached). */
  credentials?: SESv2ClientConfig['credentials'];
}

/** The SES (API v2) client the mailer uses, on AWS and on aws-ses-v2-local alike. */
export function createSesClient(options: SesClientOptions = {}): SESv2Client {
  return new SESv2Client({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}
