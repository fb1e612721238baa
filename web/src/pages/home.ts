import type { MessageKey } from '../i18n/en.ts';
import { api } from '../lib/api.ts';
import { lang, t } from '../lib/i18n.ts';
import type { PublicSale } from '../lib/sales-api.ts';
import { userPicker } from '../lib/user-picker.ts';

userPicker();

/** The seed's line (/api/users/:userId/token) is sale 1, over every schedule (the sales contract). */
const DEFAULT_SALE_ID = 1;
const MAX_LINKS = 20;
const when = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

/** The sales on offer, when the server has the sales API (a server without it answers 404 and nothing shows). */
async function listSales(): Promise<void> {
  const section = document.getElementById('sales');
  const list = document.getElementById('sale-list');
  if (!section || !list) return;
  const res = await api<{ sales: PublicSale[] }>('GET', '/api/sales');
  // The default sale is every concert's line, already listed below; a sale's schedules are a handful.
  const named = res.ok ? res.data.sales.filter((s) => s.saleId !== DEFAULT_SALE_ID) : [];
  if (named.length === 0) return;
  for (const sale of named) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'title';
    name.textContent = sale.name;
    const state = document.createElement('span');
    state.className = 'meta';
    state.textContent = t(`home.saleStatus.${sale.status}` as MessageKey, {
      time: sale.opensAt ? when.format(Date.parse(sale.opensAt)) : '',
    });
    li.append(name, ' ', state);
    if (sale.status !== 'SOLD_OUT' && sale.status !== 'CLOSED')
      for (const schedule of sale.scheduleIds.slice(0, MAX_LINKS)) {
        const a = document.createElement('a');
        a.className = 'button';
        a.href = `/wait?${new URLSearchParams({ sale: String(sale.saleId), schedule: String(schedule) })}`;
        a.textContent = t('home.saleJoin', { schedule });
        li.append(' ', a);
      }
    list.append(li);
  }
  section.hidden = false;
}

void listSales();
