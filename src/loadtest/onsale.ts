import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Answer, LoadClient } from './client.ts';
import { FlowMetrics } from './flow-metrics.ts';
import { ROUTES, randomInt } from './scenarios.ts';
import { TimerWheel } from './timer-wheel.ts';
import type { OnsalePlan } from './worker-plan.ts';
import { epochNow, type WorkerRun } from './worker-run.ts';

type Step = 'issue' | 'poll' | 'concerts' | 'schedules' | 'seats' | 'hold' | 'points' | 'charge' | 'pay';

/**
 * One fan of the on-sale crowd as plain state: while it sleeps it is an object in a timer-wheel slot,
 * with no promise, closure or timer of its own.
 */
interface Fan {
  userId: number;
  /** When it was meant to join (performance ms): time to admission counts from here. */
  joinedAt: number;
  step: Step;
  /** When the next request is meant to start (performance ms): latency counts from here. */
  due: number;
  key: string;
  /** The first etaSeconds told (-1: none yet) and when the answer carrying it arrived. */
  etaS: number;
  toldAt: number;
  /** The place in line that first ETA came with. */
  toldPos: number;
  /** When the first answer that said "wait" in line (not pre-queued) arrived; -1: none yet. */
  firstWaitAt: number;
  /** When the last answer that still said "wait" arrived. */
  lastWaitingAt: number;
  polls: number;
  scheduleId: number;
  concertId: number;
  seatId: number;
  reservationId: string | number;
  price: number;
  /** Points to charge before paying: the price less the balance. */
  topUp: number;
  schedulesTried: number;
  holdsTried: number;
  /** Requests retried after a 503 or 429 with Retry-After. */
  retries: number;
  /** With --idempotency-keys: the key of the write step under way ('' between steps). */
  writeKey: string;
}

/** Leaving the line: not a seed route, so not among the seed's ROUTES. */
const LEAVE_ROUTE = 'DELETE /api/users/:userId/token';
/** A sale's own line (--sale-opens-in): the sales API's fan routes. */
const SALE_ROUTES = {
  issueToken: 'POST /api/sales/:saleId/users/:userId/token',
  pollToken: 'GET /api/sales/:saleId/users/:userId/token',
  leave: 'DELETE /api/sales/:saleId/users/:userId/token',
};
/** A sale's answers that end the wait: no seat will come. */
const TERMINAL_STATUSES = new Set(['SOLD_OUT', 'CLOSED']);
const SALE_OVER_CODES = new Set(['SALE_SOLD_OUT', 'SALE_CLOSED']);

/** Codes a sale answers with once a schedule has no seat left (the seats list may also just be empty). */
const SOLD_OUT_CODES = new Set(['SOLD_OUT', 'SCHEDULE_SOLD_OUT']);
const SEAT_LOST_CODES = new Set(['SEAT_ALREADY_RESERVED', 'SEAT_NOT_AVAILABLE']);
/** A fan tries this many schedules, and this many seats of one, before giving up. */
const MAX_SCHEDULES_TRIED = 3;
const MAX_HOLDS_TRIED = 3;
/**
 * A schedule found without a free seat is skipped for this long, then looked at again: held seats come back
 * when their holder does not pay, and a sale is SOLD_OUT only once none is free or held.
 */
const RECHECK_FULL_MS = 15_000;
/** A fan retries this many refused requests (503 or 429 with Retry-After), polls aside, before giving up. */
const MAX_RETRIES = 5;

const codeOf = (a: Answer): string | undefined => {
  const code = a.json?.error?.code;
  return typeof code === 'string' ? code : undefined;
};

/** A failed answer as the result's abortedBy counts it: 'poll 401 TOKEN_EXPIRED', 'pay cut'. */
const answerText = (step: string, a: Answer): string =>
  a.cut ? `${step} cut` : `${step} ${a.status || 'no answer'}${codeOf(a) ? ` ${codeOf(a)}` : ''}`;

/**
 * `--profile onsale`: users 1..N (this worker every `workerCount`-th) join evenly within the window, poll at
 * `pollAfterMs`, and every admitted user buys a seat of the sale's schedules with the seed's think times.
 */
