import type { MessageKey } from '../i18n/en.ts';
import { format } from '../i18n/format.ts';

/** The page carries its catalog (chosen by the server from the browser's language or the switch) as JSON. */
const data = JSON.parse(document.getElementById('tr-i18n')?.textContent || '{}') as {
  messages?: Partial<Record<MessageKey, string>>;
  errors?: Record<string, string>;
};

export interface PageConfig {
  identity: 'none' | 'jwt';
  demoUsers: number;
  lang: string;
}

export const config = JSON.parse(document.getElementById('tr-config')?.textContent || '{}') as PageConfig;
export const lang = document.documentElement.lang || 'en';

export const t = (key: MessageKey, vars?: Record<string, string | number>): string =>
  format(data.messages?.[key] ?? key, vars);

/** A human sentence for an API error code, in the page's language; never a bare code. */
export const errorText = (code: string): string =>
  data.errors?.[code] ?? data.errors?.UNKNOWN ?? 'Something went wrong. Try again.';

/** "about 3 min": rounded the way a person would say it. */
export function duration(seconds: number): string {
  // Under a minute, to the next 5 s: precise enough to watch, honest about being an estimate.
  if (seconds < 60) return t('time.seconds', { n: Math.max(5, Math.ceil(seconds / 5) * 5) });
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t('time.minutes', { n: minutes });
  return t('time.hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/** A countdown to the second: "4 min 05 s" style, from the catalog's units. */
export function countdown(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const rest = t('time.seconds', { n: String(s % 60).padStart(m ? 2 : 1, '0') });
  return m ? `${t('time.minutes', { n: m })} ${rest}` : rest;
}

const timeFormat = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
export const clockTime = (at: number | Date = Date.now()): string => timeFormat.format(at);

export const numberText = (n: number): string => n.toLocaleString(lang);
