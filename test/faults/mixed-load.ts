import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

// A bounded, steady load of the seed's mixed flows (token issue and poll, catalog reads, holds,
// top-ups, payments) from a fixed number of virtual users, each request recorded with its outcome.

/** One answered (or unanswered) request. */
export interface Sample {
  /** Seconds since the load started, when the request was sent and when it ended. */
  sentAt: number;
  endedAt: number;
  route: string;
  /** 0 when no answer came (connection refused or reset, or no answer within the client's timeout). */
  status: number;
  code?: string;
  retryAfter?: string;
  /** The transport error, when there was no answer. */
  transport?: string;
}

export interface LoadOptions {
  url: string;
  virtualUsers: number;
  /** Each virtual user plays its own users, so no two users share a key: users first..first + n * usersPerVu - 1. */
  firstUser: number;
  usersPerVu: number;
  schedules: number;
  /** The seed numbers schedules concert by concert: schedule s belongs to concert ceil(s / schedulesPerConcert). */
  schedulesPerConcert: number;
  seatsPerSchedule: number;
  /** Pause between a virtual user's steps, so the load is steady rather than as fast as possible. */
  thinkMs: number;
  /** A request not answered within this is a hang. */
  timeoutMs: number;
}

export interface RunningLoad {
  samples: Sample[];
  /** Seconds since the load started. */
  now(): number;
  /** Stops the virtual users and waits for their last requests. */
  stop(): Promise<void>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const ROUTES = {
  issue: 'POST /api/users/:userId/token',
  poll: 'GET /api/users/:userId/token',
  concerts: 'GET /api/concerts',
  schedules: 'GET /api/concerts/:concertId/schedules',
  seats: 'GET /api/concerts/:concertId/schedules/:scheduleId/seats/available',
  hold: 'POST /api/reservations',
  points: 'GET /api/users/:userId/points',
  charge: 'POST /api/users/:userId/points/charge',
  pay: 'POST /api/payments',
} as const;

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

export function startMixedLoad(opts: LoadOptions): RunningLoad {
  const started = performance.now();
  const now = () => (performance.now() - started) / 1000;
  const samples: Sample[] = [];
  const dispatcher = new Agent({ connections: opts.virtualUsers * 2, pipelining: 1 });
  let running = true;

  async function call(
    route: string,
    method: 'GET' | 'POST',
    path: string,
    key?: string,
    body?: unknown,
  ): Promise<Answer | undefined> {
    const sentAt = now();
    const headers: Record<string, string> = {};
    if (key) headers.authorization = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await request(`${opts.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      const text = await res.body.text();
      const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      const retryAfter = res.headers['retry-after'];
      samples.push({
        sentAt,
        endedAt: now(),
        route,
        status: res.statusCode,
        code: (parsed.error as { code?: string } | undefined)?.code,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      });
      return { status: res.statusCode, body: parsed };
    } catch (err) {
      samples.push({
        sentAt,
        endedAt: now(),
        route,
        status: 0,
        transport: (err as { code?: string }).code ?? (err as Error).message,
      });
      return undefined;
    }
  }

  /** One virtual user: join the line, wait to be admitted, then browse and buy until the slot is gone. */
  async function virtualUser(vu: number): Promise<void> {
    const users = Array.from(
      { length: opts.usersPerVu },
      (_, i) => opts.firstUser + vu * opts.usersPerVu + i,
    );
    let turn = 0;
    let key: string | undefined;
    let admitted = false;
    let userId = users[0];
    let held: string | undefined;
    const pause = (failed: Answer | undefined) =>
      // After a failure, back off a little more (but far less than Retry-After, to probe recovery).
      sleep(failed === undefined || failed.status >= 500 ? opts.thinkMs * 3 : opts.thinkMs);
    while (running) {
      if (!key) {
        userId = users[turn++ % users.length];
        held = undefined;
        const issued = await call(ROUTES.issue, 'POST', `/api/users/${userId}/token`);
        if (issued?.status === 200) {
          key = issued.body.accessKey as string;
          admitted = issued.body.order === 0;
        }
        await pause(issued);
        continue;
      }
      if (!admitted) {
        const polled = await call(ROUTES.poll, 'GET', `/api/users/${userId}/token`, key);
        if (polled?.status === 401 || polled?.status === 403) key = undefined;
        if (polled?.status === 200) admitted = polled.body.order === 0;
        await pause(polled);
        continue;
      }
      const paying = held !== undefined;
      const answer = await admittedStep(userId, key, held);
      // A key that lapsed or was dropped (Redis restarted without persistence) sends the user back in line.
      if (answer && (answer.status === 401 || answer.status === 403)) key = undefined;
      // A payment ends the visit (it frees the slot); a refused one (already paid, expired) ends the hold.
      if (paying && answer?.status === 200) key = undefined;
      if (paying && answer && answer.status < 500) held = undefined;
      if (!paying && answer?.status === 200 && answer.body.status === 'HELD')
        held = answer.body.reservationId as string;
      await pause(answer);
    }
  }

  /** One step of an admitted user, weighted like the seed's mix: browsing outnumbers buying. */
  async function admittedStep(userId: number, key: string, held: string | undefined) {
    if (held) return call(ROUTES.pay, 'POST', '/api/payments', key, { userId, reservationId: held });
    const scheduleId = randomInt(1, opts.schedules);
    const concertId = Math.ceil(scheduleId / opts.schedulesPerConcert);
    const roll = Math.random() * 11;
    if (roll >= 10) return call(ROUTES.poll, 'GET', `/api/users/${userId}/token`, key);
    if (roll < 2) return call(ROUTES.concerts, 'GET', '/api/concerts', key);
    if (roll < 4) return call(ROUTES.schedules, 'GET', `/api/concerts/${concertId}/schedules`, key);
    if (roll < 6)
      return call(
        ROUTES.seats,
        'GET',
        `/api/concerts/${concertId}/schedules/${scheduleId}/seats/available`,
        key,
      );
    if (roll < 7) return call(ROUTES.points, 'GET', `/api/users/${userId}/points`, key);
    if (roll < 8.5)
      return call(ROUTES.charge, 'POST', `/api/users/${userId}/points/charge`, key, {
        amount: randomInt(1, 50) * 1000,
      });
    return call(ROUTES.hold, 'POST', '/api/reservations', key, {
      userId,
      concertScheduleId: scheduleId,
      seatId: randomInt(1, opts.seatsPerSchedule),
    });
  }

  const vus = Array.from({ length: opts.virtualUsers }, (_, vu) => virtualUser(vu));
  return {
    samples,
    now,
    stop: async () => {
      running = false;
      await Promise.all(vus);
      await dispatcher.close();
    },
  };
}
