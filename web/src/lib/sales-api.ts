import { api } from './api.ts';

/** The sales API's shapes (docs: the sales contract); the pages talk to sales only through this module. */
export type SaleStatus = 'SCHEDULED' | 'OPEN' | 'PAUSED' | 'SOLD_OUT' | 'CLOSED';

export interface SaleSettings {
  admitPerSecond: number;
  maxActive: number;
  minWindow: number;
  maxWindow: number;
  overbook: number;
  paused: boolean;
}

export interface Sale {
  saleId: number;
  name: string;
  /** Every schedule, present and future; scheduleIds is then empty. */
  allSchedules: boolean;
  scheduleIds: number[];
  opensAt: string | null;
  status: SaleStatus;
  settings: SaleSettings;
  closedAt: string | null;
}

export interface SaleCounters {
  waiting: number;
  prequeued: number;
  active: number;
  admittedTotal: number;
  holds: number;
  sold: number;
  revenue: number;
  admitPerSecond: number;
  /** Users admitted at once at most, as adaptive admission sets it; 0 while admission is halted. */
  window: number;
  /** The admission rate in force, at most the sale's admitPerSecond. */
  pacePerSecond: number;
}

export type SaleWithCounters = Sale & { counters: SaleCounters };

/** What a fan sees of a sale. */
export interface PublicSale {
  saleId: number;
  name: string;
  /** Every schedule, present and future; scheduleIds is then empty. */
  allSchedules: boolean;
  scheduleIds: number[];
  opensAt: string | null;
  status: SaleStatus;
}

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
