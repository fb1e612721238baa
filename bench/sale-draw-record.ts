// Recording and reading a drawn order of N places in the database (sales repository), per dialect: the time, and
// the longest event-loop delay meanwhile (SQLite answers synchronously, so only the repository's own yields free
// the loop). Each dialect gets a fresh test database, dropped after.
// Usage: node bench/sale-draw-record.ts [places=1000000] [dialects=sqlite,postgres,mysql]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import type { DialectName } from '../src/db/database.ts';
import { salesRepository } from '../src/db/sales-repository.ts';
import { seedDemoData } from '../src/db/seed.ts';
import { ManualClock } from '../src/domain/clock.ts';
import { SalesService } from '../src/domain/sales/sales.ts';
import { createTestDatabase, dialectAvailable } from '../test/support/databases.ts';
import { saleDefaults, testActor } from '../test/support/sale-fixtures.ts';

const places = Number(process.argv[2] ?? 1_000_000);
const dialects = (process.argv[3] ?? 'sqlite,postgres,mysql').split(',') as DialectName[];

async function measure(dialect: DialectName): Promise<void> {
  const t = await createTestDatabase(dialect);
  try {
    await seedDemoData(t.database.db, {
      users: 5,
      schedules: 1,
      schedulesPerConcert: 1,
      seatsPerSchedule: 10,
    });
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const sales = new SalesService(salesRepository(t.database), clock, saleDefaults);
    const sale = await sales.create(
      { name: 'big', scheduleIds: [1], opensAt: clock.now() + 1000 },
      testActor,
    );
    const order = Array.from({ length: places }, (_, i) => places - i);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    const timed = async (step: () => Promise<unknown>) => {
      loop.reset();
      loop.enable();
      const t0 = performance.now();
      await step();
      const ms = performance.now() - t0;
      // A loop held to the end records its delay only once it turns again.
      await setTimeout(5);
      loop.disable();
      return `${ms.toFixed(0)} ms (event loop max delay ${(loop.max / 1e6).toFixed(0)} ms)`;
    };
    const record = await timed(() => sales.recordDraw(sale.id, order));
    const read = await timed(async () => {
      if ((await sales.drawOrder(sale.id))?.length !== places) throw new Error('order not read back whole');
    });
    console.log(`${dialect}: ${places.toLocaleString('en')} places, record ${record}, read ${read}`);
  } finally {
    await t.drop();
  }
}

for (const dialect of dialects)
  if (await dialectAvailable(dialect)) await measure(dialect);
  else console.log(`${dialect}: not reachable, skipped`);
