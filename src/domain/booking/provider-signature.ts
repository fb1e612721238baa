import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors.ts';

/** The header a payment provider's callback carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'ticketrush-signature';

/** HMAC-SHA256 of `<t>.<raw body>` with the shared secret, as lower-case hex. */
export function providerSignature(
  secret: string,
  timestampSeconds: number,
  rawBody: Buffer | string,
): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
}

/** The header value a provider sends for a body signed at `timestampSeconds`. */
export const signatureHeader = (secret: string, timestampSeconds: number, rawBody: Buffer | string): string =>
  `t=${timestampSeconds},v1=${providerSignature(secret, timestampSeconds, rawBody)}`;

const invalid = (why: string) => new DomainError('PROVIDER_SIGNATURE_INVALID', `Provider signature ${why}`);

/**
 * Accepts a callback only when one of its `v1` signatures matches the body (compared in constant time) and its
 * timestamp is within `toleranceSeconds` of now; a replay inside the window is caught by the event id instead.
 */
export function verifyProviderSignature(opts: {
  secret: string;
  header: string | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceSeconds: number;
}): void {
  const parts = (opts.header ?? '').split(',').map((p) => p.trim().split('='));
  const timestamps = parts.filter(([k]) => k === 't').map(([, v]) => v ?? '');
  const signatures = parts.filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? '')).map(([, v]) => v);
  if (timestamps.length !== 1 || !/^\d{1,12}$/.test(timestamps[0] ?? '') || signatures.length === 0)
    throw invalid(`missing or malformed: ${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256>`);
  const timestamp = Number(timestamps[0]);
  if (Math.abs(opts.nowMs / 1000 - timestamp) > opts.toleranceSeconds)
    throw invalid(`timestamp is more than ${opts.toleranceSeconds} s away from now`);
  const expected = Buffer.from(providerSignature(opts.secret, timestamp, opts.rawBody), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s as string, 'hex'), expected));
  if (!matches) throw invalid('does not match the body');
}
