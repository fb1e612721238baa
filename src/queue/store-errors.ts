import { DomainError } from '../domain/errors.ts';

/** A full line drains at the admission rate: a newcomer is told to come back in about this long. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

/** The one table of store failures; Lua scripts return these negative codes. */
export const storeErrors = {
  [-1]: () => new DomainError('TOKEN_INVALID', 'Unknown access key; issue a new token'),
  [-2]: () => new DomainError('TOKEN_NOT_YOURS', 'This access key belongs to another user'),
  [-3]: () =>
    new DomainError('TOKEN_EXPIRED', 'This access key has expired or was replaced; issue a new token'),
  [-4]: () =>
    new DomainError('QUEUE_FULL', 'The waiting line is full; try again later', {
      retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_SECONDS,
    }),
} as const;

export type StoreErrorCode = keyof typeof storeErrors;

export function storeError(code: number): DomainError {
  const make = storeErrors[code as StoreErrorCode];
  return make ? make() : new DomainError('INTERNAL', `Unexpected queue store code ${code}`);
}
