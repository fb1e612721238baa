import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ErrorCode, isTransient } from '../../src/domain/errors.ts';
import { httpStatusOf } from '../../src/http/errors.ts';

describe('error codes', () => {
  const codes: Record<ErrorCode, true> = {
    VALIDATION_FAILED: true,
    NOT_FOUND: true,
    CONCERT_NOT_FOUND: true,
    SCHEDULE_NOT_FOUND: true,
    SEAT_NOT_FOUND: true,
    USER_NOT_FOUND: true,
    SEAT_ALREADY_RESERVED: true,
    HOLD_LIMIT_REACHED: true,
    RESERVATION_NOT_FOUND: true,
    RESERVATION_EXPIRED: true,
    NOT_RESERVATION_OWNER: true,
    RESERVATION_NOT_HELD: true,
    INSUFFICIENT_POINTS: true,
    TOP_UP_REQUIRES_PROVIDER: true,
    PROVIDER_SIGNATURE_INVALID: true,
    PROVIDER_EVENT_MISMATCH: true,
    ALREADY_PAID: true,
    IDEMPOTENCY_KEY_REUSED: true,
    IDEMPOTENCY_IN_PROGRESS: true,
    TOKEN_MISSING: true,
    TOKEN_INVALID: true,
    TOKEN_EXPIRED: true,
    TOKEN_NOT_YOURS: true,
    NOT_ADMITTED: true,
    IDENTITY_REQUIRED: true,
    IDENTITY_INVALID: true,
    IDENTITY_NOT_THIS_USER: true,
    IDENTITY_UNAVAILABLE: true,
    RATE_LIMITED: true,
    OPERATOR_KEY_REQUIRED: true,
    OPERATOR_KEY_INVALID: true,
    OPERATOR_KEY_REVOKED: true,
    OPERATOR_KEY_NAME_TAKEN: true,
    OPERATOR_KEY_NOT_FOUND: true,
    SECTION_NOT_FOUND: true,
    SEAT_IN_USE: true,
    SEAT_MAP_INVALID: true,
    SEAT_MAP_NOT_EDITABLE: true,
    SALE_NOT_FOUND: true,
    SALE_SOLD_OUT: true,
    SALE_CLOSED: true,
    SCHEDULE_NOT_IN_SALE: true,
    QUEUE_FULL: true,
    BUSY: true,
    OVERLOADED: true,
    DATABASE_UNAVAILABLE: true,
    QUEUE_UNAVAILABLE: true,
    CONFLICT_RETRY_EXHAUSTED: true,
    INTERNAL: true,
  };

  test('the codes the domain calls transient (never stored for replay) are exactly the 5xx answers', () => {
    for (const code of Object.keys(codes) as ErrorCode[])
      assert.equal(isTransient(code), httpStatusOf(code) >= 500, code);
  });
});
