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
import { MinHeap } from './min-heap.js';

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
