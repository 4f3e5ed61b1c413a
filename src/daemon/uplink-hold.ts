/**
 * The one owner of every held uplink packet (its NFQUEUE id) of the daemon:
 *  - timed holds (a release time from the flow's policy: the paper's rule) in a HoldQueue, one
 *    timer, released in time order;
 *  - gated packets (feedbackUpdater.mode 'drain') in a FIFO per flow, released oldest first each
 *    time the engine names the flow (Engine.pollGates / flushGates).
 * One release path (the `release` callback, every packet exactly once) and one shutdown path
 * (drain(): everything still held, timed first, then each flow's gated packets in order). The
 * engine only says when and which flow; it never sees the ids.
 */
import { HoldQueue, type TimerApi } from './hold-queue.js';

interface Timed<T, F> {
  item: T;
  flow: F | undefined;
}

export class UplinkHold<T, F> {
  private readonly timed: HoldQueue<Timed<T, F>>;
  private readonly gated = new Map<F, T[]>();
  private gatedCount = 0;

  constructor(
    timers: TimerApi,
    /**
     * Every held packet leaves through here, once; `timed`: it was held until a release time (its
     * flow then calls Engine.onReleased); `lateUs`: how long after that time it left (timed only;
     * at shutdown, when everything leaves at once, it may be negative).
     */
    private readonly release: (item: T, flow: F | undefined, timed: boolean, lateUs: number) => void,
    /** After each batch of releases (the verdicts' flush). */
    private readonly onBatchEnd: () => void,
  ) {
    this.timed = new HoldQueue<Timed<T, F>>(timers, (h, releaseUs) => this.release(h.item, h.flow, true, timers.now() - releaseUs), onBatchEnd);
  }

  /** Packets held, timed and gated. */
  get size(): number {
    return this.timed.size + this.gatedCount;
  }

  /** Holds a packet until releaseUs (verdict 'hold'). */
  hold(item: T, flow: F | undefined, releaseUs: number): void {
    this.timed.hold({ item, flow }, releaseUs);
  }

  /** Keeps a packet behind the flow's earlier gated packets (verdict 'gate'). */
  gate(item: T, flow: F): void {
    const q = this.gated.get(flow);
    if (q === undefined) this.gated.set(flow, [item]);
    else q.push(item);
    this.gatedCount++;
  }

  /** The engine named the flow: its oldest gated packet leaves (call onBatchEnd's flush after a poll). */
  releaseGated(flow: F): void {
    const q = this.gated.get(flow);
    const item = q?.shift();
    if (q === undefined || item === undefined) return;
    if (q.length === 0) this.gated.delete(flow);
    this.gatedCount--;
    this.release(item, flow, false, 0);
  }

  /** Shutdown: everything out now, timed packets in time order, then each flow's gated packets in order. */
  drain(): number {
    let n = this.timed.drain();
    for (const [flow, q] of this.gated) {
      for (const item of q) this.release(item, flow, false, 0);
      n += q.length;
    }
    this.gated.clear();
    if (this.gatedCount > 0) this.onBatchEnd();
    this.gatedCount = 0;
    return n;
  }
}
