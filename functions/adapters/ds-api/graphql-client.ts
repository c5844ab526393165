import type * as z from 'zod';
import { DsAuthorizationError, DsUnavailableError } from '#core/errors';
import type { DsApi, FetchedDossier } from '#core/ports';
import type { GraphqlError } from '#schemas/ds-dossier';
import { GRAPHQL_INT_MAX } from '#schemas/ds-webhook';
import {
  DeletedDossiersAnswerSchema,
  PendingDeletedDossiersAnswerSchema,
  DemarcheDossiersAnswerSchema,
  DossierAnswerSchema,
  GraphqlResponseSchema,
  type DeletedDossier,
  type DossierSummary,
  type Page,
} from '#schemas/ds-api';
import {
  GET_DELETED_DOSSIERS_QUERY, GET_DEMARCHE_DOSSIERS_QUERY, GET_DOSSIER_QUERY, GET_PENDING_DELETED_DOSSIERS_QUERY,
} from './dossier-query.ts';
import type { RequestPacer } from './request-pacer.ts';

/**
 * The DS GraphQL API v2 client: Bearer token, one timeout per attempt, retries with
 * exponential backoff and full jitter on what a later attempt may fix (HTTP 429 and 5xx,
 * network errors, timeouts, GraphQL `timeout` / `internal_server_error`). DS's rate limiter
 * (400 requests a minute per token) answers 429 with `RateLimit-Reset`, not `Retry-After`:
 * either is waited for in full when it fits `maxDelayMs`, and beyond it the client gives up at
 * once with a DsRateLimitedError carrying the delay, so the caller can requeue for that long.
 * With a `pacer` (request-pacer.ts), every HTTP request waits for its token first, retries
 * included, so that a 429 stays the exception instead of the way the pace is found.
 * GraphQL errors are classified by `extensions.code` and `path` (classifyGraphqlError), not by
 * HTTP status: DS answers 200 to a document that fails validation, and a nested `unauthorized`
 * (a linked dossier of another démarche) is not a bad token.
 * Never puts the token or a response body in an error: bodies carry personal data.
 */

/**
 * DS answered something this client cannot use: HTTP 400 (our query is wrong), another 4xx,
 * a redirect, a body that is not the JSON we expect. The same request will fail the same way,
 * so it is not retried: a developer must look.
 */
export class DsProtocolError extends Error {
  override name = 'DsProtocolError';
}

/** How far apart the retries that waited for the same `RateLimit-Reset` are spread. */
const RATE_LIMIT_SPREAD_MS = 1000;

/**
 * DS asked us to wait (429 `RateLimit-Reset`, or `Retry-After`) longer than this client may
 * wait (`maxDelayMs`, the caller's time budget), or still did after the last attempt. Retrying
 * sooner only meets another 429: requeue the work for at least `retryAfterMs`.
 */
