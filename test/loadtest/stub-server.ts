import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubOptions {
  /** Polls before a token is admitted (0: admitted on issue). */
  pollsToAdmit?: number;
  /** Epoch ms until which every answer is held back (a stalled server). */
  stallUntil?: number;
  /** Delay of every answer, ms. */
  delayMs?: number;
  /** A token is admitted this long after it was issued (instead of after `pollsToAdmit` polls). */
  admitAfterMs?: number;
  /** The etaSeconds told while waiting (default 1; with `admitAfterMs`, the seconds left, rounded up). */
  etaSeconds?: number;
  /** For this long after its issue a token is told etaSeconds null (admission ESTIMATING). */
  etaWithheldForMs?: number;
  /** The pollAfterMs advised (default 50). */
  pollAfterMs?: number;
  /** Seats 1..N per schedule, only free ones listed (default: seats 1..3 always listed). */
  seatsPerSchedule?: number;
  /** The first N token issues are refused: 503 OVERLOADED with Retry-After: 0. */
  refuseIssues?: number;
  /** The first N holds are refused alike. */
  refuseHolds?: number;
  /** Every wallet starts with this many points; charges add, payments take the price or fail (default: no wallets). */
  wallet?: number;
  /** A sale's line (/api/sales/:saleId/...): pre-queued until this epoch ms (PREQUEUE, a countdown ETA). */
  prequeueUntil?: number;
  /** A sale's line: after this many admissions, everyone still waiting is told SOLD_OUT. */
  soldOutAfter?: number;
}

export interface Stub {
  url: string;
  options: StubOptions;
  /** Requests answered, by route template. */
  counts: Map<string, number>;
  /** Tokens issued, by user id. */
  issuedTo: Map<number, number>;
  /** Each hold, top-up and payment received (refused ones too), with its Idempotency-Key header if any. */
  writes: { route: string; userId: number; key: string | undefined }[];
  /** Sales created through POST /admin/api/sales (operator key 'operator-key'). */
  salesCreated: { scheduleIds: number[]; opensAt: string }[];
  close(): Promise<void>;
}

const SCHEDULES_PER_CONCERT = 50;

