import * as hdr from 'hdr-histogram-js';

/** Latencies are recorded in microseconds, 3 significant digits, up to one hour. */
export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** Exact merge: HDR buckets add up, so percentiles of the merge are those of all values together. */
export function mergeEncoded(encoded: Iterable<string>): Histogram {
  const merged = newHistogram();
  for (const text of encoded) {
    if (!text) continue;
    const part = decodeHistogram(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}

export interface LatencySummary {
  count: number;
  avgMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const ms = (us: number) => Math.round(us) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, avgMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count,
    avgMs: ms(histogram.mean),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p95Ms: ms(histogram.getValueAtPercentile(95)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    // The bucket's top, not the raw max: the same whether or not the histogram went through a merge.
    maxMs: ms(histogram.getValueAtPercentile(100)),
  };
}