export class DsRateLimitedError extends DsUnavailableError {
  override name = 'DsRateLimitedError';
  constructor(message: string, readonly retryAfterMs: number, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface RetryNotice {
  operationName: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  /** e.g. `HTTP 429`, `timeout after 35000 ms`; never personal data. */
  reason: string;
}

export interface DsGraphqlClientOptions {
  /** The GraphQL endpoint, e.g. https://demarche.numerique.gouv.fr/api/v2/graphql */
  url: string;
  token: string;
  /** Per attempt, body included. DS abandons a query after 30 s. */
  timeoutMs?: number;
  /** Attempts per request, the first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  /**
   * The longest single wait (the caller's time budget for one): backoff is capped at it, and a
   * longer `RateLimit-Reset` / `Retry-After` makes the request fail with DsRateLimitedError.
   */
  maxDelayMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  userAgent?: string;
  /** For tests: the jitter source (default Math.random) and the clock used for HTTP-date Retry-After. */
  random?: () => number;
  now?: () => number;
  /** Called before each wait, so a caller can log retries (the notice holds no personal data). */
  onRetry?: (notice: RetryNotice) => void;
  /**
   * Taken before every HTTP request (each attempt, retries included); usually the token's
   * `sharedPacer`, so every client of the token in this process spends one budget. None: unpaced.
   */
  pacer?: RequestPacer;
}

export interface GraphqlAnswer<T> {
  data: T | null;
  /** GraphQL errors DS returned that the client did not act on itself (see `request`). */
  errors: GraphqlError[];
  /**
   * Nested `unauthorized` errors: an object inside the answer (a linked dossier) belongs to a
   * démarche the token cannot read. DS left it null and sent the rest; the token is fine.
   */
  hidden: GraphqlError[];
}

/**
 * What a GraphQL error means for us, from its `extensions.code` and `path`:
 * - `token`: `forbidden`, or `unauthorized` on the root field (the token cannot read what we asked);
 * - `hidden`: `unauthorized` below the root field while the root object came back: one nested
 *   object was hidden (DossierLinkChamp.dossier of another démarche), the rest is good;
 * - `not_found`: `not_found` on the root field (`dossier(number)` is non-null: DS answers `data: null`);
 * - `transient`: `timeout`, `internal_server_error`: a later attempt may pass;
 * - `invalid_request`: the document or its variables failed validation (graphql-ruby answers
 *   them with HTTP 200, no `data` key, codes like `undefinedField`): our bug, never retried;
 * - `other`: anything else (`invalid_null`, `bad_request`, a nested `not_found`...).
 */
export type GraphqlErrorClass = 'token' | 'hidden' | 'not_found' | 'transient' | 'invalid_request' | 'other';

/** The answer around an error: whether DS sent a `data` key at all, and whether the root field came back. */
export interface AnswerShape {
  dataPresent: boolean;
  rootPresent: (rootField: string) => boolean;
}

const VALIDATION_CODES = new Set([
  'graphql_parse_failed', 'graphql_parse_error', 'undefinedField', 'undefinedType', 'selectionMismatch',
  'argumentNotAccepted', 'argumentLiteralsIncompatible', 'missingRequiredArguments', 'variableMismatch',
  'variableNotUsed', 'variableNotDefined', 'fragmentNotUsed', 'undefinedFragment', 'fragmentTypeConditionNotExist',
  'fragmentDoesNotMatchType', 'fieldsWillMerge', 'uniquelyNamedOperations', 'validation_failed',
]);

export function classifyGraphqlError(error: GraphqlError, shape: AnswerShape): GraphqlErrorClass {
  const code = codeOf(error);
  const path = error.path;
  const onRoot = path === undefined || path.length <= 1;
  if (TRANSIENT_CODES.has(code)) return 'transient';
  if (code === 'forbidden') return 'token';
  if (code === 'unauthorized') {
    return !onRoot && shape.rootPresent(String(path![0])) ? 'hidden' : 'token';
  }
  if (code === 'not_found') return onRoot ? 'not_found' : 'other';
  // Validation happens before execution: graphql-ruby then sends no `data` at all.
  if (VALIDATION_CODES.has(code) || !shape.dataPresent) return 'invalid_request';
  return 'other';
}

export interface ListUpdatedDossiersInput {
  demarche: number;
  /** Inclusive: DS returns dossiers with `updated_at >= updatedSince`. */
  updatedSince?: Date | string;
  after?: string;
  /** At most 100 (DS's cap and default). */
  first?: number;
}

export interface ListDeletedDossiersInput {
  demarche: number;
  deletedSince?: Date | string;
  after?: string;
}

type AttemptOutcome =
  | { kind: 'answer'; answer: GraphqlAnswer<unknown> }
  | { kind: 'transient'; reason: string; retryAfterMs?: number; cause: unknown };

const TRANSIENT_CODES = new Set(['timeout', 'internal_server_error']);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DsGraphqlClient implements DsApi {
  private readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly userAgent: string;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly onRetry: ((notice: RetryNotice) => void) | undefined;
  private readonly pacer: RequestPacer | undefined;

  constructor(options: DsGraphqlClientOptions) {
    this.url = options.url;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 35_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => fetchImpl(input, init);
    this.sleep = options.sleep ?? defaultSleep;
    this.userAgent = options.userAgent ?? 'ds-selection';
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.onRetry = options.onRetry;
    this.pacer = options.pacer;
  }

  /**
   * Sends one GraphQL operation, retrying what may pass later. Throws DsAuthorizationError on
   * HTTP 401/403 and GraphQL `unauthorized` / `forbidden`, DsUnavailableError once the attempts
   * are spent, DsProtocolError on an answer no retry can fix. Other GraphQL errors (`not_found`,
   * `bad_request`, ...) are returned for the caller to judge, with whatever `data` came along.
   */
  async request<T>(query: string, variables: Record<string, unknown>, operationName: string): Promise<GraphqlAnswer<T>> {
    const body = JSON.stringify({ query, variables, operationName });
    let lastFailure: Extract<AttemptOutcome, { kind: 'transient' }> | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const outcome = await this.attempt(body, operationName);
      if (outcome.kind === 'answer') return outcome.answer as GraphqlAnswer<T>;
      lastFailure = outcome;
      const { retryAfterMs } = outcome;
      // DS said how long to wait: sooner only meets another 429. Beyond our budget, or after
      // the last attempt, hand the delay to the caller (the queue can wait; a Lambda cannot).
      if (retryAfterMs !== undefined && (retryAfterMs > this.maxDelayMs || attempt === this.maxAttempts)) {
        throw new DsRateLimitedError(
          `DS GraphQL ${operationName}: ${outcome.reason}, DS asks to wait ${Math.ceil(retryAfterMs / 1000)} s `
            + `(attempt ${attempt} of ${this.maxAttempts}, at most ${this.maxDelayMs} ms waited here): try again later`,
          retryAfterMs,
          { cause: outcome.cause },
        );
      }
      if (attempt < this.maxAttempts) {
        const delayMs = this.delayBeforeRetry(attempt, retryAfterMs);
        this.onRetry?.({ operationName, attempt, delayMs, reason: outcome.reason });
        await this.sleep(delayMs);
      }
    }
    throw new DsUnavailableError(
      `DS GraphQL ${operationName}: no usable answer after ${this.maxAttempts} attempts (last: ${lastFailure?.reason})`,
      { cause: lastFailure?.cause },
    );
  }

  /**
   * `dossier(number)`. `found: false` on DS's root `not_found`. A linked dossier DS hid (nested
   * `unauthorized`) comes back as DS left it, null in its DossierLinkChamp, with the dossier:
   * interpretDossier notes it. Any other GraphQL error fails the fetch.
   */
  async fetchDossier(number: number): Promise<FetchedDossier> {
    assertGraphqlInt(number, 'dossier number');
    const { data, errors } = await this.request<unknown>(GET_DOSSIER_QUERY, { number }, 'getDossier');
    // Only the root field's not_found: a nested one is some other object missing, not the dossier.
    if (errors.some((error) => codeOf(error) === 'not_found' && (error.path ?? []).length <= 1)) return { found: false };
    if (errors.length > 0) throw unexpectedErrors('getDossier', errors);
    const { dossier } = parseAnswer(DossierAnswerSchema, data, 'getDossier');
    return dossier === null ? { found: false } : { found: true, dossier };
  }

  /** One page of the démarche's dossiers changed since `updatedSince`; follow `pageInfo.endCursor`. */
  async listUpdatedDossiers(input: ListUpdatedDossiersInput): Promise<Page<DossierSummary>> {
    assertGraphqlInt(input.demarche, 'démarche number');
    const variables = {
      demarche: input.demarche,
      updatedSince: toIsoString(input.updatedSince),
      after: input.after,
      first: input.first,
    };
    const answer = await this.expectAnswer(DemarcheDossiersAnswerSchema, GET_DEMARCHE_DOSSIERS_QUERY, variables, 'getDemarcheDossiers');
    return answer.demarche.dossiers;
  }

  /** One page of the démarche's dossiers deleted since `deletedSince`. */
  async listDeletedDossiers(input: ListDeletedDossiersInput): Promise<Page<DeletedDossier>> {
    assertGraphqlInt(input.demarche, 'démarche number');
    const variables = { demarche: input.demarche, deletedSince: toIsoString(input.deletedSince), after: input.after };
    const answer = await this.expectAnswer(DeletedDossiersAnswerSchema, GET_DELETED_DOSSIERS_QUERY, variables, 'getDeletedDossiers');
    return answer.demarche.deletedDossiers;
  }

  /**
   * One page of the démarche's dossiers put in DS's bin since `deletedSince` (hidden by the
   * applicant or the administration, deleted for good later): `dossier(number)` no longer
   * returns them, and `deletedDossiers` lists them only once the bin is emptied.
   */
  async listPendingDeletedDossiers(input: ListDeletedDossiersInput): Promise<Page<DeletedDossier>> {
    assertGraphqlInt(input.demarche, 'démarche number');
    const variables = { demarche: input.demarche, deletedSince: toIsoString(input.deletedSince), after: input.after };
    const answer = await this.expectAnswer(
      PendingDeletedDossiersAnswerSchema, GET_PENDING_DELETED_DOSSIERS_QUERY, variables, 'getPendingDeletedDossiers',
    );
    return answer.demarche.pendingDeletedDossiers;
  }

  /** A request whose every GraphQL error is a failure, and whose data must match `schema`. */
  private async expectAnswer<S extends z.ZodType>(schema: S, query: string, variables: Record<string, unknown>, operationName: string): Promise<z.infer<S>> {
    const { data, errors, hidden } = await this.request<unknown>(query, variables, operationName);
    if (errors.length + hidden.length > 0) throw unexpectedErrors(operationName, [...errors, ...hidden]);
    return parseAnswer(schema, data, operationName);
  }

  private async attempt(body: string, operationName: string): Promise<AttemptOutcome> {
    // Before the timeout starts: waiting for a token is not DS being slow.
    await this.pacer?.take();
    let response: Response;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${this.token}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'User-Agent': this.userAgent,
        },
        body,
        // Covers the body too: a server that sends headers then stalls is cut as well.
        signal: AbortSignal.timeout(this.timeoutMs),
        // A redirected POST would be replayed as a GET (and lose its Authorization header on
        // another host): report it instead, so DS_API_URL gets fixed.
        redirect: 'manual',
      });
    } catch (error) {
      return this.transportFailure(error);
    }
    return this.readResponse(response, operationName);
  }

  private async readResponse(response: Response, operationName: string): Promise<AttemptOutcome> {
    const { status } = response;
    if (status === 401 || status === 403) {
      // DS answers JSON here (403 `forbidden`: no valid token, or an IP outside its networks;
      // 401 `unauthorized`: the token expired); its message names no dossier content.
      const refusal = errorsInBody(await readText(response))[0];
      const what = refusal ? `HTTP ${status} ${codeOf(refusal)}: ${truncate(refusal.message, 120)}` : `HTTP ${status}`;
      throw authorizationError(operationName, what, status === 401);
    }
    if (status === 429 || status >= 500) {
      // DS answers 429 in plain text ("Calm down, cowboy!"): only the headers matter.
      await discardBody(response);
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), this.now())
        ?? parseRateLimitResetMs(response.headers.get('ratelimit-reset'), this.now());
      return { kind: 'transient', reason: `HTTP ${status}`, retryAfterMs, cause: new Error(`HTTP ${status}`) };
    }
    if (status >= 300 && status < 400) {
      await discardBody(response);
      throw new DsProtocolError(
        `DS answered ${operationName} with a redirect (HTTP ${status} to ${hostOf(response.headers.get('location'))}): set DS_API_URL to the current GraphQL endpoint`,
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return this.transportFailure(error);
    }
    if (status < 200 || status >= 300) {
      throw new DsProtocolError(`DS refused ${operationName} (HTTP ${status})${describeErrors(errorsInBody(text))}`);
    }
    return this.interpretGraphqlBody(text, status, operationName);
  }

  private interpretGraphqlBody(text: string, status: number, operationName: string): AttemptOutcome {
    const json = parseJson(text);
    const envelope = GraphqlResponseSchema.safeParse(json);
    if (!envelope.success) {
      throw new DsProtocolError(`DS answered ${operationName} with a body that is not a GraphQL JSON answer (HTTP ${status}, ${text.length} characters)`);
    }
    const errors = envelope.data.errors ?? [];
    const data = envelope.data.data ?? null;
    const shape: AnswerShape = {
      dataPresent: typeof json === 'object' && json !== null && 'data' in json,
      rootPresent: (field) => data !== null && data[field] !== null && data[field] !== undefined,
    };
    const classes = errors.map((error) => classifyGraphqlError(error, shape));
    const token = errors.find((_, i) => classes[i] === 'token');
    if (token) throw authorizationError(operationName, `GraphQL ${codeOf(token)}${whereOf(token)}`);
    const invalid = errors.filter((_, i) => classes[i] === 'invalid_request');
    if (invalid.length > 0) {
      throw new DsProtocolError(`DS refused the ${operationName} document (HTTP ${status}, not retried: fix the query)${describeErrors(invalid)}`);
    }
    if (classes.includes('transient')) {
      const reason = `GraphQL ${errors.map(codeOf).join(', ')}`;
      return { kind: 'transient', reason, cause: new Error(`${reason}${describeErrors(errors)}`) };
    }
    return {
      kind: 'answer',
      answer: { data, errors: errors.filter((_, i) => classes[i] !== 'hidden'), hidden: errors.filter((_, i) => classes[i] === 'hidden') },
    };
  }

  private transportFailure(error: unknown): AttemptOutcome {
    const reason = isTimeout(error) ? `timeout after ${this.timeoutMs} ms` : `network error (${networkErrorCode(error)})`;
    return { kind: 'transient', reason, cause: error };
  }

  /**
   * DS's delay when it sent one (`request` checked it fits), spread by up to a second so that the
   * requests a 429 stopped together do not all come back at the reset instant and meet another
   * 429; otherwise exponential backoff with full jitter.
   */
  private delayBeforeRetry(failedAttempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(this.maxDelayMs, retryAfterMs + Math.round(this.random() * RATE_LIMIT_SPREAD_MS));
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failedAttempt - 1));
    return Math.round(this.random() * ceiling);
  }
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * `RateLimit-Reset` in milliseconds: what DS's rate limiter sends with a 429 instead of
 * `Retry-After`. The IETF draft says delta-seconds; some servers send the reset instant in epoch
 * seconds, told apart by size (no window lasts 30 years). Undefined when absent or unreadable.
 */
