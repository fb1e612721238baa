import { createHash, randomBytes } from 'node:crypto';

/**
 * The verifiable draw that orders a sale's pre-queue at its opening.
 *
 * When the sale is created the server publishes `commitment = sha256hex(seed)`, where `seed` is 64 lowercase hex
 * characters (hashed as its ASCII text, so `printf %s SEED | sha256sum` checks it). At the opening it reveals
 * `seed`. With `entrants` the distinct user ids in the pre-queue at the opening:
 *
 *   listDigest = sha256hex(entrants sorted ascending, as decimal numbers, joined by "\n")
 *   ticket(u)  = sha256hex(seed + ":" + listDigest + ":" + u)
 *   order      = entrants sorted by ticket ascending (ties, which sha256 makes impossible in practice, by id)
 *
 * Anyone holding the published commitment, seed and entrant list recomputes the order (`ticketrush
 * verify-draw`). The list digest makes every ticket depend on the whole list, so adding or removing one entrant
 * reorders everybody: nobody, the operator included, can place a known entrant by choosing the list late.
 */

export const SEED_PATTERN = /^[0-9a-f]{64}$/;

const sha256hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A fresh secret seed: 256 random bits as 64 lowercase hex characters. */
export const newDrawSeed = (): string => randomBytes(32).toString('hex');

/** What the sale publishes before anyone joins: the seed's sha256, hex. */
export function drawCommitment(seed: string): string {
  if (!SEED_PATTERN.test(seed)) throw new RangeError('a draw seed is 64 lowercase hex characters');
  return sha256hex(seed);
}

/** The entrants as the draw sees them: distinct, ascending. */
export function canonicalEntrants(entrants: Iterable<number>): number[] {
  return [...new Set(entrants)].sort((a, b) => a - b);
}

export function entrantListDigest(entrants: Iterable<number>): string {
  return sha256hex(canonicalEntrants(entrants).join('\n'));
}

/** The drawn order of `entrants` (any order, duplicates ignored): first element is first in line. */
export function drawOrder(seed: string, entrants: Iterable<number>): number[] {
  drawCommitment(seed);
  const list = canonicalEntrants(entrants);
  const digest = sha256hex(list.join('\n'));
  const tickets = list.map((userId) => ({ userId, ticket: sha256hex(`${seed}:${digest}:${userId}`) }));
  tickets.sort((a, b) => (a.ticket < b.ticket ? -1 : a.ticket > b.ticket ? 1 : a.userId - b.userId));
  return tickets.map((t) => t.userId);
}

/** What a sale publishes once drawn; verify-draw takes exactly this. */
export interface PublishedDraw {
  commitment: string;
  seed: string;
  entrants: number[];
  order: number[];
}

export type DrawCheck = { ok: true } | { ok: false; reason: string };

/** Checks a published draw: the seed matches the commitment and the order is the one the seed gives. */
export function verifyDraw(published: PublishedDraw): DrawCheck {
  if (!SEED_PATTERN.test(published.seed))
    return { ok: false, reason: 'the seed is not 64 lowercase hex characters' };
  if (drawCommitment(published.seed) !== published.commitment)
    return { ok: false, reason: 'sha256(seed) differs from the commitment published before the sale' };
  const expected = drawOrder(published.seed, published.entrants);
  if (expected.length !== published.order.length)
    return {
      ok: false,
      reason: `the order has ${published.order.length} users, the entrant list ${expected.length}`,
    };
  const at = expected.findIndex((userId, i) => published.order[i] !== userId);
  if (at >= 0)
    return {
      ok: false,
      reason: `place ${at + 1} should be user ${expected[at]}, the published order has user ${published.order[at]}`,
    };
  return { ok: true };
}
