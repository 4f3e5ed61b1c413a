/**
 * Drop attribution: the most recent downlink arrivals (time, packet match key) in a fixed ring,
 * for the drops the kernel reports in bulk (the qdisc's drop counter). A full FIFO drops what
 * arrives while it is full, so the `n` most recent arrivals after the previous reading are taken
 * as the dropped ones. Pure, fixed memory, no allocation per packet.
 */

/** Arrivals remembered (the most a 10 ms drop poll can attribute). */
export const RECENT_ARRIVALS = 256;

export interface DropCounters {
  /** kernel queue drops attributed to recent arrivals */
  kernelDropsAttributed: number;
}

export class RecentArrivals {
  private readonly key = new Int32Array(RECENT_ARRIVALS);
  private readonly tUs = new Float64Array(RECENT_ARRIVALS);
  private pos = 0;

  constructor(private readonly counters: DropCounters) {}

  /** A downlink packet with this match key arrived at tUs. */
  add(tUs: number, matchKey: number): void {
    this.key[this.pos] = matchKey | 0;
    this.tUs[this.pos] = tUs;
    this.pos = (this.pos + 1) % RECENT_ARRIVALS;
  }

  /**
   * `n` packets were dropped since `sinceUs`: calls `lost` with the match key of each of the n
   * most recent arrivals after sinceUs (newest first). Returns how many.
   */
  attribute(sinceUs: number, n: number, lost: (matchKey: number) => void): number {
    let marked = 0;
    for (let k = 1; k <= RECENT_ARRIVALS && marked < n; k++) {
      const i = (this.pos - k + RECENT_ARRIVALS) % RECENT_ARRIVALS;
      const t = this.tUs[i] ?? 0;
      if (t <= sinceUs) break;
      lost(this.key[i] ?? 0);
      marked++;
    }
    this.counters.kernelDropsAttributed += marked;
    return marked;
  }
}
