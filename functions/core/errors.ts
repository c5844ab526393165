/** Errors of the domain, each with an `Error` suffix and a `cause` that carries data, never personal data. */

/** DS refused our token (unauthorized / forbidden / expired): an operator must act, retrying will not help. */
export class DsAuthorizationError extends Error {
  override name = 'DsAuthorizationError';
}

/** DS or the network failed in a way a later retry may fix (5xx, 429, timeout, partial answer). */
export class DsUnavailableError extends Error {
  override name = 'DsUnavailableError';
}

/** A file could not be archived this time (expired URL, size or checksum mismatch, network): fetch it again later. */
export class FileFetchError extends Error {
  override name = 'FileFetchError';
  constructor(message: string, readonly reason: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Configuration that cannot work: raised at start-up, before any event is handled. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** A scheduled run's input is not what the schedule sends. */
export class InvalidScheduleEventError extends Error {
  override name = 'InvalidScheduleEventError';
}

/** One or more démarches could not be reconciled (their cursor did not move; the next run retries). */
export class ReconcileFailedError extends Error {
  override name = 'ReconcileFailedError';
}