export class OnsaleArrivals {
  readonly metrics: FlowMetrics;
  private readonly run: WorkerRun;
  private readonly client: LoadClient;
  private readonly sale: OnsalePlan;
  private readonly wheel = new TimerWheel<Fan>((fan) => this.wake(fan));
  /** Sale schedule id -> when a fan last found it without a free seat (performance ms). */
  private readonly soldOut = new Map<number, number>();
  private readonly concertOfSchedule = new Map<number, number>();
  private sampler: NodeJS.Timeout | undefined;
  private whenSettled: (() => void) | undefined;
  private closed = false;

  constructor(run: WorkerRun, client: LoadClient) {
    this.run = run;
    this.client = client;
    this.sale = run.plan.onsale as OnsalePlan;
    this.metrics = new FlowMetrics(run.plan.startAtEpochMs);
  }

  async ramp(): Promise<void> {
    const { run, sale } = this;
    const { workerIndex, workerCount } = run.plan;
    this.sampler = setInterval(() => {
      this.metrics.sample(epochNow());
      if (run.halted && this.wheel.size) this.wheel.flush();
    }, 1000);
    let burst = 0;
    for (let userId = workerIndex + 1; userId <= sale.users && !run.stopping; userId += workerCount) {
      const due = run.origin + ((userId - 1) * sale.joinMs) / sale.users;
      const wait = due - performance.now();
      if (wait > 1) {
        if ((await run.sleep(wait)) === undefined) break;
      } else if (++burst % 256 === 0) await new Promise((r) => setImmediate(r)); // let answers in
      if (run.stopping) break;
      if (run.recorder.requests >= run.plan.maxRequests) run.halt('request-cap');
      else this.join(userId, due);
    }
    // Measured when the last user joined, or when a halt ended the joining: never left at zero.
    this.metrics.measureLive();
  }

  inFlight(): number {
    return this.run.active;
  }

