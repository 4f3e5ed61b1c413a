/**
 * Timed release of held uplink packets (the I/O side of the Feedback Updater's scheduler).
 *
 * Every held packet has a release time on the monotonic µs clock. Release times of one flow are
 * non-decreasing (the scheduler guarantees it), but flows interleave, so a binary min-heap orders
 * them, with an insertion sequence number as tie-break so equal times keep arrival order. One
 * setTimeout is armed for the earliest release; when it fires every due packet is released in
 * order and the verdicts are flushed as one batch. setTimeout is ~±1 ms accurate (docs/design-notes.md §2), so
 * a release is never early and at most about a millisecond late.
 */
export interface Held<T> {
  releaseUs: number;
  seq: number;
  item: T;
}

export class MinHeap<T> {
  private readonly a: Held<T>[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Held<T> | undefined {
    return this.a[0];
  }
  push(h: Held<T>): void {
    const a = this.a;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pi = a[p] as Held<T>;
      if (!less(h, pi)) break;
      a[i] = pi;
      i = p;
    }
    a[i] = h;
  }
  pop(): Held<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && less(a[r] as Held<T>, a[l] as Held<T>)) c = r;
      const ac = a[c] as Held<T>;
      if (!less(ac, last)) break;
      a[i] = ac;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function less<T>(x: Held<T>, y: Held<T>): boolean {
  return x.releaseUs < y.releaseUs || (x.releaseUs === y.releaseUs && x.seq < y.seq);
}

export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class HoldQueue<T> {
  private readonly heap = new MinHeap<T>();
  private seq = 0;
  private timer: unknown = undefined;
  private armedForUs = Infinity;

  constructor(
    private readonly timers: TimerApi,
    /** Called with every due item, in release order, then `onBatchEnd` once. */
    private readonly release: (item: T, releaseUs: number) => void,
    private readonly onBatchEnd: () => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  hold(item: T, releaseUs: number): void {
    this.heap.push({ releaseUs, seq: this.seq++, item });
    if (releaseUs < this.armedForUs) this.arm();
  }

  /** Releases everything due at `nowUs`. Returns the count released. */
  runDue(nowUs: number = this.timers.now()): number {
    let n = 0;
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.releaseUs > nowUs) break;
      this.heap.pop();
      n++;
      this.release(top.item, top.releaseUs);
    }
    if (n > 0) this.onBatchEnd();
    return n;
  }

  /** Releases everything now, in order (shutdown). */
  drain(): number {
    this.cancel();
    let n = 0;
    for (let h = this.heap.pop(); h !== undefined; h = this.heap.pop()) {
      n++;
      this.release(h.item, h.releaseUs);
    }
    if (n > 0) this.onBatchEnd();
    return n;
  }

  private cancel(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForUs = Infinity;
  }

  private arm(): void {
    this.cancel();
    const top = this.heap.peek();
    if (top === undefined) return;
    // ceil: a timer may fire up to a fraction of a ms early; runDue re-checks and re-arms, never releasing early
    const delayMs = Math.max(0, Math.ceil((top.releaseUs - this.timers.now()) / 1000));
    this.armedForUs = top.releaseUs;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.armedForUs = Infinity;
      this.runDue();
      this.arm();
    }, delayMs);
  }
}
