import { SendEmailCommand, type SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { MailMessage, Mailer } from '#core/rounds/ports';
import { messageTagsOf } from '#core/mail-events/message-tags';

export interface SesMailerOptions {
  client: SESv2Client;
  /** The sender, an SES-verified identity (RoundsConfig.mailFrom). */
  from: string;
  /** Where SES publishes delivery, bounce and complaint events (handle-mail-events reads them). */
  configurationSetName?: string;
}

/** SES errors a later attempt may get past: throttling, quotas per second, SES's own failures. */
const RETRYABLE_ERRORS = new Set([
  'TooManyRequestsException', 'LimitExceededException', 'InternalServiceErrorException', 'ServiceUnavailable', 'ThrottlingException', 'TimeoutError',
]);

/**
 * A failed SendEmail. `name` is the SES error name (`MessageRejected`, `AccountSuspendedException`,
 * `TooManyRequestsException`...) or the network error's name; the message says no more than that
 * and the HTTP status. SES's own message is dropped on purpose: it may quote the recipient's
 * address ("... identities failed the check ...: someone@example.fr"), and errors get logged.
 */
export class SesSendError extends Error {
  /** True when sending the same mail again later may work (throttling, 5xx, network). */
  readonly retryable: boolean;
  readonly statusCode: number | undefined;

  constructor(errorName: string, statusCode: number | undefined, retryable: boolean, requestId: string | undefined) {
    super(`SES SendEmail failed: ${errorName}${statusCode ? ` (HTTP ${statusCode})` : ''}`, {
      cause: { errorName, statusCode, requestId },
    });
    this.name = errorName;
    this.statusCode = statusCode;
    this.retryable = retryable;
  }
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: unknown;
}

function toSendError(error: unknown): SesSendError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' && shape.name !== '' ? shape.name : 'Error';
  // Network errors carry their reason in `code` (ECONNREFUSED, ETIMEDOUT): no personal data there.
  const code = typeof shape.code === 'string' && /^[A-Z0-9_]+$/.test(shape.code) ? shape.code : undefined;
  const statusCode = shape.$metadata?.httpStatusCode;
  const retryable = RETRYABLE_ERRORS.has(name) || shape.$retryable !== undefined
    || (statusCode !== undefined && statusCode >= 500) || (statusCode === undefined && code !== undefined);
  return new SesSendError(code && name === 'Error' ? code : name, statusCode, retryable, shape.$metadata?.requestId);
}

/** Sends mails through SES API v2 (SendEmail, Simple content, UTF-8). */
export class SesMailer implements Mailer {
  private readonly client: SESv2Client;
  private readonly from: string;
  private readonly configurationSetName: string | undefined;

  constructor({ client, from, configurationSetName }: SesMailerOptions) {
    this.client = client;
    this.from = from;
    this.configurationSetName = configurationSetName;
  }

  /** Resolves with SES's MessageId; rejects with SesSendError (never naming the recipient). */
  async send(message: MailMessage): Promise<string> {
    if (message.to.length === 0) throw new RangeError('a mail needs at least one recipient');
    const input: SendEmailCommandInput = {
      FromEmailAddress: this.from,
      Destination: { ToAddresses: message.to },
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.text, Charset: 'UTF-8' },
            ...(message.html !== undefined ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}),
          },
        },
      },
      ...(this.configurationSetName ? { ConfigurationSetName: this.configurationSetName } : {}),
    };
    // Which notification this is (round, reviewer id, key: no personal data): SES returns the tags in its events.
    const tags = message.tags ? messageTagsOf(message.tags) : [];
    if (tags.length > 0) input.EmailTags = tags;
    let messageId: string | undefined;
    try {
      ({ MessageId: messageId } = await this.client.send(new SendEmailCommand(input)));
    } catch (error) {
      throw toSendError(error);
    }
    if (!messageId) throw new SesSendError('MissingMessageId', undefined, false, undefined);
    return messageId;
  }
}