export function parseRateLimitResetMs(value: string | null, nowMs: number): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed || !/^\d+$/.test(trimmed)) return undefined;
  const seconds = Number(trimmed);
  return seconds > 1_000_000_000 ? Math.max(0, seconds * 1000 - nowMs) : seconds * 1000;
}

function authorizationError(operationName: string, what: string, expired = false): DsAuthorizationError {
  const why = expired
    ? 'the API token has expired (DS tokens last at most a year): create a new one and set DS_API_TOKEN'
    : 'the API token is invalid or expired, does not cover this démarche or dossier, or is not allowed from this '
      + 'source IP (DS tokens may be restricted to some IPs). Renew or fix DS_API_TOKEN, or the egress IP';
  return new DsAuthorizationError(`DS refused ${operationName} (${what}): ${why}; retrying will not help.`);
}

/**
 * DS numbers are GraphQL `Int` (32-bit): DS refuses a bigger variable with a validation error,
 * so such a number can never be a dossier or a démarche. Refused here, before any request.
 */
export function assertGraphqlInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1 || value > GRAPHQL_INT_MAX) {
    throw new DsProtocolError(`${what} ${value} is out of range: DS numbers are GraphQL Int, from 1 to ${GRAPHQL_INT_MAX}`);
  }
}

