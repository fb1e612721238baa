import { DomainError } from '../domain/errors.ts';

/** The one table of store failures; Lua scripts return these negative codes. */
export const storeErrors = {
  [-1]: () => new DomainError('TOKEN_INVALID', 'Unknown access key; issue a new token'),
  [-2]: () => new DomainError('TOKEN_NOT_YOURS', 'This access key belongs to another user'),
  [-3]: () =>
    new DomainError('TOKEN_EXPIRED', 'This access key has expired or was replaced; issue a new token'),
} as const;

export type StoreErrorCode = keyof typeof storeErrors;

export function storeError(code: number): DomainError {
  const make = storeErrors[code as StoreErrorCode];
  return make ? make() : new DomainError('INTERNAL', `Unexpected queue store code ${code}`);
}
