/**
 * The fair share of a flow in a per-flow fair queue (queue.discipline 'fq'), for the receive-window
 * clamp (window-clamp.ts).
 *
 * A shared FIFO gives each flow what it pushes in; a per-flow fair queue (fq_codel, cake,
 * mac80211's per-station TXQs, one htb class per flow) serves the backlogged flows round robin,
 * so a flow gets max-min fair share of the link whatever the other flows do. There, a bulk
 * download zhuge does not treat has its own queue: when it starts, the treated flow's share of
 * the link falls (to half, with one bulk flow), which is a bandwidth drop for the treated flow
 * and what the clamp must follow. The clamp's share is then the max-min fair share over every
 * flow that offered data to the queue in the last epoch, treated or not:
 *
 *   water-filling over the flows' offered rates r_1 <= r_2 <= ... <= r_n on a link of rate C:
 *   a flow below the equal split of what is left keeps its rate, the rest split the remainder.
 *
 * Principles:
 *  - Offered, not served: the rates are measured at the queue's input (a greedy flow offers at
 *    least its share), in `buckets` hash buckets of the directional 5-tuple, as the fair queues
 *    themselves do (fq_codel: 1024 buckets; two flows in one bucket share one queue there too).
 *  - Hot path O(1) per packet: one add to a bucket; the sort (at most `buckets` rates) runs once
 *    per epoch (200 ms), and a query walks the sorted rates (O(flows) per ACK).
 *  - The last full epoch decides (a partial epoch's few packets say little); in the first epoch,
 *    or after a silent one, the current epoch's rates are used.
 *  - Never below C / n (the max-min guarantee) and never above C, except when the link is not
 *    full: then a flow may grow into what the others leave (the clamp only ever lowers a window,
 *    so erring generous is the safe side).
 *
 * Pure: no clock; times are passed in (µs). Memory: 2 x buckets x 8 bytes + buckets x 2.
 */

export interface FqShareConfig {
  /** Hash buckets (rounded up to a power of two; default 1024, fq_codel's default). */
  buckets?: number;
  /** Epoch over which the offered rates are measured (default 200 ms). */
  epochMs?: number;
}

export const FQ_SHARE_DEFAULTS = { buckets: 1024, epochMs: 200 } as const;

export class FqShare {
  private readonly mask: number;
  private readonly epochUs: number;
  private readonly cur: Float64Array;
  private readonly touched: Uint16Array;
  private touchedCount = 0;
  /** the previous epoch's offered rates (bit/s), ascending, in [0, prevCount) */
  private readonly prev: Float64Array;
  private prevCount = 0;
  private readonly scratch: Float64Array;
  private epoch = -1;

  constructor(config: FqShareConfig = {}) {
    const want = config.buckets ?? FQ_SHARE_DEFAULTS.buckets;
    if (!Number.isInteger(want) || want < 1 || want > 65536) throw new RangeError('FqShare: buckets must be an integer in 1..65536');
    let n = 1;
    while (n < want) n *= 2;
    this.mask = n - 1;
    const epochMs = config.epochMs ?? FQ_SHARE_DEFAULTS.epochMs;
    if (!(epochMs > 0)) throw new RangeError('FqShare: epochMs must be > 0');
    this.epochUs = epochMs * 1000;
    this.cur = new Float64Array(n);
    this.touched = new Uint16Array(n);
    this.prev = new Float64Array(n);
    this.scratch = new Float64Array(n);
  }

  /** A packet of `bytes` offered to the queue at tUs by the flow whose directional hash is `flowHash`. */
  add(tUs: number, flowHash: number, bytes: number): void {
    this.roll(tUs);
    const b = flowHash & this.mask;
    if (this.cur[b] === 0) this.touched[this.touchedCount++] = b;
    this.cur[b] = (this.cur[b] ?? 0) + bytes;
  }

  /** Flows (buckets) that offered data in the epoch the share is computed from. */
  flows(tUs: number): number {
    this.roll(tUs);
    return this.prevCount > 0 ? this.prevCount : this.touchedCount;
  }

  /** The max-min fair share (bit/s) of a flow that wants more, on a link of linkBps. */
  fairShareBps(tUs: number, linkBps: number): number {
    this.roll(tUs);
    let rates = this.prev;
    let n = this.prevCount;
    if (n === 0) {
      n = this.sortedCurrent(this.scratch, (tUs % this.epochUs) / 1e6);
      rates = this.scratch;
    }
    if (n === 0) return linkBps;
    let remaining = linkBps;
    let k = n;
    for (let i = 0; i < n; i++) {
      const r = rates[i] ?? 0;
      if (r * k >= remaining) return remaining / k;
      remaining -= r;
      k--;
    }
    // the link is not full: the largest flow may grow into what is left
    return (rates[n - 1] ?? 0) + remaining;
  }

  private roll(tUs: number): void {
    const e = Math.floor(tUs / this.epochUs);
    if (e === this.epoch) return;
    this.prevCount = e === this.epoch + 1 ? this.sortedCurrent(this.prev, this.epochUs / 1e6) : 0;
    for (let i = 0; i < this.touchedCount; i++) this.cur[this.touched[i] ?? 0] = 0;
    this.touchedCount = 0;
    this.epoch = e;
  }

  /** Writes the current epoch's rates (bit/s over spanS) ascending into out; returns their count. */
  private sortedCurrent(out: Float64Array, spanS: number): number {
    const n = this.touchedCount;
    if (n === 0 || !(spanS > 0)) return 0;
    for (let i = 0; i < n; i++) out[i] = ((this.cur[this.touched[i] ?? 0] ?? 0) * 8) / spanS;
    out.subarray(0, n).sort();
    return n;
  }
}
