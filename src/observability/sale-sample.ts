// The wire shape of one point of the console's charts: plain data, read by the server and the pages alike.
/** One point of the operator console's charts. */
export interface SaleSample {
  at: number;
  waiting: number;
  active: number;
  /** The rate admission runs at now (adaptive or configured). */
  admitPerSecond: number;
  /** Admissions per second actually made while people waited; null before there is a measurement. */
  measuredAdmitPerSecond: number | null;
  holds: number;
  sold: number;
  revenue: number;
  /** Booking-path p95 over the last seconds; null with no booking traffic. */
  bookingP95Ms: number | null;
  /** Share of booking-path answers that were 5xx, in percent. */
  errorPercent: number;
}
