import { Type } from 'typebox';

/** Shared TypeBox pieces: ids are positive 32-bit-safe integers, so huge or negative ids are a 400. */
export const MAX_ID = 2_147_483_647;
/** How an id is written in a path or query: no sign, leading zeros, spaces, exponent or fraction. */
const ID_PATTERN = '^[1-9][0-9]*$';
export const Id = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_ID, pattern: ID_PATTERN, description });

/**
 * A value or null as one JSON type list rather than a union: fast-json-stringify writes a type list directly, but for
 * a union (anyOf) it runs an Ajv validator on every response, compiled on the first one (about 20 ms of a cold
 * process's first burst, measured on the token routes).
 */
export const NullableInteger = (description?: string) =>
  Type.Unsafe<number | null>({ type: ['integer', 'null'], ...(description && { description }) });
export const NullableString = (description?: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], ...(description && { description }) });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'ErrorResponse' },
);

/** Responses every route may give, referenced so OpenAPI lists them. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  422: ErrorResponse,
  503: ErrorResponse,
};

/** OpenAPI security of every route behind the admission gate: an admitted access key. */
export const accessKeySecurity: Array<Record<string, string[]>> = [{ accessKey: [] }];
