// One second of a run's timeline, on its own so the result and its summaries can share it without a cycle.
export interface TimelinePoint {
  second: number;
  vus: number;
  rps: number;
  p95Ms: number;
  p99Ms: number;
  failures: number;
  business: number;
  flowsCompleted: number;
  server?: Record<string, number>;
}
