/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { serverAvailable, serverUrls, testWhere } from '../support/backends.ts';
import { createTestDatabase } from '../support/databases.ts';
import { dropQueueKeys } from '../support/redis-keys.ts';
import {
  axe,
  chromiumPath,
  launch,
  recordLiveRegions,
  type Server,
  said,
  screenshot,
  serious,
  startServer,
  transferMeter,
} from './browser.ts';

const chromium = chromiumPath();
if (chromium.reason) console.log(`# browser suite skipped: ${chromium.reason}`);

/** The waiting page with its script and style, compressed, must stay under this (issue 15). */
const WAITING_PAGE_BUDGET = 30 * 1024;
const SEATS = 20;

interface Backend {
  name: string;
  /** The journey and the race run on every backend; the pages' own checks once, on the embedded default. */
  full: boolean;
  reachable: () => Promise<boolean>;
  /** Environment for the server, and what removes its data afterwards. */
  prepare: () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'the embedded default (SQLite, memory queue)',
    full: true,
    reachable: async () => true,
    prepare: async () => ({ env: {}, drop: async () => {} }),
  },
  {
    name: 'PostgreSQL and Redis',
    full: false,
    reachable: async () => (await serverAvailable('postgres')) && (await serverAvailable('redis')),
    prepare: async () => {
      const db = await createTestDatabase('postgres');
      await db.database.close();
      const queueName = `web-${randomBytes(4).toString('hex')}`;
      return {
        env: {
          TR_DB: db.url,
          TR_SEED_ON_START: 'true',
          TR_QUEUE: serverUrls.redis,
          TR_QUEUE_NAME: queueName,
        },
        drop: async () => {
          await db.drop();
          await dropQueueKeys(queueName);
        },
      };
    },
  },
];

