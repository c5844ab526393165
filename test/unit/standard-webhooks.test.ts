import { describe, expect, it } from 'vitest';
import { sameToken, sign, verifySignedRequest } from '#core/standard-webhooks';
import { readJson } from '../helpers/samples.ts';

// The signed example of ../shared/fixtures/ds/webhook-examples.txt, copied to events/.
const sample = readJson('events/ds-webhook-v2.json');
const SECRET = 'whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=';
const OTHER_SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const at = (seconds: number) => new Date(seconds * 1000);
const request = (patch: Partial<{ id: string; timestamp: string; signature: string; body: Buffer }> = {}) => ({
  id: sample.headers['webhook-id'],
  timestamp: sample.headers['webhook-timestamp'],
  signature: sample.headers['webhook-signature'],
  body: Buffer.from(sample.body),
  ...patch,
});

describe('Standard Webhooks verification', () => {
  it('accepts the DS test vector', () => {
    expect(verifySignedRequest(request(), [SECRET], at(1772716967))).toEqual({ ok: true });
  });

  it('rejects a body changed by one byte', () => {
    const body = Buffer.from(sample.body.replace('23456789', '23456788'));
    expect(verifySignedRequest(request({ body }), [SECRET], at(1772716967))).toEqual({ ok: false, reason: 'no_matching_signature' });
  });

  it('rejects a wrong secret', () => {
    expect(verifySignedRequest(request(), [OTHER_SECRET], at(1772716967)).ok).toBe(false);
  });

  it('allows 5 minutes of clock skew either way, not more', () => {
    expect(verifySignedRequest(request(), [SECRET], at(1772716967 + 300)).ok).toBe(true);
    expect(verifySignedRequest(request(), [SECRET], at(1772716967 - 300)).ok).toBe(true);
    expect(verifySignedRequest(request(), [SECRET], at(1772716967 + 301))).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
  });

  it('rejects missing headers and a non-numeric timestamp', () => {
    expect(verifySignedRequest(request({ signature: undefined as unknown as string }), [SECRET], at(1772716967)).ok).toBe(false);
    expect(verifySignedRequest(request({ timestamp: '17727x' }), [SECRET], at(1772716967))).toEqual({ ok: false, reason: 'bad_timestamp' });
  });

  it('accepts any of several signatures during a rotation, and any of several secrets', () => {
    const old = sign(OTHER_SECRET, request().id, request().timestamp, request().body);
    const both = `${old} ${sample.headers['webhook-signature']}`;
    expect(verifySignedRequest(request({ signature: both }), [SECRET], at(1772716967)).ok).toBe(true);
    expect(verifySignedRequest(request(), [OTHER_SECRET, SECRET], at(1772716967)).ok).toBe(true);
  });

  it('ignores signatures of other schemes', () => {
    const v2 = sample.headers['webhook-signature'].replace('v1,', 'v2,');
    expect(verifySignedRequest(request({ signature: v2 }), [SECRET], at(1772716967)).ok).toBe(false);
  });
});

describe('path token comparison', () => {
  it('matches only the exact token', () => {
    expect(sameToken('8f3c2a7e1d9b4f60', '8f3c2a7e1d9b4f60')).toBe(true);
    expect(sameToken('8f3c2a7e1d9b4f60', '8f3c2a7e1d9b4f6')).toBe(false);
    expect(sameToken('8f3c2a7e1d9b4f60', '8F3C2A7E1D9B4F60')).toBe(false);
    expect(sameToken('8f3c2a7e1d9b4f60', undefined)).toBe(false);
  });
});
