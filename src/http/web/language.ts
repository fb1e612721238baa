import { en, type MessageKey, type Messages } from '../../../web/src/i18n/en.ts';
import { type ClientErrorCode, errorsEn, errorsKo } from '../../../web/src/i18n/errors.ts';
import { format } from '../../../web/src/i18n/format.ts';
import { ko } from '../../../web/src/i18n/ko.ts';

export const LANGUAGES = ['en', 'ko'] as const;
export type Language = (typeof LANGUAGES)[number];

const catalogs: Record<Language, { messages: Messages; errors: Record<ClientErrorCode, string> }> = {
  en: { messages: en, errors: errorsEn },
  ko: { messages: ko, errors: errorsKo },
};

export const isLanguage = (v: unknown): v is Language => v === 'en' || v === 'ko';

/** ?lang= first, then the tr_lang cookie the switch sets, then the browser's Accept-Language; English otherwise. */
export function chooseLanguage(
  query: unknown,
  cookieHeader: string | undefined,
  acceptLanguage?: string,
): Language {
  if (isLanguage(query)) return query;
  const cookie = /(?:^|;\s*)tr_lang=(en|ko)\b/.exec(cookieHeader ?? '')?.[1];
  if (isLanguage(cookie)) return cookie;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p.trim())?.[1]).find(Boolean);
      return { base: tag.split('-')[0], q: q === undefined ? 1 : Number(q) };
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked.map((l) => l.base).find(isLanguage) ?? 'en';
}

export function translator(lang: Language) {
  const { messages } = catalogs[lang];
  return (key: MessageKey, vars?: Record<string, string | number>) => format(messages[key], vars);
}

/** The part of a catalog a page's script needs, embedded in the page as JSON (the script has no catalog of its own). */
export function clientCatalog(lang: Language, prefixes: readonly string[], withErrors: boolean) {
  const { messages, errors } = catalogs[lang];
  const picked: Partial<Messages> = {};
  for (const key of Object.keys(messages) as MessageKey[])
    if (key.startsWith('site.') || prefixes.some((p) => key.startsWith(p))) picked[key] = messages[key];
  return withErrors ? { messages: picked, errors } : { messages: picked };
}
