import { request } from 'undici';

/**
 * An application histogram's `_sum` and `_count` are counters (their rates give the mean, e.g. of pool
 * waits); its buckets, and the runtime's and HTTP histograms, are left out.
 */
function histogramTotalType(name: string, types: Record<string, string>): string | undefined {
  const base = /^(.*)_(sum|count)$/.exec(name)?.[1];
  if (!base || types[base] !== 'histogram' || /^(nodejs_|process_|http_)/.test(base)) return undefined;
  types[name] = 'counter';
  return 'counter';
}

/** Prometheus text -> { 'name{labels}': value } for gauges and counters (histogram buckets left out). */
export function parsePrometheus(text: string): {
  values: Record<string, number>;
  types: Record<string, string>;
} {
  const values: Record<string, number> = {};
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name && type) types[name] = type;
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match;
    const type = types[name] ?? histogramTotalType(name, types);
    if (type !== 'gauge' && type !== 'counter') continue;
    const value = Number(raw);
    if (Number.isFinite(value)) values[name + labels] = value;
  }
  return { values, types };
}

const INTERESTING =
  /queue|pool|wait|lag|active|inflight|in_flight|admi|connection|overload|held|cpu|heap|rss/i;
/** The runtime's few series worth charting next to latency; the rest of nodejs_* and process_* is noise here. */
const RUNTIME =
  /^(nodejs_eventloop_lag_(p99|mean)_seconds|nodejs_heap_size_used_bytes|process_resident_memory_bytes|process_cpu_seconds_total)$/;
const MAX_SERIES = 64;

/** Lower ranks are charted first: the application's own series, then key runtime ones, then the rest. */
export function seriesRank(key: string): number {
  const name = key.replace(/\{.*$/, '');
  const generic = /^(nodejs_|process_|http_)/.test(name);
  if (!generic) return INTERESTING.test(key) ? 0 : 1;
  if (RUNTIME.test(name)) return 2;
  return INTERESTING.test(key) ? 3 : 4;
}

/**
 * The series to keep from one scrape: the application's and the key runtime ones always (a sale run's
 * labelled series once crowded the server's CPU and event-loop lag out of a fixed budget mid-run), then the
 * rest best ranked first, stable within a rank, up to `max` in all.
 */
export function chooseSeries(keys: string[], max = MAX_SERIES): string[] {
  const ranked = keys
    .map((key, i) => ({ key, i, rank: seriesRank(key) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i);
  const kept = ranked.filter((c) => c.rank <= 2);
  const rest = ranked.filter((c) => c.rank > 2).slice(0, Math.max(0, max - kept.length));
  return [...kept, ...rest].map((c) => c.key);
}

/** Scrapes a Prometheus endpoint once a second; counters become per-second rates. */
export class ServerMetricsScraper {
  private readonly url: string;
  private previous: Record<string, number> | undefined;
  private types: Record<string, string> = {};
  failures = 0;

  constructor(url: string) {
    this.url = url;
  }

  async scrape(): Promise<Record<string, number> | undefined> {
    try {
      const res = await request(this.url, { headersTimeout: 900, bodyTimeout: 900 });
      if (res.statusCode !== 200) {
        await res.body.dump();
        this.failures++;
        return undefined;
      }
      const parsed = parsePrometheus(await res.body.text());
      this.types = { ...this.types, ...parsed.types };
      // Chosen on every scrape: series born mid-run (a first shed, a first admission-rate change) show up too.
      const out: Record<string, number> = {};
      for (const key of chooseSeries(Object.keys(parsed.values))) {
        const value = parsed.values[key];
        if (value === undefined) continue;
        const name = key.replace(/\{.*$/, '');
        if (this.types[name] === 'counter') {
          const before = this.previous?.[key];
          if (before !== undefined) out[`rate(${key})`] = Math.max(0, value - before);
        } else {
          out[key] = value;
        }
      }
      this.previous = parsed.values;
      return out;
    } catch {
      this.failures++;
      return undefined;
    }
  }
}
