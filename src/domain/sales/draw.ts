import { createHash, hash, randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';

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
  return Array.from(finish(sortedDistinct(entrants)));
}

export function entrantListDigest(entrants: Iterable<number>): string {
  return finish(listDigest(finish(sortedDistinct(entrants))));
}

/** The drawn order of `entrants` (any order, duplicates ignored): first element is first in line. */
export function drawOrder(seed: string, entrants: Iterable<number>): number[] {
  return finish(orderSteps(seed, entrants));
}

/**
 * The same order, computed in steps of bounded work with the event loop free between them: a million entrants
 * take seconds of hashing and sorting, and the process drawing keeps answering its requests meanwhile.
 */
export async function drawOrderInSteps(seed: string, entrants: Iterable<number>): Promise<number[]> {
  const steps = orderSteps(seed, entrants);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await setImmediate();
  }
}

/** Entrants per step: a few milliseconds of hashing or sorting. */
const STEP = 4096;
/** The sort's first runs, sorted natively (a millisecond or two each). */
const RUN = 1 << 15;

type Steps<T> = Generator<void, T, void>;

function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

function* orderSteps(seed: string, entrants: Iterable<number>): Steps<number[]> {
  drawCommitment(seed);
  const list = yield* sortedDistinct(entrants);
  const digest = yield* listDigest(list);
  const ticket = (userId: number) => hash('sha256', `${seed}:${digest}:${userId}`, 'buffer');
  // Tickets compare by their first 48 bits (exact in a double); the rare equal prefixes by the whole ticket.
  const head = new Float64Array(list.length);
  const buckets = new Uint32Array(BUCKETS + 1);
  for (let i = 0; i < list.length; i++) {
    head[i] = ticket(list[i] as number).readUIntBE(0, 6);
    buckets[bucketOf(head[i] as number) + 1]++;
    if (i % STEP === STEP - 1) yield;
  }
  // Tickets are uniform, so a bucket by the top 16 bits holds a few entrants, sorted alone.
  for (let b = 0; b < BUCKETS; b++) buckets[b + 1] += buckets[b] as number;
  const next = buckets.slice(0, BUCKETS);
  const places = new Uint32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    places[next[bucketOf(head[i] as number)]++] = i;
    if (i % (8 * STEP) === 0) yield;
  }
  const byTicket = (a: number, b: number): number => {
    const d = (head[a] as number) - (head[b] as number);
    if (d !== 0) return d;
    const full = Buffer.compare(ticket(list[a] as number), ticket(list[b] as number));
    return full !== 0 ? full : (list[a] as number) - (list[b] as number);
  };
  for (let b = 0, done = 0; b < BUCKETS; b++) {
    const from = buckets[b] as number;
    const to = buckets[b + 1] as number;
    if (to - from > 1) places.subarray(from, to).sort(byTicket);
    if (to - done >= STEP) {
      done = to;
      yield;
    }
  }
  const order = new Array<number>(list.length);
  for (let k = 0; k < list.length; k++) {
    order[k] = list[places[k] as number] as number;
    if (k % (8 * STEP) === 0) yield;
  }
  return order;
}

const BUCKETS = 1 << 16;
const bucketOf = (head48: number): number => Math.floor(head48 / 2 ** 32);

/** sha256hex of the list joined by "\n", fed in steps (the same bytes as one string). */
function* listDigest(list: Float64Array): Steps<string> {
  const h = createHash('sha256');
  for (let i = 0; i < list.length; i += STEP) {
    h.update((i === 0 ? '' : '\n') + list.subarray(i, i + STEP).join('\n'), 'utf8');
    yield;
  }
  return h.digest('hex');
}

/** Ascending and distinct: native sorts of short runs, then merges, each step bounded. */
function* sortedDistinct(entrants: Iterable<number>): Steps<Float64Array> {
  let src = Float64Array.from(entrants);
  for (let i = 0; i < src.length; i += RUN) {
    src.subarray(i, i + RUN).sort();
    yield;
  }
  let dst = new Float64Array(src.length);
  for (let width = RUN; width < src.length; width *= 2) {
    for (let lo = 0; lo < src.length; lo += 2 * width) {
      merge(src, dst, lo, Math.min(lo + width, src.length), Math.min(lo + 2 * width, src.length));
      yield;
    }
    [src, dst] = [dst, src];
  }
  let n = 0;
  for (let i = 0; i < src.length; i++) if (n === 0 || src[i] !== src[n - 1]) src[n++] = src[i] as number;
  return src.subarray(0, n);
}

function merge(src: Float64Array, dst: Float64Array, lo: number, mid: number, hi: number): void {
  let i = lo;
  let j = mid;
  for (let k = lo; k < hi; k++)
    dst[k] =
      j >= hi || (i < mid && (src[i] as number) <= (src[j] as number))
        ? (src[i++] as number)
        : (src[j++] as number);
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
