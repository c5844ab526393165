import { CommanderError } from 'commander';
import { ConfigurationError, DsAuthorizationError } from '#core/errors';
import { ReviewerImportError, RoundPastError } from '#core/rounds/errors';
import { ClosingNotReadyError, RoundStepRefusedError } from '#core/rounds/run-round-step';
import { InvalidCursorError } from '#adapters/dynamodb/dossier-repository';

/**
 * Exit codes scripts can rely on. They are part of the CLI's contract (docs/cli.md, `--help`):
 * never renumber one, only add.
 */
export const EXIT_CODES = {
  ok: 0,
  /** A bug or an error nobody classified: the message says what happened. */
  unexpected: 1,
  /** The stack cannot be reached or is misconfigured: local stack not running, no credentials, no such stage, empty secret. */
  unreachable: 2,
  /** No such dossier, round (never opened, no dossier) or reviewer, or an input file that does not exist. */
  notFound: 3,
  /** Bad command line: unknown command or option, bad value. */
  usage: 4,
  /** Some of the work failed (a file whose MD5 does not match, messages not queued); the rest was done. */
  partialFailure: 5,
  /**
   * Refused: the round is not in the phase the command needs (a step asked too early, a report of an open round, reviews
   * imported into a round not reviewing), a selection not forced closed with reviews missing, a round opened after its period
   * (not forced), a link for an inactive reviewer.
   */
  refused: 6,
} as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  unexpected error
  2  stack unreachable or bad configuration (local stack not running, AWS credentials, stage not found)
  3  not found (no such dossier, empty round, round not opened, no such input file)
  4  invalid usage (unknown command or option, bad value, a reviewer or review file with wrong lines)
  5  partial failure (some files or messages failed; the rest was done)
  6  refused: the round is not in the phase the command needs (a step asked too early, a report
     before the selection is closed), close-selection with reviews missing or before the deadline
     (without --force), open of a round whose period has ended (without --force), a link for an
     inactive reviewer; nothing was changed`;

/** An error the CLI expects, with the exit code it means; its message is shown as is. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
  }
}

export class StackUnreachableError extends CliError {
  override name = 'StackUnreachableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.unreachable, options);
  }
}

export class NotFoundError extends CliError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, EXIT_CODES.notFound);
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT_CODES.usage);
  }
}

export class PartialFailureError extends CliError {
  override name = 'PartialFailureError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.partialFailure, options);
  }
}

/** The round is not in the phase the command needs; nothing was changed. */
export class RefusedError extends CliError {
  override name = 'RefusedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.refused, options);
  }
}

export interface ExplainedError {
  exitCode: ExitCode;
  /** What to print on stderr; undefined when it has been printed already (commander's own messages). */
  message?: string;
}

/** AWS error names that mean "these credentials do not work": renewing them is the fix. */
const REFUSED_CREDENTIALS = new Set([
  'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException',
  'InvalidSignatureException', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'TokenRefreshRequired',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'AuthorizationError']);
/** Node's socket errors when nothing answers at the endpoint. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** The exit code an error means, and what to tell the user about it. */
export function explainError(error: unknown): ExplainedError {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already; `--help` and `--version` exit 0.
    return { exitCode: error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage };
  }
  if (error instanceof InvalidCursorError) return { exitCode: EXIT_CODES.usage, message: error.message };
  if (error instanceof ReviewerImportError) return { exitCode: EXIT_CODES.usage, message: error.message };
  if (error instanceof ClosingNotReadyError) {
    return { exitCode: EXIT_CODES.refused, message: `refused: ${error.message}; --force closes it anyway` };
  }
  if (error instanceof RoundPastError) return { exitCode: EXIT_CODES.refused, message: `refused: ${error.message} (--force)` };
  if (error instanceof RoundStepRefusedError) return { exitCode: EXIT_CODES.refused, message: `refused: ${error.message}` };
  if (error instanceof ConfigurationError || error instanceof DsAuthorizationError) {
    return { exitCode: EXIT_CODES.unreachable, message: error.message };
  }
  const aws = explainAwsError(error);
  if (aws) return { exitCode: EXIT_CODES.unreachable, message: aws };
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_CODES.unexpected, message: `unexpected error: ${name}: ${message}` };
}

/** A message for the AWS SDK and network errors that mean "cannot reach the stack"; undefined for others. */
function explainAwsError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'CredentialsProviderError' || /could not load credentials/i.test(error.message)) {
    return 'no AWS credentials found: log in (aws sso login --profile NAME) and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (/region is missing/i.test(error.message)) {
    return 'no AWS region: pass --region (e.g. --region eu-west-3) or set AWS_REGION';
  }
  if (REFUSED_CREDENTIALS.has(error.name)) {
    return `AWS refused the credentials (${error.name}): renew them (aws sso login) and retry`;
  }
  if (ACCESS_DENIED.has(error.name)) {
    return `AWS denied access (${error.name}): ${error.message}`;
  }
  const code = networkCode(error);
  if (code && UNREACHABLE_CODES.has(code)) {
    return `cannot reach the stack (${code}${hostOf(error)}): if it is the local stack, restart it with \`npm start\``;
  }
  return undefined;
}

function networkCode(error: Error): string | undefined {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof cause === 'string' ? cause : undefined;
}

function hostOf(error: Error): string {
  const { address, port } = error as { address?: unknown; port?: unknown };
  return typeof address === 'string' ? ` at ${address}${typeof port === 'number' ? `:${port}` : ''}` : '';
}
