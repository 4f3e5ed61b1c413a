/** Fixed-capacity FIFO of (time µs, value ms) pairs; overwrites the oldest entry when full. */
export class TimedRing {
  // Allocated lazily and grown by doubling up to `capacity`: a flow that sends few packets (most
  // of an AP's flows) costs a few hundred bytes, not capacity x 16 bytes (measured: 128 KiB per
  // flow with eager 4096-entry rings, 1.25 GiB for a full 10k-flow table).
  private tUs: Float64Array;
  private val: Float64Array;
  private alloc: number;
  private head = 0; // index of the oldest entry
  private count = 0;
  /** Entries lost to overwrite because the ring was full (for metrics/tests). */
  overwritten = 0;

  constructor(readonly capacity: number) {
    this.alloc = Math.min(capacity, 16);
    this.tUs = new Float64Array(this.alloc);
    this.val = new Float64Array(this.alloc);
  }

  /** Bytes held by the ring's arrays (for memory accounting). */
  get allocatedBytes(): number {
    return this.alloc * 16;
  }

  private grow(): void {
    const n = Math.min(this.capacity, this.alloc * 2);
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.alloc;
      t[k] = this.tUs[i] ?? 0;
      v[k] = this.val[i] ?? 0;
    }
    this.tUs = t;
    this.val = v;
    this.alloc = n;
    this.head = 0;
  }

  get length(): number {
    return this.count;
  }

  /** Appends an entry; returns the value of the entry overwritten to make room (0 if none). */
  push(tUs: number, value: number): number {
    let lost = 0;
    if (this.count === this.alloc && this.alloc < this.capacity) this.grow();
    if (this.count === this.alloc) {
      lost = this.val[this.head] ?? 0;
      this.head = (this.head + 1) % this.alloc;
      this.count--;
      this.overwritten++;
    }
    const i = (this.head + this.count) % this.alloc;
    this.tUs[i] = tUs;
    this.val[i] = value;
    this.count++;
    return lost;
  }

  /** Drops entries from the front while `tUs - entryTime > ageUs`; returns the sum of their values. */
  expire(tUs: number, ageUs: number): number {
    let dropped = 0;
    while (this.count > 0 && tUs - (this.tUs[this.head] ?? 0) > ageUs) {
      dropped += this.val[this.head] ?? 0;
      this.head = (this.head + 1) % this.alloc;
      this.count--;
    }
    return dropped;
  }

  /** Value of the k-th oldest entry (0 <= k < length). */
  valueAt(k: number): number {
    return this.val[(this.head + k) % this.alloc] ?? 0;
  }

  frontValue(): number {
    return this.val[this.head] ?? 0;
  }

  setFrontValue(v: number): void {
    this.val[this.head] = v;
  }

  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.alloc;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
