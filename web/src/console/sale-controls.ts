import type { MessageKey } from '../i18n/en.ts';
import type { ApiResult } from '../lib/api.ts';
import { clockTime, errorText, numberText, t } from '../lib/i18n.ts';
import { operatorSales, type Sale, type SaleWithCounters } from '../lib/sales-api.ts';

const $ = <E extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as E;
const CHOSEN = 'tr.admin.sale';
/** The list of sales is read again this often, so a sale created meanwhile shows up. */
const LIST_EVERY_MS = 10_000;

/**
 * The sale controls: choose a sale, see its figures, pause/resume, set its rate and cap, close it (after a
 * confirmation). Every answer, or the human sentence for its error, is said in one status region.
 */
export function saleControls(operatorKey: () => string) {
  const fieldset = $<HTMLFieldSetElement>('sale-controls');
  const select = $<HTMLSelectElement>('sale');
  const result = $('sale-result');
  const rate = $<HTMLInputElement>('rate');
  const cap = $<HTMLInputElement>('cap');
  const confirm = $('close-confirm');
  const closeButton = $<HTMLButtonElement>('close');
  let on = false;
  let listedAt = 0;
  let sales: Sale[] = [];
  let shownFor: number | undefined;
  let busy = false;
  const salesApi = () => operatorSales(operatorKey());

  const chosen = (): Sale | undefined => sales.find((s) => s.saleId === Number(select.value));
  const statusText = (s: Sale) => t(`admin.status.${s.status}` as MessageKey);

  function say(text: string, failed = false): void {
    result.textContent = `${text} (${clockTime()})`;
    result.classList.toggle('error', failed);
  }

  function fillList(): void {
    const ids = sales.map((s) => String(s.saleId));
    // The same sales: only their texts change, so an operator using the list is not disturbed.
    if (ids.join() === Array.from(select.options, (o) => o.value).join()) {
      for (const sale of sales) update(sale);
      return;
    }
    const keep = select.value || sessionStorage.getItem(CHOSEN) || '';
    select.textContent = '';
    for (const s of sales) {
      const option = document.createElement('option');
      option.value = String(s.saleId);
      option.textContent = t('admin.saleOption', { name: s.name, id: s.saleId, status: statusText(s) });
      select.append(option);
    }
    if (sales.some((s) => String(s.saleId) === keep)) select.value = keep;
    if (!sales.length) say(t('admin.saleNone'));
  }

  /** A sale's latest state: in the list, and in the form fields when the operator is not typing in them. */
  function update(sale: Sale): void {
    sales = sales.map((s) => (s.saleId === sale.saleId ? { ...s, ...sale } : s));
    const option = Array.from(select.options).find((o) => o.value === String(sale.saleId));
    if (option)
      option.textContent = t('admin.saleOption', {
        name: sale.name,
        id: sale.saleId,
        status: statusText(sale),
      });
    if (String(sale.saleId) === select.value && shownFor !== sale.saleId) {
      shownFor = sale.saleId;
      rate.value = String(sale.settings.admitPerSecond);
      cap.value = String(sale.settings.maxActive);
    }
  }

  function figures(sale: SaleWithCounters): void {
    const c = sale.counters;
    $('sale-status').textContent = statusText(sale);
    const set = (id: string, n: number) => {
      $(`sale-${id}`).textContent = numberText(n);
    };
    set('waiting', c.waiting);
    set('prequeued', c.prequeued);
    set('active', c.active);
    set('admitted', c.admittedTotal);
    set('holds', c.holds);
    set('sold', c.sold);
    set('revenue', c.revenue);
    set('rate', Math.round(c.admitPerSecond * 10) / 10);
    set('pace', Math.round(c.pacePerSecond * 10) / 10);
    set('window', c.window);
  }

  async function refresh(): Promise<void> {
    if (!on) return;
    const api = salesApi();
    if (Date.now() - listedAt >= LIST_EVERY_MS) {
      const res = await api.list();
      if (!res.ok) return say(t('admin.notDone', { error: errorText(res.code) }), true);
      listedAt = Date.now();
      sales = res.data.sales;
      fillList();
    }
    const sale = chosen();
    if (!sale) return;
    const res = await api.get(sale.saleId);
    if (res.ok) {
      update(res.data);
      figures(res.data);
    }
  }

  async function act(run: (saleId: number) => Promise<ApiResult<Sale>>, done: (s: Sale) => string) {
    const sale = chosen();
    if (!sale || busy) return;
    // Busy, not disabled: disabling the pressed button would throw the keyboard focus away.
    busy = true;
    fieldset.setAttribute('aria-busy', 'true');
    const res = await run(sale.saleId);
    busy = false;
    fieldset.removeAttribute('aria-busy');
    if (!res.ok) {
      say(t('admin.notDone', { error: errorText(res.code) }), true);
      return;
    }
    shownFor = undefined;
    update(res.data);
    say(done(res.data));
    await refresh();
  }

  select.addEventListener('change', () => {
    sessionStorage.setItem(CHOSEN, select.value);
    void refresh();
  });
  $('pause').addEventListener('click', () =>
    act(salesApi().pause, (s) => t('admin.paused', { name: s.name })),
  );
  $('resume').addEventListener('click', () =>
    act(salesApi().resume, (s) => t('admin.resumed', { name: s.name })),
  );
  $('rate-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const admitPerSecond = Number(rate.value);
    void act(
      (id) => salesApi().settings(id, { admitPerSecond }),
      (s) => t('admin.rateSet', { name: s.name, n: numberText(s.settings.admitPerSecond) }),
    );
  });
  $('cap-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const maxActive = Number(cap.value);
    void act(
      (id) => salesApi().settings(id, { maxActive }),
      (s) => t('admin.capSet', { name: s.name, n: numberText(s.settings.maxActive) }),
    );
  });

  // Closing cannot be undone: it asks first, with the safe answer focused.
  closeButton.addEventListener('click', () => {
    const sale = chosen();
    if (!sale) return;
    $('close-question').textContent = t('admin.closeQuestion', { name: sale.name });
    confirm.hidden = false;
    $('close-no').focus();
  });
  const endConfirm = () => {
    confirm.hidden = true;
    closeButton.focus();
  };
  $('close-no').addEventListener('click', endConfirm);
  $('close-yes').addEventListener('click', async () => {
    confirm.hidden = true;
    await act(salesApi().close, (s) => t('admin.closed', { name: s.name }));
    closeButton.focus();
  });
  confirm.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') endConfirm();
  });

  return {
    /** Whether this server has the sales routes (from /admin/api/stats). */
    available(has: boolean): void {
      on = has;
      fieldset.disabled = !has;
    },
    refresh,
    reset(): void {
      listedAt = 0;
      sales = [];
      shownFor = undefined;
      select.textContent = '';
    },
  };
}
