/** How one request ended, as counted per endpoint. */
export const OUTCOMES = [
  's2xx',
  's401',
  's403',
  's404',
  's409',
  's429',
  's4xx',
  's5xx',
  'timeout',
  'connError',
] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type OutcomeCounts = Record<Outcome, number>;

export function emptyOutcomes(): OutcomeCounts {
  return { s2xx: 0, s401: 0, s403: 0, s404: 0, s409: 0, s429: 0, s4xx: 0, s5xx: 0, timeout: 0, connError: 0 };
}

export function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 's2xx';
  switch (status) {
    case 401:
      return 's401';
    case 403:
      return 's403';
    case 404:
      return 's404';
    case 409:
      return 's409';
    case 429:
      return 's429';
  }
  if (status >= 500) return 's5xx';
  return 's4xx';
}

/** Error codes the seed's flows expect under contention: outcomes of the business, not failures. */
export const BUSINESS_CODES = new Set([
  'SEAT_ALREADY_RESERVED',
  'SEAT_NOT_AVAILABLE',
  'INSUFFICIENT_POINTS',
  'RESERVATION_EXPIRED',
  'RESERVATION_NOT_HELD',
  'ALREADY_PAID',
  // A sale's crowd joining after it sold out or closed (the answer to "can I still get in").
  'SALE_SOLD_OUT',
  'SALE_CLOSED',
]);

/**
 * A 401 on a flow whose random user id another running flow drew too: one flow's payment, re-issue or
 * leaving ends the other's key, as a second browser tab would see. Counted apart, not as a failure.
 */
export const SHARED_USER_401 = 'SHARED_USER_ID_401';
