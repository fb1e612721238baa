import { api } from '../lib/api.ts';
import { errorText, numberText, t } from '../lib/i18n.ts';

interface SeatMapChange {
  scheduleId: number;
  seatCount: number;
  added: number;
  removed: number;
  repriced: number;
  unchanged: number;
}

interface Problem {
  line?: number;
  path?: string;
  message: string;
}

const $ = <E extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as E;

/** The seat-map import form: JSON or CSV, pasted or read from a file, sent as it is; the server judges it. */
export function seatMapImport(operatorKey: () => string): void {
  const form = $<HTMLFormElement>('import-form');
  const schedule = $<HTMLInputElement>('import-schedule');
  const file = $<HTMLInputElement>('import-file');
  const text = $<HTMLTextAreaElement>('import-text');
  const result = $('import-result');
  const problems = $('import-problems');
  const submit = form.querySelector('button[type=submit]') as HTMLButtonElement;
  const formatOf = () => (form.elements.namedItem('format') as RadioNodeList).value as 'json' | 'csv';

  file.addEventListener('change', async () => {
    const picked = file.files?.[0];
    if (!picked) return;
    text.value = await picked.text();
    const csv = /\.csv$/i.test(picked.name) || picked.type === 'text/csv';
    $<HTMLInputElement>(csv ? 'format-csv' : 'format-json').checked = true;
  });

  const show = (message: string, items: string[], failed: boolean) => {
    result.textContent = message;
    result.classList.toggle('error', failed);
    problems.textContent = '';
    for (const item of items) {
      const li = document.createElement('li');
      li.textContent = item;
      problems.append(li);
    }
    // After a refusal the operator lands on the explanation, next to the list to fix.
    if (failed) result.focus();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    const csv = formatOf() === 'csv';
    const url = `/admin/api/schedules/${Number(schedule.value)}/seat-map${csv ? '/csv' : ''}`;
    submit.disabled = true;
    const res = await api<SeatMapChange>('PUT', url, {
      key: operatorKey(),
      text: { type: csv ? 'text/csv' : 'application/json', body: text.value },
    });
    submit.disabled = false;
    if (res.ok) {
      const c = res.data;
      show(
        t('admin.imported', {
          schedule: c.scheduleId,
          seats: numberText(c.seatCount),
          added: numberText(c.added),
          removed: numberText(c.removed),
          repriced: numberText(c.repriced),
          unchanged: numberText(c.unchanged),
        }),
        [],
        false,
      );
      return;
    }
    const details = res.details ?? {};
    if (res.code === 'SEAT_MAP_INVALID') {
      const list = (details.problems as Problem[] | undefined) ?? [];
      const count = Number(details.problemCount ?? list.length);
      show(
        `${errorText(res.code)} ${t('admin.importProblems', { count: numberText(count) })}`,
        list.map((p) =>
          p.line !== undefined
            ? t('admin.problemLine', { line: p.line, message: p.message })
            : `${p.path ?? ''}: ${p.message}`,
        ),
        true,
      );
      return;
    }
    if (res.code === 'SEAT_IN_USE') {
      const seats = (details.seats as Array<{ seatId: number; status: string }> | undefined) ?? [];
      show(
        errorText(res.code),
        seats.map((s) =>
          t('admin.seatInUse', {
            seat: s.seatId,
            status: t(s.status === 'SOLD' ? 'admin.seatSold' : 'admin.seatHeld'),
          }),
        ),
        true,
      );
      return;
    }
    // A document of the wrong shape: the schema's own words say where.
    show(errorText(res.code), res.code === 'VALIDATION_FAILED' ? [res.message] : [], true);
  });
}