/** A tiny server with the seed's API: enough behaviour for the flows to run to their end. */
export async function startStub(initial: StubOptions = {}): Promise<Stub> {
  const state = { options: initial };
  const counts = new Map<string, number>();
  const polls = new Map<string, number>();
  const held = new Set<string>();
  const reservations = new Map<number, number>();
  const issuedTo = new Map<number, number>();
  const issuedAt = new Map<string, number>();
  const wallets = new Map<number, number>();
  const PRICE = 1000;
  const balanceOf = (userId: number) => wallets.get(userId) ?? state.options.wallet ?? 5000;
  let nextReservation = 1;
  let admissions = 0;
  const admittedKeys = new Set<string>();
  const salesCreated: { scheduleIds: number[]; opensAt: string }[] = [];
  const writes: Stub['writes'] = [];
  const written = (req: IncomingMessage, route: string, userId: number) => {
    const key = req.headers['idempotency-key'];
    writes.push({ route, userId, key: typeof key === 'string' ? key : undefined });
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    const reply = () => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const options = state.options;
    const wait = Math.max(options.delayMs ?? 0, (options.stallUntil ?? 0) - Date.now());
    if (wait > 0) setTimeout(reply, wait);
    else reply();
  };
  const error = (res: ServerResponse, status: number, code: string) =>
    send(res, status, { error: { code, message: code } });
  const count = (route: string) => counts.set(route, (counts.get(route) ?? 0) + 1);

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const options = state.options;
    const url = req.url ?? '/';
    const body = raw ? JSON.parse(raw) : {};
    let m: RegExpExecArray | null;
    if (url === '/admin/api/sales' && req.method === 'POST') {
      if (req.headers.authorization !== 'Bearer operator-key') return error(res, 401, 'ADMIN_KEY_INVALID');
      salesCreated.push({ scheduleIds: body.scheduleIds, opensAt: body.opensAt });
      return send(res, 201, { saleId: 7, opensAt: body.opensAt, status: 'SCHEDULED' });
    }
    const sale = /^\/api\/sales\/7(\/users\/\d+\/token)$/.exec(url);
    m = /^\/api\/users\/(\d+)\/token$/.exec(sale ? `/api${sale[1]}` : url);
    if (m) {
      count(sale ? 'sale token' : 'seed token');
      const key0 = `key-${m[1]}`;
      if (sale && req.method !== 'DELETE' && (req.method === 'POST' || req.headers.authorization === key0)) {
        const opensAt = options.prequeueUntil ?? 0;
        if (Date.now() < opensAt && req.method === 'POST') issuedAt.set(key0, Date.now());
        if (Date.now() < opensAt)
          return send(res, 200, {
            accessKey: key0,
            order: issuedAt.size + 1,
            status: 'PREQUEUE',
            position: issuedAt.size + 1,
            etaSeconds: Math.ceil((opensAt - Date.now()) / 1000),
            admission: 'PREQUEUE',
            pollAfterMs: Math.max(20, Math.min(options.pollAfterMs ?? 50, opensAt - Date.now())),
            opensAt: new Date(opensAt).toISOString(),
          });
        if (!admittedKeys.has(key0) && admissions >= (options.soldOutAfter ?? Number.POSITIVE_INFINITY))
          return send(res, 200, {
            order: 3,
            status: 'SOLD_OUT',
            position: 3,
            etaSeconds: null,
            admission: 'SOLD_OUT',
            pollAfterMs: 20_000,
          });
      }
      const key = `key-${m[1]}`;
      const pollAfterMs = options.pollAfterMs ?? 50;
      const admitAfter = options.admitAfterMs;
      const etaSeconds = () =>
        Date.now() < (issuedAt.get(key) ?? 0) + (options.etaWithheldForMs ?? 0)
          ? null
          : (options.etaSeconds ??
            (admitAfter === undefined
              ? 1
              : Math.max(0, Math.ceil(((issuedAt.get(key) ?? 0) + admitAfter - Date.now()) / 1000))));
      if (req.method === 'POST') {
        count('POST token');
        if ((options.refuseIssues ?? 0) > 0) {
          options.refuseIssues = (options.refuseIssues ?? 0) - 1;
          res.setHeader('retry-after', '0');
          return error(res, 503, 'OVERLOADED');
        }
        issuedTo.set(Number(m[1]), (issuedTo.get(Number(m[1])) ?? 0) + 1);
        issuedAt.set(key, Date.now());
        polls.set(key, 0);
        const order = (options.pollsToAdmit ?? 0) > 0 || (admitAfter ?? 0) > 0 ? 5 : 0;
        return send(res, 200, {
          accessKey: key,
          order,
          status: order ? 'WAITING' : 'ACTIVE',
          position: order,
          etaSeconds: order ? etaSeconds() : 0,
          pollAfterMs,
        });
      }
      if (req.headers.authorization !== key) return error(res, 401, 'TOKEN_INVALID');
      if (req.method === 'DELETE') {
        count('DELETE token');
        polls.delete(key);
        res.writeHead(204);
        return res.end();
      }
      count('GET token');
      const seen = (polls.get(key) ?? 0) + 1;
      polls.set(key, seen);
      const admitted =
        admitAfter === undefined
          ? seen >= (options.pollsToAdmit ?? 0)
          : Date.now() >= (issuedAt.get(key) ?? 0) + admitAfter;
      const order = admitted ? 0 : Math.max(1, 5 - seen);
      if (admitted && !admittedKeys.has(key)) {
        admittedKeys.add(key);
        admissions++;
      }
      return send(res, 200, {
        accessKey: key,
        order,
        status: order ? 'WAITING' : 'ACTIVE',
        position: order,
        etaSeconds: order ? etaSeconds() : 0,
        pollAfterMs,
      });
    }
    if (url === '/api/concerts') {
      count('GET concerts');
      return send(res, 200, { concerts: [1, 2].map((id) => ({ id, title: `c${id}` })), nextCursor: null });
    }
    m = /^\/api\/concerts\/(\d+)\/schedules$/.exec(url);
    if (m) {
      count('GET schedules');
      const concertId = Number(m[1]);
      const first = (concertId - 1) * SCHEDULES_PER_CONCERT + 1;
      return send(res, 200, {
        schedules: [0, 1, 2].map((i) => ({
          id: first + i,
          concertId,
          startsAt: '2030-01-01',
          availableSeats: 10,
        })),
      });
    }
    m = /^\/api\/schedules\/(\d+)$/.exec(url);
    if (m) {
      count('GET schedule');
      const id = Number(m[1]);
      return send(res, 200, { id, concertId: Math.ceil(id / SCHEDULES_PER_CONCERT) });
    }
    m = /^\/api\/concerts\/\d+\/schedules\/(\d+)\/seats\/available$/.exec(url);
    if (m) {
      count('GET seats');
      const perSchedule = options.seatsPerSchedule;
      const ids = Array.from({ length: perSchedule ?? 3 }, (_, i) => i + 1).filter(
        (n) => perSchedule === undefined || !held.has(`${m?.[1]}:${n}`),
      );
      return send(res, 200, { seats: ids.map((n) => ({ id: n, number: n, price: PRICE })) });
    }
    if (url === '/api/reservations' && req.method === 'POST') {
      count('POST reservations');
      written(req, 'hold', body.userId);
      if ((options.refuseHolds ?? 0) > 0) {
        options.refuseHolds = (options.refuseHolds ?? 0) - 1;
        res.setHeader('retry-after', '0');
        return error(res, 503, 'OVERLOADED');
      }
      const seat = `${body.concertScheduleId}:${body.seatId}`;
      if (held.has(seat)) return error(res, 409, 'SEAT_ALREADY_RESERVED');
      held.add(seat);
      const reservationId = nextReservation++;
      reservations.set(reservationId, body.userId);
      return send(res, 200, { reservationId, status: 'HELD', expiresAt: '2030-01-01', price: PRICE });
    }
    m = /^\/api\/users\/(\d+)\/points(\/charge)?$/.exec(url);
    if (m) {
      count(m[2] ? 'POST charge' : 'GET points');
      const userId = Number(m[1]);
      if (m[2]) written(req, 'charge', userId);
      if (m[2] && options.wallet !== undefined) wallets.set(userId, balanceOf(userId) + body.amount);
      return send(res, 200, { userId, balance: balanceOf(userId) });
    }
    if (url === '/api/payments' && req.method === 'POST') {
      count('POST payments');
      written(req, 'pay', body.userId);
      if (options.wallet !== undefined) {
        const balance = balanceOf(body.userId);
        if (balance < PRICE) return error(res, 409, 'INSUFFICIENT_POINTS');
        wallets.set(body.userId, balance - PRICE);
      } else if (body.reservationId % 2 === 0) return error(res, 409, 'INSUFFICIENT_POINTS');
      return send(res, 200, {
        paymentId: body.reservationId,
        reservationId: body.reservationId,
        amount: 1000,
        balance: 0,
      });
    }
    if (url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(
        `# TYPE queue_waiting gauge\nqueue_waiting ${polls.size}\n# TYPE http_requests_total counter\nhttp_requests_total ${[...counts.values()].reduce((a, b) => a + b, 0)}\n`,
      );
    }
    return error(res, 404, 'NOT_FOUND');
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => handle(req, res, raw));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get options() {
      return state.options;
    },
    set options(next: StubOptions) {
      state.options = next;
      // A sale's admissions count from the options that set it up, and its seats and wallets start afresh: a
      // sell-out test found an earlier test's holds on its schedules, and sometimes nothing left to buy.
      admissions = 0;
      admittedKeys.clear();
      held.clear();
      reservations.clear();
      wallets.clear();
    },
    counts,
    issuedTo,
    writes,
    salesCreated,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
