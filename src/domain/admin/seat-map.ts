import { DomainError } from '../errors.ts';

/** A seat as an operator describes it: where it is and what it costs (integer points). */
export interface SeatPlace {
  section: string;
  row: string;
  label: string;
  price: number;
}

/** A stored seat: the place plus the id reservations name (`seatId`). */
export interface StoredSeat extends SeatPlace {
  id: number;
}

/** The JSON import: a price per section, overridden per seat where a seat names its own. */
export interface SeatMapDocument {
  sections: Array<{
    name: string;
    price?: number;
    rows: Array<{ label: string; seats: Array<string | { label: string; price?: number }> }>;
  }>;
}

export interface SeatMapProblem {
  /** CSV: the 1-based line of the file. */
  line?: number;
  /** JSON: where in the document, e.g. sections[0].rows[2].seats[5]. */
  path?: string;
  message: string;
}

export const SEAT_MAP_LIMITS = {
  maxSeats: 100_000,
  section: 50,
  row: 20,
  label: 20,
  maxPrice: 1_000_000_000,
  /** Problems reported at most; a file with more is still refused as a whole. */
  maxProblems: 100,
} as const;

export const CSV_HEADER = 'section,row,label,price';

/** Names are printable text without surrounding spaces or control characters. */
function nameProblem(what: 'section' | 'row' | 'label', value: string): string | undefined {
  const max = SEAT_MAP_LIMITS[what];
  if (value.length === 0) return `${what} is empty`;
  if (value.length > max) return `${what} is longer than ${max} characters`;
  if (value.trim() !== value) return `${what} has leading or trailing spaces`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${what} contains a control character`;
  return undefined;
}

function priceProblem(price: unknown): string | undefined {
  if (typeof price !== 'number' || !Number.isInteger(price) || price < 0 || price > SEAT_MAP_LIMITS.maxPrice)
    return `price must be an integer from 0 to ${SEAT_MAP_LIMITS.maxPrice}`;
  return undefined;
}

class Problems {
  readonly list: SeatMapProblem[] = [];
  count = 0;
  add(p: SeatMapProblem): void {
    this.count++;
    if (this.list.length < SEAT_MAP_LIMITS.maxProblems) this.list.push(p);
  }
  /** Refuses the whole map when anything was wrong: imports are all or nothing. */
  throwIfAny(): void {
    if (this.count === 0) return;
    throw new DomainError(
      'SEAT_MAP_INVALID',
      `The seat map has ${this.count} problem${this.count === 1 ? '' : 's'}; nothing was imported`,
      { problems: this.list, problemCount: this.count },
    );
  }
}

const placeKey = (p: Pick<SeatPlace, 'section' | 'row' | 'label'>) =>
  JSON.stringify([p.section, p.row, p.label]);

/** Splits one CSV record (RFC 4180 quoting, no line breaks inside fields); undefined when the quoting is broken. */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return undefined;
      i++;
    } else {
      const c = line.indexOf(',', i);
      const value = c < 0 ? line.slice(i) : line.slice(i, c);
      if (value.includes('"')) return undefined;
      fields.push(value);
      if (c < 0) return fields;
      i = c + 1;
    }
  }
}

/**
 * The CSV import: UTF-8, a header line `section,row,label,price`, then one seat per line; fields may be
 * quoted ("A, left"); price is an integer number of points; no blank lines except one final line break.
 * Seats get ids in file order.
 */
export function seatMapFromCsv(text: string): SeatPlace[] {
  const problems = new Problems();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== CSV_HEADER) {
    problems.add({ line: 1, message: `the first line must be exactly ${CSV_HEADER}` });
    problems.throwIfAny();
  }
  const seats: SeatPlace[] = [];
  const seen = new Map<string, number>();
  for (let n = 1; n < lines.length; n++) {
    const line = n + 1;
    const fields = csvFields(lines[n]);
    if (!fields) {
      problems.add({ line, message: 'broken quoting' });
      continue;
    }
    if (fields.length !== 4) {
      problems.add({ line, message: `expected 4 fields (${CSV_HEADER}), got ${fields.length}` });
      continue;
    }
    const [section, row, label, priceText] = fields;
    const price = /^\d{1,10}$/.test(priceText) ? Number(priceText) : Number.NaN;
    const found = [
      nameProblem('section', section),
      nameProblem('row', row),
      nameProblem('label', label),
      priceProblem(price),
    ].filter((m) => m !== undefined);
    for (const message of found) problems.add({ line, message });
    if (found.length) continue;
    const place = { section, row, label, price };
    const first = seen.get(placeKey(place));
    if (first !== undefined) {
      problems.add({ line, message: `seat ${section}/${row}/${label} is already on line ${first}` });
      continue;
    }
    seen.set(placeKey(place), line);
    seats.push(place);
  }
  checkSize(seats.length, problems, (message) => ({ line: lines.length, message }));
  problems.throwIfAny();
  return seats;
}

/** The JSON import, flattened in document order. */
export function seatMapFromDocument(doc: SeatMapDocument): SeatPlace[] {
  const problems = new Problems();
  const seats: SeatPlace[] = [];
  const seen = new Map<string, string>();
  for (const [si, section] of doc.sections.entries()) {
    const sp = `sections[${si}]`;
    const sectionProblem = nameProblem('section', section.name);
    if (sectionProblem) problems.add({ path: `${sp}.name`, message: sectionProblem });
    const sectionPrice = section.price === undefined ? undefined : priceProblem(section.price);
    if (sectionPrice) problems.add({ path: `${sp}.price`, message: sectionPrice });
    for (const [ri, row] of section.rows.entries()) {
      const rp = `${sp}.rows[${ri}]`;
      const rowProblem = nameProblem('row', row.label);
      if (rowProblem) problems.add({ path: `${rp}.label`, message: rowProblem });
      for (const [ki, seat] of row.seats.entries()) {
        const path = `${rp}.seats[${ki}]`;
        const label = typeof seat === 'string' ? seat : seat.label;
        const price = typeof seat === 'string' || seat.price === undefined ? section.price : seat.price;
        const found = [nameProblem('label', label)];
        if (price === undefined) found.push('no price: give the seat or its section one');
        else if (price !== section.price) found.push(priceProblem(price));
        const messages = found.filter((m) => m !== undefined);
        for (const message of messages) problems.add({ path, message });
        if (messages.length || sectionProblem || rowProblem || sectionPrice || price === undefined) continue;
        const place = { section: section.name, row: row.label, label, price };
        const first = seen.get(placeKey(place));
        if (first !== undefined) {
          problems.add({
            path,
            message: `seat ${place.section}/${place.row}/${label} is already at ${first}`,
          });
          continue;
        }
        seen.set(placeKey(place), path);
        seats.push(place);
      }
    }
  }
  checkSize(seats.length, problems, (message) => ({ path: 'sections', message }));
  problems.throwIfAny();
  return seats;
}

function checkSize(count: number, problems: Problems, at: (message: string) => SeatMapProblem): void {
  if (count > SEAT_MAP_LIMITS.maxSeats) problems.add(at(`more than ${SEAT_MAP_LIMITS.maxSeats} seats`));
  if (count === 0 && problems.count === 0) problems.add(at('the seat map has no seats'));
}

/** How a new seat map changes the stored one: places keep their seat id; new places get fresh ids. */
export interface SeatMapPlan {
  added: StoredSeat[];
  removed: StoredSeat[];
  repriced: StoredSeat[];
  unchanged: number;
  /** The whole map afterwards, in seat-id order. */
  seats: StoredSeat[];
}

export function planSeatMap(current: StoredSeat[], next: SeatPlace[], firstFreeId: number): SeatMapPlan {
  const byPlace = new Map(current.map((s) => [placeKey(s), s]));
  const plan: SeatMapPlan = { added: [], removed: [], repriced: [], unchanged: 0, seats: [] };
  let nextId = firstFreeId;
  for (const place of next) {
    const key = placeKey(place);
    const old = byPlace.get(key);
    if (!old) {
      plan.added.push({ id: nextId++, ...place });
      continue;
    }
    byPlace.delete(key);
    if (old.price === place.price) {
      plan.unchanged++;
      plan.seats.push(old);
    } else {
      plan.repriced.push({ ...old, price: place.price });
    }
  }
  plan.removed = [...byPlace.values()];
  plan.seats = [...plan.seats, ...plan.repriced, ...plan.added].sort((a, b) => a.id - b.id);
  return plan;
}

/** A short description of a seat map for the audit log: seats and price range per section. */
export function seatMapSummary(seats: StoredSeat[]): {
  seatCount: number;
  sections: Array<{ name: string; seats: number; minPrice: number; maxPrice: number }>;
} {
  const sections = new Map<string, { name: string; seats: number; minPrice: number; maxPrice: number }>();
  for (const s of seats) {
    const cur = sections.get(s.section);
    if (!cur) sections.set(s.section, { name: s.section, seats: 1, minPrice: s.price, maxPrice: s.price });
    else {
      cur.seats++;
      cur.minPrice = Math.min(cur.minPrice, s.price);
      cur.maxPrice = Math.max(cur.maxPrice, s.price);
    }
  }
  return { seatCount: seats.length, sections: [...sections.values()].slice(0, 200) };
}
