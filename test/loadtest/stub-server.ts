import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubOptions {
  /** Polls before a token is admitted (0: admitted on issue). */
  pollsToAdmit?: number;
  /** Epoch ms until which every answer is held back (a stalled server). */
  stallUntil?: number;
  /** Delay of every answer, ms. */
  delayMs?: number;
}

export interface Stub {
  url: string;
  options: StubOptions;
  /** Requests answered, by route template. */
  counts: Map<string, number>;
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
  let nextReservation = 1;

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
    m = /^\/api\/users\/(\d+)\/token$/.exec(url);
    if (m) {
      const key = `key-${m[1]}`;
      if (req.method === 'POST') {
        count('POST token');
        polls.set(key, 0);
        const order = (options.pollsToAdmit ?? 0) > 0 ? 5 : 0;
        return send(res, 200, {
          accessKey: key,
          order,
          status: 'WAITING',
          position: order,
          etaSeconds: 1,
          pollAfterMs: 50,
        });
      }
      count('GET token');
      if (req.headers.authorization !== key) return error(res, 401, 'TOKEN_INVALID');
      const seen = (polls.get(key) ?? 0) + 1;
      polls.set(key, seen);
      const order = seen >= (options.pollsToAdmit ?? 0) ? 0 : 5 - seen;
      return send(res, 200, {
        accessKey: key,
        order,
        status: order ? 'WAITING' : 'ACTIVE',
        position: order,
        etaSeconds: 1,
        pollAfterMs: 50,
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
      return send(res, 200, { seats: [1, 2, 3].map((n) => ({ id: n, number: n, price: 1000 })) });
    }
    if (url === '/api/reservations' && req.method === 'POST') {
      count('POST reservations');
      const seat = `${body.concertScheduleId}:${body.seatId}`;
      if (held.has(seat)) return error(res, 409, 'SEAT_ALREADY_RESERVED');
      held.add(seat);
      const reservationId = nextReservation++;
      reservations.set(reservationId, body.userId);
      return send(res, 200, { reservationId, status: 'HELD', expiresAt: '2030-01-01', price: 1000 });
    }
    m = /^\/api\/users\/(\d+)\/points(\/charge)?$/.exec(url);
    if (m) {
      count(m[2] ? 'POST charge' : 'GET points');
      return send(res, 200, { userId: Number(m[1]), balance: 5000 });
    }
    if (url === '/api/payments' && req.method === 'POST') {
      count('POST payments');
      if (body.reservationId % 2 === 0) return error(res, 409, 'INSUFFICIENT_POINTS');
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
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
