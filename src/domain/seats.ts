// A schedule's seats as the catalog shows them; the claims that take them are booking's (booking/model.ts).

export interface Seat {
  id: number;
  number: number;
  /** VIP, R or S on the demo's tiered seats; the section on a stored seat map. */
  grade: string;
  price: number;
  /** Where a seat of a stored seat map is; the demo's seats have no place. */
  section?: string;
  row?: string;
  label?: string;
}

/** A seat someone holds (until its hold expires) or bought. */
export interface TakenSeat {
  id: number;
  status: 'HELD' | 'SOLD';
}

/** A schedule's seats as a fan sees them: the free ones in full, the others by id and whether held or sold. */
export interface SeatAvailability {
  free: Seat[];
  held: number[];
  sold: number[];
}
