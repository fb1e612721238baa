import { randomBytes } from 'node:crypto';

/**
 * 128 random bits, URL-safe: 22 characters. Stores treat keys as opaque strings (the waiting room hands them
 * signed keys, see src/domain/access-key.ts), so store tests give them any unique key.
 */
export const newAccessKey = (): string => randomBytes(16).toString('base64url');
