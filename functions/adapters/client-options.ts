/**
 * What every SDK client factory of the adapters accepts. Only tests, the local runtime and the
 * CLI set these: elsewhere the SDK reads the standard AWS_ENDPOINT_URL_<SERVICE> (then
 * AWS_ENDPOINT_URL) variable, the region and the credentials itself, so no adapter branches on
 * where it runs.
 */
export interface ClientOptions {
  endpoint?: string;
  region?: string;
  /** Only for local engines (dummy keys, so no real AWS account can ever be reached). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The options actually given, for an SDK client's constructor. */
export function clientConfig(options: ClientOptions): ClientOptions {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}
