/**
 * Waiters in arrival order with O(log n) rank: arrival sequence numbers index a Fenwick tree of 0/1
 * flags. The window of sequence numbers slides forward as the front is admitted, so memory follows the
 * line's span, not the number of arrivals ever.
 */
export class ArrivalLine {
  #base = 0;
  #next = 0;
  #head = 0;
  #count = 0;
  #tree: Int32Array;
  #users: Int32Array;

  constructor(initialCapacity = 1024) {
    this.#tree = new Int32Array(initialCapacity + 1);
    this.#users = new Int32Array(initialCapacity);
  }

  get size(): number {
    return this.#count;
  }

  /** Appends a user at the back; returns the arrival sequence number. */
  push(userId: number): number {
    if (this.#next - this.#base === this.#users.length) this.#compact();
    const idx = this.#next - this.#base;
    this.#users[idx] = userId;
    this.#add(idx, 1);
    this.#count++;
    return this.#next++;
  }

  remove(seq: number): void {
    const idx = seq - this.#base;
    if (idx < 0 || idx >= this.#next - this.#base || this.#users[idx] === 0) return;
    this.#users[idx] = 0;
    this.#add(idx, -1);
    this.#count--;
  }

  /** 1-based place in line. */
  rank(seq: number): number {
    let i = seq - this.#base + 1;
    let sum = 0;
    while (i > 0) {
      sum += this.#tree[i];
      i -= i & -i;
    }
    return sum;
  }

  /** Up to n users from the front, in order, as [seq, userId] pairs; does not remove them. */
  front(n: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const used = this.#next - this.#base;
    while (this.#head < used && this.#users[this.#head] === 0) this.#head++;
    for (let i = this.#head; i < used && out.length < n; i++) {
      if (this.#users[i] !== 0) out.push([this.#base + i, this.#users[i]]);
    }
    return out;
  }

  #add(idx: number, delta: number): void {
    for (let i = idx + 1; i < this.#tree.length; i += i & -i) this.#tree[i] += delta;
  }

  #compact(): void {
    const used = this.#next - this.#base;
    while (this.#head < used && this.#users[this.#head] === 0) this.#head++;
    const span = used - this.#head;
    const capacity = Math.max(1024, span * 2);
    const users = new Int32Array(capacity);
    users.set(this.#users.subarray(this.#head, used));
    const tree = new Int32Array(capacity + 1);
    for (let i = 1; i <= capacity; i++) {
      tree[i] += users[i - 1] === 0 ? 0 : 1;
      const parent = i + (i & -i);
      if (parent <= capacity) tree[parent] += tree[i];
    }
    this.#base += this.#head;
    this.#head = 0;
    this.#users = users;
    this.#tree = tree;
  }
}