  settled(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.whenSettled = resolve;
    });
    if (this.run.active === 0) this.whenSettled?.();
    return done.finally(() => this.close());
  }

  /** Stops the sampler and the wheel (once): after the flows settled, or when the run is cut. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sampler);
    this.wheel.stop();
    this.metrics.sample(epochNow());
  }

  private join(userId: number, due: number): void {
    const { run } = this;
    run.active++;
    this.metrics.vusNow++;
    run.recorder.vus = Math.max(run.recorder.vus, run.active);
    run.recorder.funnel.started++;
    const fan: Fan = {
      userId,
      joinedAt: due,
      step: 'poll',
      due,
      key: '',
      etaS: -1,
      toldAt: 0,
      firstWaitAt: -1,
      toldPos: 0,
      lastWaitingAt: 0,
      polls: 0,
      scheduleId: 0,
      concertId: 0,
      seatId: 0,
      reservationId: 0,
      price: 0,
      topUp: 0,
      schedulesTried: 0,
      holdsTried: 0,
      retries: 0,
      writeKey: '',
    };
    this.guarded(fan, this.issue(fan));
  }

  private wake(fan: Fan): void {
    if (this.run.halted) this.end(fan, 'aborted', 'run halted');
    else this.guarded(fan, this.act(fan));
  }

  /** A bug in a step must not end the run: the fan is counted aborted. */
  private guarded(fan: Fan, step: Promise<void>): void {
    step.catch(() => this.end(fan, 'aborted', 'runner bug'));
  }

  private sleep(fan: Fan, step: Step, ms: number): void {
    fan.step = step;
    fan.due = performance.now() + ms;
    this.wheel.at(fan.due, fan);
  }

  /** The seed's think time: whole seconds in [min, max], scaled. */
  private think(fan: Fan, step: Step, min: number, max: number): void {
    this.sleep(fan, step, randomInt(min, max) * 1000 * this.run.plan.flow.thinkScale);
  }

  /** `why`: for an aborted flow, what ended it (counted in the result's abortedBy). */
  private end(fan: Fan, how: 'completed' | 'aborted', why = ''): void {
    const { run } = this;
    if (fan.step === 'poll') this.metrics.waitingNow -= fan.key ? 1 : 0;
    if (how === 'completed') run.recorder.flowCompleted(epochNow());
    else {
      run.recorder.funnel.aborted++;
      this.metrics.aborted(why || fan.step);
    }
    fan.step = 'pay'; // no longer waiting, whatever comes
    fan.key = '';
    run.active--;
    run.recorder.vus = run.active;
    this.metrics.vusNow--;
    if (run.active === 0 && run.stopping) this.whenSettled?.();
  }

  /** The seed's token route, or the sale's when the run created one. */
  private tokenPath(userId: number): string {
    const sale = this.sale.sale;
    return sale ? `/api/sales/${sale.saleId}/users/${userId}/token` : `/api/users/${userId}/token`;
  }

  private async issue(fan: Fan): Promise<void> {
    const path = this.tokenPath(fan.userId);
    const body = { userId: fan.userId };
    const route = this.sale.sale ? SALE_ROUTES.issueToken : ROUTES.issueToken;
    const a = await this.client.call(route, 'POST', path, { body, intendedAt: fan.due });
    const key = a.json?.accessKey;
    const code = codeOf(a);
    if (code && SALE_OVER_CODES.has(code)) {
      if (code === 'SALE_SOLD_OUT') this.metrics.saleSoldOut(epochNow());
      this.metrics.turnedAway();
      return this.end(fan, 'completed');
    }
    if (!a.ok || typeof key !== 'string') return this.refused(fan, a, 'issue');
    this.run.recorder.funnel.issued++;
    fan.key = key;
    this.metrics.waitingNow++;
    this.queueAnswer(fan, a);
  }

  /** An answer of the waiting room: admitted, or wait as it advises. */
  private queueAnswer(fan: Fan, a: Answer): void {
    const order = a.json?.order;
    const eta = a.json?.etaSeconds;
    const status = a.json?.status;
    if (order === 0) {
      this.metrics.waitingNow--;
      this.run.recorder.admitted(a.endAt - fan.joinedAt);
      if (fan.etaS < 0 && fan.firstWaitAt >= 0) this.metrics.admittedUntold();
      if (fan.etaS >= 0) {
        // Admission happened between the last "wait" answer and this one: both bounds, from the told answer.
        this.metrics.etaSample(
          fan.etaS,
          (fan.lastWaitingAt - fan.toldAt) / 1000,
          (a.endAt - fan.toldAt) / 1000,
          performance.timeOrigin + fan.joinedAt,
          fan.toldPos,
          performance.timeOrigin + fan.toldAt,
        );
      }
      fan.step = 'concerts';
      fan.due = a.endAt;
      this.guarded(fan, this.act(fan));
      return;
    }
    if (typeof order !== 'number' || order < 0 || fan.polls >= this.run.plan.flow.maxPolls) {
      this.end(fan, 'aborted', typeof order === 'number' && order >= 0 ? 'poll limit' : 'poll without order');
      return;
    }
    if (typeof status === 'string' && TERMINAL_STATUSES.has(status)) {
      if (status === 'SOLD_OUT') this.metrics.saleSoldOut(epochNow());
      this.metrics.endedInLine(fan.etaS >= 0);
      this.end(fan, 'completed');
      return;
    }
    // A pre-queue's etaSeconds counts down to the opening; the first forecast of admission comes after the draw.
    if (status !== 'PREQUEUE' && fan.firstWaitAt < 0) fan.firstWaitAt = a.endAt;
    if (fan.etaS < 0 && typeof eta === 'number' && eta >= 0 && status !== 'PREQUEUE') {
      fan.etaS = eta;
      fan.toldAt = a.endAt;
      fan.toldPos = typeof order === 'number' ? order : 0;
      // Answers in line without an ETA came first (ESTIMATING: the sale's session was still being measured).
      if (a.endAt > fan.firstWaitAt) this.metrics.toldLate((a.endAt - fan.firstWaitAt) / 1000);
    }
    fan.lastWaitingAt = a.endAt;
    const hint = a.json?.pollAfterMs;
    this.sleep(fan, 'poll', typeof hint === 'number' && hint >= 0 ? Math.min(hint, 60_000) : 1000);
  }

  private async act(fan: Fan): Promise<void> {
    switch (fan.step) {
      case 'issue':
        return this.issue(fan);
      case 'poll':
        return this.poll(fan);
      case 'concerts':
        return this.concerts(fan);
      case 'schedules':
        return this.schedules(fan);
      case 'seats':
        return this.seats(fan);
      case 'hold':
        return this.hold(fan);
      case 'points':
        return this.points(fan);
      case 'charge':
        return this.charge(fan);
      case 'pay':
        return this.pay(fan);
    }
  }

  private async poll(fan: Fan): Promise<void> {
    fan.polls++;
    const path = this.tokenPath(fan.userId);
    const route = this.sale.sale ? SALE_ROUTES.pollToken : ROUTES.pollToken;
    const a = await this.client.call(route, 'GET', path, { auth: fan.key, intendedAt: fan.due });
    this.metrics.queueRequest(epochNow());
    if (!a.ok) return this.refused(fan, a, 'poll');
    this.queueAnswer(fan, a);
  }

  private async concerts(fan: Fan): Promise<void> {
    const a = await this.client.call(ROUTES.concerts, 'GET', '/api/concerts', {
      auth: fan.key,
      intendedAt: fan.due,
    });
    if (!a.ok) return this.refused(fan, a, 'concerts');
    this.think(fan, 'schedules', 1, 2);
  }

  /** Picks a sale schedule not known sold out; without one the fan is turned away. */
  private async schedules(fan: Fan): Promise<void> {
    const scheduleId = this.pickSchedule();
    if (scheduleId === undefined) return this.turnAway(fan);
    fan.scheduleId = scheduleId;
    const concertId = await this.concertOf(fan, scheduleId);
    if (concertId === undefined) return this.end(fan, 'aborted', 'schedule lookup failed');
    fan.concertId = concertId;
    const path = `/api/concerts/${concertId}/schedules`;
    const a = await this.client.call(ROUTES.schedules, 'GET', path, { auth: fan.key, intendedAt: fan.due });
    if (!a.ok) return this.refused(fan, a, 'schedules');
    this.think(fan, 'seats', 1, 2);
  }

  private async seats(fan: Fan): Promise<void> {
    const path = `/api/concerts/${fan.concertId}/schedules/${fan.scheduleId}/seats/available`;
    const a = await this.client.call(ROUTES.seats, 'GET', path, { auth: fan.key, intendedAt: fan.due });
    const seats = a.json?.seats;
    if (!a.ok || !Array.isArray(seats)) return this.refused(fan, a, 'seats');
    const seat = seats.length ? seats[Math.floor(Math.random() * seats.length)] : undefined;
    if (typeof seat?.id !== 'number') return this.scheduleGone(fan);
    this.soldOut.delete(fan.scheduleId); // seats came back (a hold lapsed)
    fan.seatId = seat.id;
    this.think(fan, 'hold', 1, 2);
  }

  private async hold(fan: Fan): Promise<void> {
    const body = { userId: fan.userId, concertScheduleId: fan.scheduleId, seatId: fan.seatId };
    const a = await this.write(fan, ROUTES.reserve, '/api/reservations', body);
    const id = a.json?.reservationId;
    if (a.ok && (typeof id === 'string' || typeof id === 'number')) {
      this.run.recorder.funnel.held++;
      fan.reservationId = id;
      fan.price = typeof a.json?.price === 'number' ? a.json.price : 0;
      fan.due = a.endAt;
      return this.points(fan);
    }
    if (this.retryLater(fan, a, 'hold')) return;
    const code = codeOf(a);
    if (code && SOLD_OUT_CODES.has(code)) return this.scheduleGone(fan);
    if (code && SEAT_LOST_CODES.has(code) && ++fan.holdsTried < MAX_HOLDS_TRIED)
      return this.think(fan, 'seats', 1, 2);
    if (code) this.giveUp(fan);
    else this.end(fan, 'aborted', answerText('hold', a));
  }

  /** Tops up when the balance is short of the price, as a fan would; then pays after the seed's 1 s. */
  private async points(fan: Fan): Promise<void> {
    const path = `/api/users/${fan.userId}/points`;
    const a = await this.client.call(ROUTES.points, 'GET', path, { auth: fan.key, intendedAt: fan.due });
    const balance = a.json?.balance;
    if (!a.ok || typeof balance !== 'number') return this.refused(fan, a, 'points');
    fan.topUp = Math.max(0, fan.price - balance);
    this.sleep(fan, fan.topUp > 0 ? 'charge' : 'pay', 1000 * this.run.plan.flow.thinkScale);
  }

  private async charge(fan: Fan): Promise<void> {
    const path = `/api/users/${fan.userId}/points/charge`;
    const a = await this.write(fan, ROUTES.charge, path, { amount: fan.topUp });
    if (!a.ok) return this.refused(fan, a, 'charge');
    this.sleep(fan, 'pay', 1000 * this.run.plan.flow.thinkScale);
  }

  private async pay(fan: Fan): Promise<void> {
    const body = { userId: fan.userId, reservationId: fan.reservationId };
    const a = await this.write(fan, ROUTES.pay, '/api/payments', body);
    if (a.ok) {
      this.run.recorder.funnel.paid++;
      this.metrics.purchase(epochNow());
    } else if (this.retryLater(fan, a, 'pay')) return;
    this.end(fan, a.ok || codeOf(a) ? 'completed' : 'aborted', answerText('pay', a));
  }

  /**
   * A hold, top-up or payment. With --idempotency-keys it carries the step's key: a fresh one, kept while the
   * step is retried after a 503 or 429 with Retry-After, as a page retrying the same click would.
   */
  private async write(fan: Fan, route: string, path: string, body: unknown): Promise<Answer> {
    if (this.sale.idempotencyKeys && !fan.writeKey) fan.writeKey = randomUUID();
    const idempotencyKey = this.sale.idempotencyKeys ? fan.writeKey : undefined;
    const a = await this.client.call(route, 'POST', path, {
      body,
      auth: fan.key,
      intendedAt: fan.due,
      ...(idempotencyKey && { idempotencyKey }),
    });
    if (!willRetry(a)) fan.writeKey = '';
    return a;
  }

  /** A refused request is retried after the Retry-After it came with; any other failure ends the flow. */
  private refused(fan: Fan, a: Answer, step: Step): void {
    if (!this.retryLater(fan, a, step)) this.end(fan, 'aborted', answerText(step, a));
  }

  /** A 503 or 429 with Retry-After: the fan waits as told and tries the step again, a few times at most. */
  private retryLater(fan: Fan, a: Answer, step: Step): boolean {
    if (!willRetry(a)) return false;
    // A waiting page keeps polling through refusals (polls are bounded on their own); other steps give up.
    if (step !== 'poll' && ++fan.retries > MAX_RETRIES) return false;
    this.metrics.retried();
    this.sleep(fan, step, a.retryAfterS * 1000);
    return true;
  }

  /** The fan's schedule has no free seat: noted, and the fan tries another after a think. */
  private scheduleGone(fan: Fan): void {
    this.soldOut.set(fan.scheduleId, performance.now());
    this.metrics.soldOut(fan.scheduleId, epochNow());
    fan.holdsTried = 0;
    if (++fan.schedulesTried >= MAX_SCHEDULES_TRIED) this.turnAway(fan);
    else this.think(fan, 'schedules', 1, 2);
  }

  private turnAway(fan: Fan): void {
    this.metrics.turnedAway();
    this.giveUp(fan);
  }

  /** An admitted fan leaving without a seat frees its slot at once with --leave, as a page's leave button does. */
  private giveUp(fan: Fan): void {
    if (!this.sale.leave) {
      this.end(fan, 'completed');
      return;
    }
    const path = this.tokenPath(fan.userId);
    this.guarded(
      fan,
      this.client
        .call(this.sale.sale ? SALE_ROUTES.leave : LEAVE_ROUTE, 'DELETE', path, {
          auth: fan.key,
          intendedAt: performance.now(),
        })
        .then(() => this.end(fan, 'completed')),
    );
  }

  /** A sale schedule not found full lately; with none, the one found full longest ago, once it may be re-checked. */
  private pickSchedule(): number | undefined {
    const { saleSchedules: count, firstSchedule: first } = this.sale;
    if (this.soldOut.size < count) {
      for (let i = 0; i < 16; i++) {
        const id = randomInt(first, first + count - 1);
        if (!this.soldOut.has(id)) return id;
      }
      for (let id = first; id < first + count; id++) if (!this.soldOut.has(id)) return id;
    }
    let oldest: number | undefined;
    let oldestAt = performance.now() - RECHECK_FULL_MS;
    for (const [id, at] of this.soldOut)
      if (at <= oldestAt) {
        oldest = id;
        oldestAt = at;
      }
    return oldest;
  }

  private async concertOf(fan: Fan, scheduleId: number): Promise<number | undefined> {
    const known = this.concertOfSchedule.get(scheduleId);
    if (known !== undefined) return known;
    const a = await this.client.call(ROUTES.schedule, 'GET', `/api/schedules/${scheduleId}`, {
      auth: fan.key,
      intendedAt: fan.due,
    });
    const concertId = a.json?.concertId;
    if (!a.ok || typeof concertId !== 'number') return undefined;
    this.concertOfSchedule.set(scheduleId, concertId);
    fan.due = a.endAt;
    return concertId;
  }
}

/** A 503 or 429 with Retry-After: the step is tried again after it (a few times at most). */
const willRetry = (a: Answer): a is Answer & { retryAfterS: number } =>
  (a.status === 503 || a.status === 429) && a.retryAfterS !== undefined;