function unexpectedErrors(operationName: string, errors: GraphqlError[]): DsUnavailableError {
  return new DsUnavailableError(`DS answered ${operationName} with GraphQL errors${describeErrors(errors)}`);
}

/** Validates the `data` of an answer; issues are reported by path only (values may be personal data). */
function parseAnswer<S extends z.ZodType>(schema: S, data: unknown, operationName: string): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`);
  throw new DsProtocolError(`DS answered ${operationName} in an unexpected shape (${issues.join('; ')})`);
}

const codeOf = (error: GraphqlError): string => error.extensions?.code ?? 'no_code';

const whereOf = (error: GraphqlError): string => (error.path ? ` at ${error.path.join('.')}` : '');

/** `: code at path: message; ...` DS's error messages name types and fields, not dossier content. */
function describeErrors(errors: GraphqlError[]): string {
  if (errors.length === 0) return '';
  const described = errors.slice(0, 5).map((error) => `${codeOf(error)}${whereOf(error)}: ${truncate(error.message, 160)}`);
  return `: ${described.join('; ')}`;
}

/** The GraphQL errors of a refused request's body, if it has any (HTTP 400 carries parse errors). */
function errorsInBody(text: string): GraphqlError[] {
  const parsed = GraphqlResponseSchema.safeParse(parseJson(text));
  return parsed.success ? (parsed.data.errors ?? []) : [];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to free if the stream is already gone.
  }
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError');
}

/** `ECONNRESET`, `UND_ERR_SOCKET`, ...: what failed, without the URL or headers. */
function networkErrorCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
}

function hostOf(location: string | null): string {
  if (!location) return 'an unspecified location';
  try {
    return new URL(location).host;
  } catch {
    return 'an unreadable location';
  }
}

function toIsoString(value: Date | string | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
