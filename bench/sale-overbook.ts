// How the overbook factor of a sale trades speed against disappointment: a simulated on-sale (manual clock,
// one-second rounds, in-process over app.inject on SQLite with the memory store) of SEATS seats and FANS fans,
// where admitted fans think 2-6 s, then 70 % hold a random free seat and pay 1-3 s later, 20 % hold one and
// never pay (the hold lapses after TR_HOLD_TTL_SECONDS, the slot after the active idle time) and 10 % walk away.
// For each overbook factor it prints the simulated seconds until the last seat is sold (and ratios to
// overbook 1) and how many admitted fans who wanted a seat found none (the cost of admitting more than seats).
// Usage: node bench/sale-overbook.ts [fans] [seats] [factors, e.g. 1,1.25,1.5,2,3] [seeds]
import { adminClient, adminEnv } from '../test/support/admin.ts';
import { makeTestApp, type TestApp } from '../test/support/app.ts';

const FANS = Number(process.argv[2] ?? 2000);
const SEATS = Number(process.argv[3] ?? 100);
const FACTORS = (process.argv[4] ?? '1,1.25,1.5,2,3').split(',').map(Number);
const SEEDS = Number(process.argv[5] ?? 3);
const MAX_SECONDS = 1800;

/** mulberry32: the same fates for every factor of one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fate = 'buy' | 'hold-and-go' | 'walk-away';
interface Fan {
  userId: number;
  key: string;
  fate: Fate;
  thinkMs: number;
  payMs: number;
  nextAt: number;
  stage: 'waiting' | 'thinking' | 'paying' | 'done';
  reservationId?: string;
  outcome?: 'bought' | 'no-seat' | 'sold-out' | 'left';
}

async function run(
  overbook: number,
  seed: number,
): Promise<{ soldOutS: number; noSeat: number; admitted: number }> {
  const t: TestApp = await makeTestApp('sqlite', {
    ...adminEnv,
    TR_QUEUE: 'memory',
    TR_ADMIT_ADAPTIVE: 'false',
    TR_ACTIVE_TTL_SECONDS: '600',
    TR_HOLD_TTL_SECONDS: '30',
    TR_DEMO_USERS: String(FANS),
    TR_DEMO_POINTS: '1000000',
    TR_MAX_HOLDS_PER_USER: '1',
    TR_TOKEN_RATE_PER_IP: '0',
    TR_LOG_LEVEL: 'silent',
  });
  try {
    const admin = adminClient(() => t);
    const concert = (await admin('POST', '/concerts', { title: 'B', artist: 'A', venue: 'V' })).json();
    const schedule = (
      await admin('POST', `/concerts/${concert.id}/schedules`, { startsAt: '2027-05-01T19:00:00Z' })
    ).json();
    const labels = Array.from({ length: SEATS }, (_, k) => String(k + 1));
    await admin('PUT', `/schedules/${schedule.id}/seat-map`, {
      sections: [{ name: 'F', price: 1000, rows: [{ label: 'A', seats: labels }] }],
    });
    await admin('POST', `/concerts/${concert.id}/publish`);
    await admin('POST', `/schedules/${schedule.id}/publish`);
    const sale = (
      await admin('POST', '/sales', { name: 'b', scheduleIds: [schedule.id], admitPerSecond: 20, overbook })
    ).json();
    const rooms = t.composition.services.saleRooms;
    const random = prng(seed);
    const start = t.clock.now();
    const fans: Fan[] = [];
    for (let userId = 1; userId <= FANS; userId++) {
      const r = await t.app.inject({
        method: 'POST',
        url: `/api/sales/${sale.saleId}/users/${userId}/token`,
      });
      const roll = random();
      fans.push({
        userId,
        key: r.json().accessKey,
        fate: roll < 0.7 ? 'buy' : roll < 0.9 ? 'hold-and-go' : 'walk-away',
        thinkMs: 2000 + Math.floor(random() * 4000),
        payMs: 1000 + Math.floor(random() * 2000),
        nextAt: start + r.json().pollAfterMs,
        stage: 'waiting',
      });
    }
    const free = new Set(Array.from({ length: SEATS }, (_, k) => k + 1));
    let sold = 0;
    let soldOutAt: number | undefined;
    let admitted = 0;
    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, fan: Fan, payload?: object) =>
      t.app.inject({ method, url, headers: { authorization: fan.key }, ...(payload ? { payload } : {}) });
    const hold = async (fan: Fan): Promise<boolean> => {
      for (let attempt = 0; attempt < 3 && free.size > 0; attempt++) {
        const seats = [...free];
        const seatId = seats[Math.floor(random() * seats.length)];
        const r = await call('POST', '/api/reservations', fan, {
          userId: fan.userId,
          concertScheduleId: schedule.id,
          seatId,
        });
        if (r.statusCode === 200) {
          free.delete(seatId);
          fan.reservationId = r.json().reservationId;
          return true;
        }
        free.delete(seatId);
      }
      return false;
    };
    for (let s = 1; s <= MAX_SECONDS && fans.some((f) => f.stage !== 'done'); s++) {
      t.clock.advance(1000);
      const now = t.clock.now();
      await rooms.tick();
      // Lapsed holds free their seats: what the fans see as free follows the database.
      if (s % 5 === 0) {
        const seats = (await admin('GET', `/schedules/${schedule.id}/seats`)).json().seats as Array<{
          seatId: number;
          status: string;
        }>;
        free.clear();
        for (const seat of seats) if (seat.status === 'FREE') free.add(seat.seatId);
      }
      for (const fan of fans) {
        if (fan.stage === 'done' || fan.nextAt > now) continue;
        if (fan.stage === 'waiting') {
          const r = await call('GET', `/api/sales/${sale.saleId}/users/${fan.userId}/token`, fan);
          if (r.statusCode !== 200) {
            fan.stage = 'done';
            fan.outcome = 'left';
            continue;
          }
          const ticket = r.json();
          if (ticket.status === 'SOLD_OUT' || ticket.status === 'CLOSED') {
            fan.stage = 'done';
            fan.outcome = 'sold-out';
          } else if (ticket.status === 'ACTIVE') {
            admitted++;
            fan.stage = 'thinking';
            fan.nextAt = now + fan.thinkMs;
          } else fan.nextAt = now + ticket.pollAfterMs;
        } else if (fan.stage === 'thinking') {
          fan.stage = 'done';
          if (fan.fate === 'walk-away') {
            await call('DELETE', `/api/sales/${sale.saleId}/users/${fan.userId}/token`, fan);
            fan.outcome = 'left';
          } else if (await hold(fan)) {
            if (fan.fate === 'buy') {
              fan.stage = 'paying';
              fan.nextAt = now + fan.payMs;
            } else fan.outcome = 'left';
          } else fan.outcome = fan.fate === 'buy' ? 'no-seat' : 'left';
        } else if (fan.stage === 'paying') {
          const r = await call('POST', '/api/payments', fan, {
            userId: fan.userId,
            reservationId: fan.reservationId,
          });
          fan.stage = 'done';
          fan.outcome = r.statusCode === 200 ? 'bought' : 'no-seat';
          if (r.statusCode === 200 && ++sold === SEATS) soldOutAt = now;
        }
      }
    }
    return {
      soldOutS: soldOutAt === undefined ? Number.NaN : (soldOutAt - start) / 1000,
      noSeat: fans.filter((f) => f.outcome === 'no-seat').length,
      admitted,
    };
  } finally {
    await t.close();
  }
}

console.log(
  `# ${FANS} fans, ${SEATS} seats, ${SEEDS} seeds; admitted fans: 70 % buy, 20 % hold and go, 10 % walk away`,
);
const base = new Map<number, number>();
for (const overbook of FACTORS) {
  let soldOut = 0;
  let noSeat = 0;
  let admitted = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await run(overbook, seed);
    soldOut += r.soldOutS;
    noSeat += r.noSeat;
    admitted += r.admitted;
    if (overbook === FACTORS[0]) base.set(seed, r.soldOutS);
  }
  const baseline = [...base.values()].reduce((a, b) => a + b, 0);
  console.log(
    `overbook ${overbook.toFixed(2)}: sold out after ${(soldOut / SEEDS).toFixed(1)} s (x${(soldOut / baseline).toFixed(2)} of overbook ${FACTORS[0]}), ` +
      `${(admitted / SEEDS).toFixed(0)} admitted, ${(noSeat / SEEDS).toFixed(1)} buyers admitted found no seat`,
  );
}
