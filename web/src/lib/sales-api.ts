import type { Static } from 'typebox';
import type * as bodies from '../../../src/http/sale-bodies.ts';
import { api } from './api.ts';

/** The sales API's shapes, as the server's schemas define them; the pages talk to sales only through this module. */
export type SaleStatus = Static<typeof bodies.SaleStatus>;
export type SaleSettings = Static<typeof bodies.SaleSettings>;
/** A sale as operators see it. */
export type Sale = Static<typeof bodies.AdminSale>;
export type SaleCounters = Static<typeof bodies.SaleCounters>;
export type SaleWithCounters = Static<typeof bodies.AdminSaleWithCounters>;
/** What a fan sees of a sale. */
export type PublicSale = Static<typeof bodies.PublicSale>;

export type SettingsChange = Partial<Pick<SaleSettings, 'admitPerSecond' | 'maxActive'>>;

/** The operator routes, signed with the operator key. */
export const operatorSales = (key: string) => ({
  list: () => api<{ sales: Sale[] }>('GET', '/admin/api/sales', { key }),
  get: (saleId: number) => api<SaleWithCounters>('GET', `/admin/api/sales/${saleId}`, { key }),
  pause: (saleId: number) => api<Sale>('POST', `/admin/api/sales/${saleId}/pause`, { key }),
  resume: (saleId: number) => api<Sale>('POST', `/admin/api/sales/${saleId}/resume`, { key }),
  close: (saleId: number) => api<Sale>('POST', `/admin/api/sales/${saleId}/close`, { key }),
  settings: (saleId: number, change: SettingsChange) =>
    api<Sale>('PATCH', `/admin/api/sales/${saleId}/settings`, { key, body: change }),
});

/** The waiting-room routes of one sale; saleId undefined is the seed's default sale routes. */
export function ticketPath(saleId: number | undefined, user: number): string {
  return saleId === undefined ? `/api/users/${user}/token` : `/api/sales/${saleId}/users/${user}/token`;
}
