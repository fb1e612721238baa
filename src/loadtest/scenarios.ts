import { performance } from 'node:perf_hooks';
import type { Answer, LoadClient } from './client.ts';
import type { Recorder } from './recorder.ts';

export const SCENARIOS = [
  'token',
  'concerts',
  'schedules',
  'seats',
  'reservation',
  'points',
  'payment',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/**
 * `ping` is no seed flow: one GET / per flow, to measure the generator itself (bench/loadgen.ts).
 * `onsale` is the on-sale crowd's purchase flow (onsale.ts), run by `--profile onsale` only.
 */
export type ScenarioChoice = ScenarioName | 'mixed' | 'ping' | 'onsale';

/** Weights of `mixed`: browsing outnumbers buying, as in a real on-sale. */
export const MIXED_WEIGHTS: Record<ScenarioName, number> = {
  token: 2,
  concerts: 2,
  schedules: 2,
  seats: 2,
  reservation: 1,
  points: 1,
  payment: 1,
};

export const ROUTES = {
  issueToken: 'POST /api/users/:userId/token',
  pollToken: 'GET /api/users/:userId/token',
  concerts: 'GET /api/concerts',
  schedules: 'GET /api/concerts/:concertId/schedules',
  schedule: 'GET /api/schedules/:scheduleId',
  seats: 'GET /api/concerts/:concertId/schedules/:scheduleId/seats/available',
  reserve: 'POST /api/reservations',
  points: 'GET /api/users/:userId/points',
  charge: 'POST /api/users/:userId/points/charge',
  pay: 'POST /api/payments',
} as const;

export interface FlowOptions {
  thinkScale: number;
  honorPollHint: boolean;
  /** Bound on queue polls per flow. */
  maxPolls: number;
  /** Schedules 1..N raced for in `reservation` (seed: 5). */
  raceSchedules: number;
  /** Schedules 1..N picked in `payment` (seed: 99,999). */
  paymentSchedules: number;
}

/** What a flow may use: the client, the recorder, and a sleep that ends early when the run stops. */
export interface FlowContext {
  client: LoadClient;
  recorder: Recorder;
  options: FlowOptions;
  /** Resolves to the intended wake-up time (performance ms), or undefined when the run is stopping. */
  sleep(ms: number): Promise<number | undefined>;
  /** Schedule id -> concert id, learned once per worker. */
  concertOfSchedule: Map<number, number>;
  /** The user ids running flows drew (per worker thread). */
  draws: UserDraws;
}

interface Draw {
  userId: number;
  keys: string[];
  shared: boolean;
}

/**
 * The user ids of running flows. The seed's flows draw a random user id each; when two running flows draw
 * the same one, they share its key and slot, and a 401 on either is the other's doing, not the server's.
 */
export class UserDraws {
  readonly #live = new Map<number, Draw[]>();
  readonly #sharedKeys = new Set<string>();

  draw(userId: number): Draw {
    const draw: Draw = { userId, keys: [], shared: false };
    const others = this.#live.get(userId);
    if (others) {
      for (const other of [...others, draw]) this.#share(other);
      others.push(draw);
    } else this.#live.set(userId, [draw]);
    return draw;
  }

  keyIssued(draw: Draw, key: string): void {
    draw.keys.push(key);
    if (draw.shared) this.#sharedKeys.add(key);
  }

  release(draw: Draw): void {
    const others = (this.#live.get(draw.userId) ?? []).filter((d) => d !== draw);
    if (others.length) this.#live.set(draw.userId, others);
    else this.#live.delete(draw.userId);
    for (const key of draw.keys) this.#sharedKeys.delete(key);
  }

  isShared = (key: string): boolean => this.#sharedKeys.has(key);

  #share(draw: Draw): void {
    draw.shared = true;
    for (const key of draw.keys) this.#sharedKeys.add(key);
  }
}

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function pick<T>(items: T[]): T | undefined {
  return items.length ? items[Math.floor(Math.random() * items.length)] : undefined;
}

export function pickScenario(choice: ScenarioChoice): ScenarioName | 'ping' {
  if (choice === 'onsale') throw new Error('the onsale flow is run by onsale.ts, not as a seed flow');
  if (choice !== 'mixed') return choice;
  let total = 0;
  for (const name of SCENARIOS) total += MIXED_WEIGHTS[name];
  let roll = Math.random() * total;
  for (const name of SCENARIOS) {
    roll -= MIXED_WEIGHTS[name];
    if (roll < 0) return name;
  }
  return 'token';
}

interface Session {
  userId: number;
  key: string;
  /** Intended start of the next step. */
  next: number | undefined;
}

/** The seed's think time: a whole number of seconds in [min, max], scaled. */
async function think(ctx: FlowContext, min: number, max: number): Promise<number | undefined> {
  return ctx.sleep(randomInt(min, max) * 1000 * ctx.options.thinkScale);
}

/** Think, then mark when the next step was meant to start; false when the run is stopping. */
async function pause(ctx: FlowContext, s: Session, min: number, max: number): Promise<boolean> {
  s.next = await think(ctx, min, max);
  return s.next !== undefined;
}

async function pauseMs(ctx: FlowContext, s: Session, ms: number): Promise<boolean> {
  s.next = await ctx.sleep(ms);
  return s.next !== undefined;
}

/** Issue a token and poll until admitted; undefined when the flow cannot go on. */
async function admit(ctx: FlowContext, intendedAt: number, draw: Draw): Promise<Session | undefined> {
  const userId = draw.userId;
  const path = `/api/users/${userId}/token`;
  const issued = await ctx.client.call(ROUTES.issueToken, 'POST', path, { body: { userId }, intendedAt });
  const key = issued.json?.accessKey;
  if (!issued.ok || typeof key !== 'string') return undefined;
  ctx.draws.keyIssued(draw, key);
  ctx.recorder.funnel.issued++;
  let state: Answer = issued;
  for (let polls = 0; polls <= ctx.options.maxPolls; polls++) {
    const order = state.json?.order;
    if (order === 0) {
      ctx.recorder.admitted(state.endAt - intendedAt);
      return { userId, key, next: undefined };
    }
    if (typeof order !== 'number' || order < 0 || polls === ctx.options.maxPolls) return undefined;
    const hint = state.json?.pollAfterMs;
    const wait =
      ctx.options.honorPollHint && typeof hint === 'number' && hint >= 0 ? Math.min(hint, 60_000) : 1000;
    const wake = await ctx.sleep(wait);
    if (wake === undefined) return undefined;
    state = await ctx.client.call(ROUTES.pollToken, 'GET', path, { auth: key, intendedAt: wake });
    if (!state.ok) return undefined;
  }
  return undefined;
}

async function listConcerts(ctx: FlowContext, s: Session): Promise<number | undefined> {
  const answer = await ctx.client.call(ROUTES.concerts, 'GET', '/api/concerts', {
    auth: s.key,
    intendedAt: s.next,
  });
  const concerts = answer.json?.concerts;
  if (!answer.ok || !Array.isArray(concerts)) return undefined;
  const concert = pick(concerts);
  return typeof concert?.id === 'number' ? concert.id : undefined;
}

async function listSchedules(ctx: FlowContext, s: Session, concertId: number): Promise<number | undefined> {
  const path = `/api/concerts/${concertId}/schedules`;
  const answer = await ctx.client.call(ROUTES.schedules, 'GET', path, { auth: s.key, intendedAt: s.next });
  const schedules = answer.json?.schedules;
  if (!answer.ok || !Array.isArray(schedules)) return undefined;
  for (const schedule of schedules) {
    if (typeof schedule?.id === 'number') ctx.concertOfSchedule.set(schedule.id, concertId);
  }
  const schedule = pick(schedules);
  return typeof schedule?.id === 'number' ? schedule.id : undefined;
}

async function concertOf(ctx: FlowContext, s: Session, scheduleId: number): Promise<number | undefined> {
  const known = ctx.concertOfSchedule.get(scheduleId);
  if (known !== undefined) return known;
  const answer = await ctx.client.call(ROUTES.schedule, 'GET', `/api/schedules/${scheduleId}`, {
    auth: s.key,
  });
  const concertId = answer.json?.concertId;
  if (!answer.ok || typeof concertId !== 'number') return undefined;
  ctx.concertOfSchedule.set(scheduleId, concertId);
  return concertId;
}

async function listSeats(
  ctx: FlowContext,
  s: Session,
  concertId: number,
  scheduleId: number,
): Promise<number | undefined> {
  const path = `/api/concerts/${concertId}/schedules/${scheduleId}/seats/available`;
  const answer = await ctx.client.call(ROUTES.seats, 'GET', path, { auth: s.key, intendedAt: s.next });
  const seats = answer.json?.seats;
  if (!answer.ok || !Array.isArray(seats)) return undefined;
  const seat = pick(seats);
  return typeof seat?.id === 'number' ? seat.id : undefined;
}

async function reserve(ctx: FlowContext, s: Session, scheduleId: number, seatId: number) {
  const body = { userId: s.userId, concertScheduleId: scheduleId, seatId };
  const answer = await ctx.client.call(ROUTES.reserve, 'POST', '/api/reservations', {
    body,
    auth: s.key,
    intendedAt: s.next,
  });
  const id = answer.json?.reservationId;
  if (!answer.ok || (typeof id !== 'string' && typeof id !== 'number')) return undefined;
  ctx.recorder.funnel.held++;
  return id;
}

/** Browse to a seat of `scheduleId` and hold it, with the seed's 1-2 s choices in between. */
async function browseAndHold(ctx: FlowContext, s: Session, scheduleId: number) {
  await listConcerts(ctx, s);
  if (!(await pause(ctx, s, 1, 2))) return undefined;
  const concertId = await concertOf(ctx, s, scheduleId);
  if (concertId === undefined) return undefined;
  await listSchedules(ctx, s, concertId);
  if (!(await pause(ctx, s, 1, 2))) return undefined;
  const seatId = await listSeats(ctx, s, concertId, scheduleId);
  if (!(await pause(ctx, s, 1, 2)) || seatId === undefined) return undefined;
  return reserve(ctx, s, scheduleId, seatId);
}

/** Runs one flow of `scenario`; true when it reached its end. Never throws on a bad answer. */
export async function runFlow(
  ctx: FlowContext,
  scenario: ScenarioName | 'ping',
  intendedAt: number,
): Promise<boolean> {
  if (scenario === 'ping') return (await ctx.client.call('GET /', 'GET', '/', { intendedAt })).ok;
  const draw = ctx.draws.draw(randomInt(1, 100_000));
  try {
    return await runDrawnFlow(ctx, scenario, intendedAt, draw);
  } finally {
    ctx.draws.release(draw);
  }
}

async function runDrawnFlow(
  ctx: FlowContext,
  scenario: ScenarioName,
  intendedAt: number,
  draw: Draw,
): Promise<boolean> {
  const s = await admit(ctx, intendedAt, draw);
  if (!s) return false;
  switch (scenario) {
    case 'token':
      return true;
    case 'concerts':
      await listConcerts(ctx, s);
      return true;
    case 'schedules': {
      const concertId = await listConcerts(ctx, s);
      if (!(await pause(ctx, s, 1, 5)) || concertId === undefined) return false;
      await listSchedules(ctx, s, concertId);
      return true;
    }
    case 'seats': {
      const concertId = await listConcerts(ctx, s);
      if (!(await pause(ctx, s, 1, 2)) || concertId === undefined) return false;
      const scheduleId = await listSchedules(ctx, s, concertId);
      if (!(await pause(ctx, s, 1, 2)) || scheduleId === undefined) return false;
      await listSeats(ctx, s, concertId, scheduleId);
      return true;
    }
    case 'reservation':
      await browseAndHold(ctx, s, randomInt(1, ctx.options.raceSchedules));
      return true;
    case 'points': {
      const path = `/api/users/${s.userId}/points`;
      await ctx.client.call(ROUTES.points, 'GET', path, { auth: s.key });
      if (!(await pause(ctx, s, 1, 2))) return false;
      const body = { amount: randomInt(1, 100_000) };
      await ctx.client.call(ROUTES.charge, 'POST', `${path}/charge`, {
        body,
        auth: s.key,
        intendedAt: s.next,
      });
      return true;
    }
    case 'payment': {
      const reservationId = await browseAndHold(ctx, s, randomInt(1, ctx.options.paymentSchedules));
      if (Math.random() < 0.5) {
        const path = `/api/users/${s.userId}/points`;
        await ctx.client.call(ROUTES.points, 'GET', path, { auth: s.key });
        if (!(await pauseMs(ctx, s, 1000 * ctx.options.thinkScale))) return false;
        const body = { amount: randomInt(1, 100_000) };
        await ctx.client.call(ROUTES.charge, 'POST', `${path}/charge`, {
          body,
          auth: s.key,
          intendedAt: s.next,
        });
      }
      if (!(await pauseMs(ctx, s, 1000 * ctx.options.thinkScale))) return false;
      if (reservationId === undefined) return true;
      const body = { userId: s.userId, reservationId };
      const paid = await ctx.client.call(ROUTES.pay, 'POST', '/api/payments', {
        body,
        auth: s.key,
        intendedAt: s.next,
      });
      if (paid.ok) ctx.recorder.funnel.paid++;
      return true;
    }
  }
}

export const now = () => performance.now();