for (const backend of backends) {
  const reachable = chromium.reason ? false : await backend.reachable();
  describe(`fans and operators in a real browser on ${backend.name}`, {
    skip: chromium.reason ?? (!reachable && 'backend not reachable'),
    timeout: 180_000,
  }, () => {
    let server: Server;
    let browser: Browser;
    let drop = async () => {};
    const axeReport: Record<string, string> = {};
    let started = Date.now();

    before(async () => {
      started = Date.now();
      const prepared = await backend.prepare();
      drop = prepared.drop;
      [server, browser] = await Promise.all([
        startServer({
          // A slow door: one admission a second, so a handful of users ahead make a line.
          TR_ADMIT_PER_SECOND: '1',
          TR_ADMIT_ADAPTIVE: 'false',
          TR_DEMO_USERS: '300',
          TR_DEMO_SCHEDULES: '4',
          TR_DEMO_SCHEDULES_PER_CONCERT: '2',
          TR_DEMO_SEATS: String(SEATS),
          // Wallets start empty: the fan has to top up before paying.
          TR_DEMO_POINTS: '0',
          ...prepared.env,
        }),
        launch(chromium.path as string),
      ]);
    });

    after(async () => {
      await browser?.close();
      await server?.close();
      await drop();
      console.log(`# axe: ${JSON.stringify(axeReport)}`);
      console.log(`# browser suite on ${backend.name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    /** A page that fails the test on any CSP violation, script error or request to another origin. */
    async function fanPage(locale = 'en-GB', user?: number) {
      const context = await browser.newContext({ locale, viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith(server.url)) problems.push(`third-party request: ${r.url()}`);
      });
      if (user !== undefined) await context.addInitScript(`localStorage.setItem('tr.user', '${user}')`);
      return { context, page, problems };
    }

    const shot = (page: Page, name: string) => (backend.full ? screenshot(page, name) : Promise.resolve());

    async function scan(page: Page, name: string) {
      const violations = await axe(page);
      axeReport[name] = violations.length
        ? violations.map((v) => `${v.id}(${v.impact})`).join(' ')
        : 'no violations';
      assert.deepEqual(serious(violations), [], `${name}: serious or critical axe violations`);
    }

    /** Users ahead in line, who keep polling so they keep their places; stop() ends them. */
    function lineAhead(users: number[]) {
      let stopped = false;
      const loops = users.map(async (u) => {
        const res = await fetch(`${server.url}/api/users/${u}/token`, { method: 'POST' });
        const { accessKey } = (await res.json()) as { accessKey: string };
        while (!stopped) {
          const poll = await fetch(`${server.url}/api/users/${u}/token`, {
            headers: { authorization: accessKey },
          });
          const t = (await poll.json()) as { status: string };
          if (t.status === 'ACTIVE') return;
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
      return {
        stop: async () => {
          stopped = true;
          await Promise.allSettled(loops);
        },
      };
    }

    testWhere(backend.full)(
      'the home page and a concert are meaningful HTML, in Korean from the browser language',
      async () => {
        const { context, page, problems } = await fanPage('ko-KR');
        await page.goto(`${server.url}/`);
        assert.equal(await page.getAttribute('html', 'lang'), 'ko');
        assert.equal(await page.textContent('h1'), '공연');
        await scan(page, 'home (ko)');
        await shot(page, 'home-ko');
        await page.fill('#user-id', '50');
        await page.click('#user-form button[type=submit]');
        await page.getByText('데모 사용자 50번입니다.').waitFor();
        await page.click('.concerts a >> nth=0');
        await page.waitForURL(/\/concerts\/1$/);
        assert.match((await page.textContent('.schedules')) ?? '', /석 중 \d+석 남음/);
        await scan(page, 'concert (ko)');
        // The switch is a link; the choice sticks for later pages.
        await page.click('nav.lang a[lang=en]');
        await page.waitForURL(/lang=en/);
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        await page.goto(`${server.url}/`);
        assert.equal(await page.textContent('h1'), 'Concerts');
        assert.deepEqual(problems, []);
        await context.close();
      },
    );

    testWhere(backend.full)(
      'with nothing yet measured of how long admitted fans stay, the page says the wait is being worked out, not stalled',
      async () => {
        // A window of two, both slots taken and kept, and no session assumed (TR_EXPECTED_SESSION_SECONDS at 0):
        // the first place waits on a departure nobody has measured yet, so its ETA is null and it is ESTIMATING.
        const door = await startServer({
          TR_MAX_ACTIVE: '2',
          TR_ADMIT_ADAPTIVE: 'false',
          TR_DEMO_USERS: '10',
          TR_DEMO_SCHEDULES: '2',
          TR_DEMO_SCHEDULES_PER_CONCERT: '2',
          TR_DEMO_SEATS: '4',
        });
        try {
          for (const u of [1, 2]) await fetch(`${door.url}/api/users/${u}/token`, { method: 'POST' });
          await new Promise((r) => setTimeout(r, 600));
          const context = await browser.newContext({ locale: 'en-GB' });
          await context.addInitScript(`localStorage.setItem('tr.user', '3')`);
          const page = await context.newPage();
          await recordLiveRegions(page);
          await page.goto(`${door.url}/wait?schedule=1`);
          await page.waitForFunction(() =>
            /Working out your waiting time/.test(document.getElementById('eta')?.textContent ?? ''),
          );
          assert.match((await page.textContent('#position')) ?? '', /number 1 in line/);
          assert.equal(await page.getAttribute('#ticket', 'data-state'), 'waiting', 'not the stalled state');
          await page.waitForFunction(() =>
            ((window as unknown as { __said?: string[] }).__said ?? []).some((s) =>
              /Your waiting time follows shortly/.test(s),
            ),
          );
          assert.ok(
            !(await said(page)).some((s) => /Nobody is being let in/.test(s)),
            'a screen reader does not hear the line is stalled',
          );
          await scan(page, 'waiting room, wait being worked out');
          await context.close();
        } finally {
          await door.close();
        }
      },
    );

    test('a fan waits in a slowed line, keeps the place across a reload, is admitted, holds, tops up, pays and sees the ticket', async () => {
      const ahead = lineAhead(Array.from({ length: 14 }, (_, i) => 201 + i));
      await new Promise((r) => setTimeout(r, 300));
      const { context, page, problems } = await fanPage('en-GB', 101);
      await recordLiveRegions(page);
      const meter = await transferMeter(context, page);
      await page.goto(`${server.url}/wait?schedule=1`);
      await page.waitForFunction(() =>
        /number \d+ in line/.test(document.getElementById('position')?.textContent ?? ''),
      );
      const positionOf = async () =>
        Number(/number (\d+)/.exec((await page.textContent('#position')) ?? '')?.[1] ?? Number.NaN);
      const first = await positionOf();
      assert.ok(first >= 3, `a line formed ahead of the fan (position ${first})`);
      assert.match((await page.textContent('#eta')) ?? '', /About \d+ (s|min) to wait/);

      // Page weight: the document, script and style of the waiting page, as transferred.
      await page.waitForLoadState('networkidle').catch(() => {});
      const pageBytes =
        (meter.bytes.Document ?? 0) + (meter.bytes.Script ?? 0) + (meter.bytes.Stylesheet ?? 0);
      console.log(
        `# waiting page weight: ${pageBytes} bytes transferred (document ${meter.bytes.Document}, script ${meter.bytes.Script}, style ${meter.bytes.Stylesheet}) of a ${WAITING_PAGE_BUDGET}-byte budget`,
      );
      assert.ok(pageBytes > 0 && pageBytes <= WAITING_PAGE_BUDGET, `waiting page is ${pageBytes} bytes`);
      assert.ok(
        meter.urls.every((u) => u.startsWith(server.url)),
        'no third-party request',
      );
      await scan(page, 'waiting room');
      await shot(page, 'waiting-room');

      // A reload mid-wait keeps the place: the key is in the browser, the place on the server.
      await page.waitForFunction((p) => {
        const m = /number (\d+)/.exec(document.getElementById('position')?.textContent ?? '');
        return m && Number(m[1]) < p;
      }, first);
      const beforeReload = await positionOf();
      await page.reload();
      await page.waitForFunction(() =>
        /number \d+ in line/.test(document.getElementById('position')?.textContent ?? ''),
      );
      const afterReload = await positionOf();
      assert.ok(afterReload <= beforeReload, `place kept across reload: ${beforeReload} -> ${afterReload}`);

      // Admission: the heading says so and has focus; the title changes.
      await page.waitForFunction(
        () => document.getElementById('ticket')?.dataset.state === 'admitted',
        null,
        {
          timeout: 60_000,
        },
      );
      assert.equal(await page.textContent('#wait-heading'), 'It is your turn');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'wait-heading');
      assert.match(await page.title(), /^Your turn/);
      await page.waitForFunction(() =>
        (window as unknown as { __said: string[] }).__said.some((s) => /choose your seats now/i.test(s)),
      );
      const announcements = await said(page);
      const positions = announcements.filter((s) => /^Number \d+ in line/.test(s));
      assert.ok(
        positions.length >= 2,
        `the live region announced position changes: ${JSON.stringify(announcements)}`,
      );
      assert.ok(
        announcements.some((s) => /choose your seats now/i.test(s)),
        'admission announced',
      );
      await shot(page, 'admitted');
      await ahead.stop();

      await page.click('#continue');
      await page.waitForURL(/\/book\?schedule=1/);
      await page.waitForSelector('.seat[data-state=free]');
      assert.equal(await page.locator('.seat').count(), SEATS);
      await scan(page, 'seat map');
      await page.click('.seat[data-seat="5"]');
      await page.click('#hold');
      await page.getByText(/Hold ends in \d/).waitFor();
      assert.equal(await page.getAttribute('.seat[data-seat="5"]', 'data-state'), 'mine');
      await shot(page, 'seat-held');

      // No points yet: paying says so in words, then a top-up makes it work.
      await page.click('#pay');
      await page.getByText('You do not have enough points. Top up and pay again.').waitFor();
      await page.fill('#amount', '500000');
      await page.click('#topup button');
      await page.getByText(/Added 500,000 points/).waitFor();
      await page.click('#pay');
      await page.getByText('Paid. Seat 5 is yours: see My tickets.').waitFor();
      await shot(page, 'paid');

      await page.click('#done a');
      await page.waitForURL(/\/me$/);
      await page.waitForSelector('#tickets li[data-status=CONFIRMED]');
      assert.match((await page.textContent('#tickets')) ?? '', /seat 5: ticket/);
      await scan(page, 'my tickets');
      await shot(page, 'my-tickets');
      assert.deepEqual(problems, []);
      await context.close();
    });

    test('two browsers race for one seat: one holds it, the other is told plainly', async () => {
      const [a, b] = await Promise.all([fanPage('en-GB', 111), fanPage('ko-KR', 112)]);
      await Promise.all([
        a.page.goto(`${server.url}/wait?schedule=2`),
        b.page.goto(`${server.url}/wait?schedule=2`),
      ]);
      for (const { page } of [a, b])
        await page.waitForFunction(
          () => document.getElementById('ticket')?.dataset.state === 'admitted',
          null,
          {
            timeout: 60_000,
          },
        );
      await shot(b.page, 'admitted-ko');
      await Promise.all([a.page.click('#continue'), b.page.click('#continue')]);
      for (const { page } of [a, b]) {
        await page.waitForSelector('.seat[data-seat="7"][data-state=free]');
        await page.click('.seat[data-seat="7"]');
      }
      await Promise.all([a.page.click('#hold'), b.page.click('#hold')]);
      const outcome = async (page: Page) => {
        await page.waitForFunction(
          () =>
            (document.getElementById('countdown')?.textContent ?? '') !== '' ||
            (document.getElementById('alert')?.textContent ?? '') !== '',
        );
        return {
          held: (await page.textContent('#countdown')) !== '',
          alert: (await page.textContent('#alert')) ?? '',
        };
      };
      const [ra, rb] = await Promise.all([outcome(a.page), outcome(b.page)]);
      assert.equal(
        [ra, rb].filter((r) => r.held).length,
        1,
        `exactly one holds the seat: ${JSON.stringify([ra, rb])}`,
      );
      const loser = ra.held ? { ...rb, page: b.page, lang: 'ko' } : { ...ra, page: a.page, lang: 'en' };
      assert.match(
        loser.alert,
        loser.lang === 'ko' ? /방금 다른 분이 이 좌석을 잡았습니다/ : /someone else just took this seat/,
      );
      await loser.page.waitForSelector('.seat[data-seat="7"][data-state=held]');
      assert.match(
        (await loser.page.getAttribute('.seat[data-seat="7"]', 'aria-label')) ?? '',
        loser.lang === 'ko' ? /선점 중/ : /held by someone/,
      );
      await shot(loser.page, 'race-lost');
      // The winner pays: the loser's map turns the seat from held to sold by itself, without a reload.
      const winner = ra.held ? a.page : b.page;
      await winner.fill('#amount', '500000');
      await winner.click('#topup button');
      await winner.waitForFunction(() => /500/.test(document.getElementById('balance')?.textContent ?? ''));
      await winner.click('#pay');
      await winner.waitForSelector('#done:not([hidden])');
      const navigations: string[] = [];
      loser.page.on('framenavigated', (f) => navigations.push(f.url()));
      await loser.page.waitForSelector('.seat[data-seat="7"][data-state=sold]', { timeout: 20_000 });
      assert.deepEqual(navigations, [], 'the map updated in place');
      assert.deepEqual([...a.problems, ...b.problems], []);
      await Promise.all([a.context.close(), b.context.close()]);
    });

    /** An operator call, as a script would make it (setting up what a test needs, never what it checks). */
    async function operator<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${server.url}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as T;
    }

    async function signedInConsole() {
      const fan = await fanPage('en-GB');
      await fan.page.goto(`${server.url}/admin`);
      await fan.page.fill('#key', server.adminKey);
      await fan.page.click('#signin button');
      await fan.page.waitForSelector('#dashboard:not([hidden])');
      return fan;
    }

    testWhere(backend.full)(
      'the operator console: a wrong key is refused, the right one shows live charts; a control works where the server has its route',
      async () => {
        const { context, page, problems } = await fanPage('en-GB');
        await page.goto(`${server.url}/admin`);
        await scan(page, 'operator sign-in');
        await page.fill('#key', 'not-the-key-at-all');
        await page.click('#signin button');
        await page.getByText('That key was not accepted.').waitFor();
        await page.fill('#key', server.adminKey);
        await page.click('#signin button');
        await page.waitForSelector('#dashboard:not([hidden])');
        // Figures come from the server: seats sold by the earlier tests show up.
        await page.waitForFunction(() => Number(document.getElementById('value-sold')?.textContent) >= 1);
        assert.ok(Number((await page.textContent('#value-revenue'))?.replace(/\D/g, '')) > 0);
        await page.waitForFunction(() => document.querySelectorAll('#chart-waiting polyline').length === 1);
        // A few samples, so the screenshot shows lines.
        await page.waitForTimeout(4500);
        const salesApi = await page.evaluate(async () => {
          const res = await fetch('/admin/api/sales', {
            headers: { authorization: `Bearer ${sessionStorage.getItem('tr.admin')}` },
          });
          return res.status !== 404;
        });
        // The seat-map import has its form; the sale controls work only where the server has the sales API.
        assert.equal(await page.locator('button[data-control=import]:disabled').count(), 0);
        assert.equal(await page.locator('#sale-controls:disabled').count(), salesApi ? 0 : 1);
        assert.equal(await page.isVisible('#controls-note'), !salesApi);
        await scan(page, 'operator dashboard');
        await shot(page, 'operator-console');
        assert.deepEqual(problems, []);
        await context.close();
      },
    );

    testWhere(backend.full)(
      "the operator imports a seat map in the console: the server's refusals are listed, then JSON and CSV imports land",
      async () => {
        const concert = await operator<{ id: number }>('POST', '/concerts', {
          title: 'Seat map night',
          artist: 'The Importers',
          venue: 'Hall B',
        });
        const schedule = await operator<{ id: number }>('POST', `/concerts/${concert.id}/schedules`, {
          startsAt: '2031-05-01T19:00:00Z',
        });
        const { context, page, problems } = await signedInConsole();
        await page.fill('#import-schedule', String(schedule.id));

        // A CSV with two mistakes: nothing imported, each problem listed by line, focus on the explanation.
        await page.check('#format-csv');
        await page.fill(
          '#import-text',
          'section,row,label,price\nFloor,A,1,100\nFloor,A,1,100\nFloor,A,2,abc\n',
        );
        await page.click('#import-form button[type=submit]');
        await page
          .getByText(/The seat map could not be read\. Nothing was imported: \d+ problems?\./)
          .waitFor();
        const listed = await page.locator('#import-problems li').allTextContents();
        assert.ok(
          listed.some((p) => /^Line 3: .*already on line 2/.test(p)),
          JSON.stringify(listed),
        );
        assert.ok(
          listed.some((p) => /^Line 4: .*price/.test(p)),
          JSON.stringify(listed),
        );
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'import-result');
        await scan(page, 'seat-map import refused');
        await shot(page, 'operator-import-refused');

        // JSON of the wrong shape: the schema's words; then a good JSON map.
        await page.check('#format-json');
        await page.fill('#import-text', '{"sections": []}');
        await page.click('#import-form button[type=submit]');
        await page
          .getByText('Something in the request was not valid. Check the form and try again.')
          .waitFor();
        assert.match((await page.textContent('#import-problems')) ?? '', /sections/);
        await page.fill(
          '#import-text',
          JSON.stringify({
            sections: [
              {
                name: 'Floor',
                price: 150000,
                rows: [{ label: 'A', seats: ['1', '2', { label: '3', price: 170000 }] }],
              },
              { name: 'Balcony', rows: [{ label: '1', seats: [{ label: '1', price: 60000 }] }] },
            ],
          }),
        );
        await page.click('#import-form button[type=submit]');
        await page
          .getByText(
            `Imported into schedule ${schedule.id}: 4 seats (4 added, 0 removed, 0 repriced, 0 unchanged).`,
          )
          .waitFor();
        assert.equal(await page.locator('#import-problems li').count(), 0);

        // The same map as a CSV file picked from disk, one seat repriced and one more added.
        await page.setInputFiles('#import-file', {
          name: 'seats.csv',
          mimeType: 'text/csv',
          buffer: Buffer.from(
            'section,row,label,price\nFloor,A,1,150000\nFloor,A,2,150000\nFloor,A,3,160000\n"Balcony",1,1,60000\nBalcony,1,2,60000\n',
          ),
        });
        await page.waitForFunction(() => (document.getElementById('format-csv') as HTMLInputElement).checked);
        await page.click('#import-form button[type=submit]');
        await page
          .getByText(
            `Imported into schedule ${schedule.id}: 5 seats (1 added, 0 removed, 1 repriced, 3 unchanged).`,
          )
          .waitFor();
        const stored = await operator<{ seats: Array<{ label: string; price: number }> }>(
          'GET',
          `/schedules/${schedule.id}/seats`,
        );
        assert.deepEqual(
          stored.seats.map((s) => `${s.label}:${s.price}`),
          ['1:150000', '2:150000', '3:160000', '1:60000', '2:60000'],
        );
        await scan(page, 'seat-map import');
        await shot(page, 'operator-import');
        assert.deepEqual(problems, []);
        await context.close();
      },
    );

    /** A fan's API calls, as a script would make them (setting up a sold-out sale, never what a test checks). */
    async function fanCall<T>(method: string, path: string, key: string, body?: unknown): Promise<T> {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: key,
          'idempotency-key': randomBytes(8).toString('hex'),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as T;
    }

    interface SaleView {
      saleId: number;
      name: string;
      status: string;
      settings: { admitPerSecond: number; maxActive: number; paused: boolean };
    }
    const tag = backend.full ? 'embedded' : 'pg';

    test('an operator pauses admission and the fan page shows it, then resumes; rate, cap and close from the console', async () => {
      const sale = await operator<SaleView>('POST', '/sales', { name: `Pause ${tag}`, scheduleIds: [3] });
      const op = await signedInConsole();
      await op.page.waitForSelector('#sale-controls:not(:disabled)');
      await op.page.waitForSelector(`#sale option[value="${sale.saleId}"]`, { state: 'attached' });
      await op.page.selectOption('#sale', String(sale.saleId));
      await op.page.waitForFunction(() => document.getElementById('sale-status')?.textContent === 'open');
      await op.page.click('#pause');
      await op.page.getByText(`“${sale.name}” is paused`).waitFor();
      assert.equal(await op.page.evaluate(() => document.activeElement?.id), 'pause');
      await op.page.waitForFunction(() => document.getElementById('sale-status')?.textContent === 'paused');

      const fan = await fanPage('en-GB', 121);
      await recordLiveRegions(fan.page);
      await fan.page.goto(`${server.url}/wait?sale=${sale.saleId}&schedule=3`);
      await fan.page.waitForFunction(() => document.getElementById('ticket')?.dataset.state === 'paused');
      assert.match((await fan.page.textContent('#state')) ?? '', /The organiser has paused admission/);
      assert.match((await fan.page.textContent('#position')) ?? '', /number \d+ in line/);
      await fan.page.waitForFunction(() =>
        (window as unknown as { __said: string[] }).__said.some((s) => /paused admission/.test(s)),
      );
      // The operator's figures count the fan waiting.
      await op.page.waitForFunction(() => Number(document.getElementById('sale-waiting')?.textContent) >= 1);
      if (backend.full) {
        await scan(fan.page, 'waiting room, paused');
        await scan(op.page, 'operator sale controls');
      }
      await shot(fan.page, 'waiting-paused');
      await shot(op.page, 'operator-sale-controls');

      await op.page.click('#resume');
      await op.page.getByText(`“${sale.name}” lets people in again.`).waitFor();
      await fan.page.waitForFunction(
        () => document.getElementById('ticket')?.dataset.state === 'admitted',
        null,
        { timeout: 60_000 },
      );
      // The sale's key is the one the seat pages present: its seats show.
      await fan.page.click('#continue');
      await fan.page.waitForSelector('.seat[data-state=free]');
      // When that turn ends (the fan leaves from another tab), the way back is to this sale's line.
      const key = await fan.page.evaluate(() => localStorage.getItem('tr.key.121'));
      const left = await fetch(`${server.url}/api/sales/${sale.saleId}/users/121/token`, {
        method: 'DELETE',
        headers: { authorization: key ?? '' },
      });
      assert.equal(left.status, 204);
      await fan.page.waitForSelector('#alert a', { timeout: 20_000 });
      assert.equal(await fan.page.getAttribute('#alert a', 'href'), `/wait?sale=${sale.saleId}&schedule=3`);

      // Rate and cap: the server's answer is said, and stored.
      await op.page.fill('#rate', '7');
      await op.page.click('#rate-form button');
      await op.page.getByText(`“${sale.name}” now lets in 7 per second.`).waitFor();
      await op.page.fill('#cap', '40');
      await op.page.click('#cap-form button');
      await op.page.getByText(`“${sale.name}” now lets at most 40 choose seats at once.`).waitFor();
      const stored = await operator<SaleView>('GET', `/sales/${sale.saleId}`);
      assert.deepEqual([stored.settings.admitPerSecond, stored.settings.maxActive], [7, 40]);
      // A refused value shows the catalog's sentence, not a code.
      await op.page.fill('#rate', '0');
      await op.page.click('#rate-form button');
      await op.page.getByText(/Not done: Something in the request was not valid/).waitFor();

      // Closing asks first; keeping it open changes nothing; then it closes and a new fan is told.
      await op.page.click('#close');
      assert.equal(await op.page.evaluate(() => document.activeElement?.id), 'close-no');
      assert.match((await op.page.textContent('#close-question')) ?? '', /cannot be undone/);
      await op.page.click('#close-no');
      assert.equal((await operator<SaleView>('GET', `/sales/${sale.saleId}`)).status, 'OPEN');
      await op.page.click('#close');
      await op.page.click('#close-yes');
      await op.page.getByText(`“${sale.name}” is closed.`).waitFor();
      await op.page.waitForFunction(() => document.getElementById('sale-status')?.textContent === 'closed');
      const late = await fanPage('ko-KR', 122);
      await late.page.goto(`${server.url}/wait?sale=${sale.saleId}&schedule=3`);
      await late.page.waitForFunction(() => document.getElementById('ticket')?.dataset.state === 'closed');
      assert.match((await late.page.textContent('#position')) ?? '', /판매가 종료되었습니다/);
      await shot(late.page, 'waiting-closed-ko');
      assert.deepEqual([...op.problems, ...fan.problems, ...late.problems], []);
      await Promise.all([op.context.close(), fan.context.close(), late.context.close()]);
    });

    test('a fan finds a sale on the home page, waits through the pre-queue countdown and is admitted at the opening', async () => {
      const opensAt = new Date(Date.now() + 9000).toISOString();
      const sale = await operator<SaleView>('POST', '/sales', {
        name: `Opening ${tag}`,
        scheduleIds: [4],
        opensAt,
      });
      const fan = await fanPage('en-GB', 131);
      await recordLiveRegions(fan.page);
      await fan.page.goto(`${server.url}/`);
      await fan.page.waitForSelector('#sales:not([hidden])');
      await fan.page
        .locator('#sale-list li', { hasText: sale.name })
        .getByRole('link', { name: 'Join the line for schedule 4' })
        .click();
      await fan.page.waitForURL(new RegExp(`/wait\\?sale=${sale.saleId}&schedule=4`));
      await fan.page.waitForFunction(() => document.getElementById('ticket')?.dataset.state === 'prequeue');
      const secondsLeft = async () =>
        Number(
          /Sales open in (\d+) s/.exec((await fan.page.textContent('#position')) ?? '')?.[1] ?? Number.NaN,
        );
      const first = await secondsLeft();
      assert.ok(first >= 1 && first <= 9, `countdown to the opening: ${first}`);
      assert.match((await fan.page.textContent('#eta')) ?? '', /In the pre-queue so far: \d+\./);
      // It counts down by itself between polls.
      await fan.page.waitForFunction((s) => {
        const m = /Sales open in (\d+) s/.exec(document.getElementById('position')?.textContent ?? '');
        return m !== null && Number(m[1]) < s;
      }, first);
      assert.ok(
        (await said(fan.page)).some((s) => /^Sales open in/.test(s)),
        'the pre-queue was announced',
      );
      if (backend.full) await scan(fan.page, 'waiting room, pre-queue');
      await shot(fan.page, 'waiting-prequeue');
      await fan.page.waitForFunction(
        () => document.getElementById('ticket')?.dataset.state === 'admitted',
        null,
        { timeout: 60_000 },
      );
      assert.ok(Date.now() >= Date.parse(opensAt), 'admitted only after the opening');
      assert.deepEqual(fan.problems, []);
      await fan.context.close();
    });

    test('the last seat of a sale is bought and the next fan is told it is sold out', async () => {
      // A schedule with one seat, in a sale of its own.
      const concert = await operator<{ id: number }>('POST', '/concerts', {
        title: `One seat ${tag}`,
        artist: 'Solo',
        venue: 'Tiny room',
      });
      const schedule = await operator<{ id: number }>('POST', `/concerts/${concert.id}/schedules`, {
        startsAt: '2031-06-01T19:00:00Z',
      });
      await operator('PUT', `/schedules/${schedule.id}/seat-map`, {
        sections: [{ name: 'Floor', price: 1000, rows: [{ label: 'A', seats: ['1'] }] }],
      });
      await operator('POST', `/concerts/${concert.id}/publish`);
      await operator('POST', `/schedules/${schedule.id}/publish`);
      const sale = await operator<SaleView>('POST', '/sales', {
        name: `Last seat ${tag}`,
        scheduleIds: [schedule.id],
      });
      const buyer = 141;
      const issued = await fetch(`${server.url}/api/sales/${sale.saleId}/users/${buyer}/token`, {
        method: 'POST',
      });
      const { accessKey } = (await issued.json()) as { accessKey: string };
      for (let i = 0; i < 60; i++) {
        const t = await fanCall<{ status: string }>(
          'GET',
          `/api/sales/${sale.saleId}/users/${buyer}/token`,
          accessKey,
        );
        if (t.status === 'ACTIVE') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const seats = await fanCall<{ seats: Array<{ id: number }> }>(
        'GET',
        `/api/concerts/${concert.id}/schedules/${schedule.id}/seats/available`,
        accessKey,
      );
      await fanCall('POST', `/api/users/${buyer}/points/charge`, accessKey, { amount: 1000 });
      const hold = await fanCall<{ reservationId: string }>('POST', '/api/reservations', accessKey, {
        userId: buyer,
        concertScheduleId: schedule.id,
        seatId: seats.seats[0].id,
      });
      await fanCall('POST', '/api/payments', accessKey, { userId: buyer, reservationId: hold.reservationId });

      const fan = await fanPage('en-GB', 142);
      await recordLiveRegions(fan.page);
      await fan.page.goto(`${server.url}/wait?sale=${sale.saleId}&schedule=${schedule.id}`);
      await fan.page.waitForFunction(() => document.getElementById('ticket')?.dataset.state === 'sold-out');
      assert.equal(await fan.page.textContent('#position'), 'Sold out. Every seat for this date is gone.');
      await fan.page.waitForFunction(() =>
        (window as unknown as { __said: string[] }).__said.some((s) => /^Sold out/.test(s)),
      );
      if (backend.full) await scan(fan.page, 'waiting room, sold out');
      await shot(fan.page, 'waiting-sold-out');
      assert.deepEqual(fan.problems, []);
      await fan.context.close();
    });
  });
}
