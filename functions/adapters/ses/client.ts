import { SESv2Client } from '@aws-sdk/client-sesv2';
import { clientConfig, type ClientOptions } from '../client-options.ts';

export type SesClientOptions = ClientOptions;

/** The SES (API v2) client the mailer uses, on AWS and on aws-ses-v2-local alike (AWS_ENDPOINT_URL_SESV2). */
export function createSesClient(options: SesClientOptions = {}): SESv2Client {
  return new SESv2Client(clientConfig(options));
}
