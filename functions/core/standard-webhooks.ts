import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Standard Webhooks verification (https://www.standardwebhooks.com), the scheme of DS
 * webhooks v2: `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, the key
 * being the base64 part of the `whsec_` secret. Several signatures (space separated) may come
 * while a secret is rotated, and we may hold several secrets: any match is enough.
 */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface SignedRequest {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The raw body, byte for byte as received. */
  body: Buffer;
}

export type VerificationFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature';

export type Verification = { ok: true } | { ok: false; reason: VerificationFailure };

/**
 * The HMAC key of a `whsec_` secret. The configuration refuses weak secrets before they get
 * here (schemas/env.ts); this refuses an empty key anyway, as the reference library does:
 * with an empty key anyone can sign.
 */
export function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (key.length === 0) throw new RangeError("a Standard Webhooks secret can't be empty");
  return key;
}

/**
 * The HMAC keys of the secrets seen, decoded once: a receiver checks every request against the
 * same one or two secrets. Bounded, in case a caller signs with many.
 */
const hmacKeys = new Map<string, KeyObject>();
const MAX_HMAC_KEYS = 16;

function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(secretKey(secret));
    if (hmacKeys.size >= MAX_HMAC_KEYS) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

export function sign(secret: string, id: string, timestamp: string, body: Buffer): string {
  const hmac = createHmac('sha256', hmacKey(secret));
  hmac.update(`${id}.${timestamp}.`).update(body);
  return `v1,${hmac.digest('base64')}`;
}

/** Constant time for equal lengths; different lengths are not secret (a signature has a fixed length). */
function sameSignature(expected: string, candidate: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(candidate);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifySignedRequest(
  request: SignedRequest, secrets: string[], now: Date, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Verification {
  const { id, timestamp, signature, body } = request;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSeconds) {
    return { ok: false, reason: 'timestamp_out_of_tolerance' };
  }
  const candidates = signature.split(' ').filter((s) => s.startsWith('v1,'));
  const expected = secrets.map((secret) => sign(secret, id, timestamp, body));
  // Compare every pair: no early exit that would tell which secret or position matched.
  let matched = false;
  for (const e of expected) for (const c of candidates) matched = sameSignature(e, c) || matched;
  return matched ? { ok: true } : { ok: false, reason: 'no_matching_signature' };
}

const tokenDigest = (value: string) => createHmac('sha256', 'webhook-token').update(value).digest();
/** The configured token's digest, computed once (it is the same at every request). */
let configuredDigest: { token: string; digest: Buffer } | undefined;

/** Constant-time comparison of a token taken from a URL with the configured one. */
export function sameToken(configured: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  // Hash both so the comparison does not leak the configured token's length either.
  if (configuredDigest?.token !== configured) configuredDigest = { token: configured, digest: tokenDigest(configured) };
  return timingSafeEqual(configuredDigest.digest, tokenDigest(presented));
}
