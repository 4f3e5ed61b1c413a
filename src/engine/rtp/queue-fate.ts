/**
 * Whether the Wi-Fi queue certainly accepted a packet that arrived at a given time, from the
 * readings of the qdisc's drop counter (the daemon polls it every 10 ms). Pure, fixed memory.
 *
 * Why (docs/results/rtc-sweep.md): libwebrtc removes a packet from its retransmission history as
 * soon as transport-wide feedback reports it received. A packet reported received while still
 * queued, that the queue then turns out to have dropped, can never be retransmitted: the
 * receiver's NACKs go unanswered and the video freezes until the next key frame (2.8 s in the
 * call where it was found). A FIFO drops at enqueue, so a packet is safe to report received once
 * a reading taken after its arrival shows no drop since the reading before it. Arrivals in an
 * interval with drops are uncertain (which of them the queue dropped is a guess), arrivals after
 * the latest reading are pending: ReportTiming (rule 2b) holds both until they leave, or a later
 * packet leaves first (then the FIFO dropped them: reported lost, kept in the sender's history).
 * Reporting every uncertain arrival lost at once was tried and measured worse: while a full
 * queue drops, nearly every 10 ms interval has a drop, so every packet was reported lost, GCC
 * saw no delay at all, and backed off 3.2 s after the drop instead of 0.3-0.7.
 */

/** reading intervals with drops remembered */
const WINDOWS = 32;

export const FATE_ACCEPTED = 0;
export const FATE_UNCERTAIN = 1;
export const FATE_PENDING = 2;
export type Fate = typeof FATE_ACCEPTED | typeof FATE_UNCERTAIN | typeof FATE_PENDING;

export class QueueFate {
  /** arrivals at or before this have a reading (-Infinity: none yet) */
  private settledUs = Number.NEGATIVE_INFINITY;
  private readonly fromUs = new Float64Array(WINDOWS);
  private readonly toUs = new Float64Array(WINDOWS);
  private n = 0;
  private pos = 0;

  /** true once a drop-counter reading has arrived: without one, every arrival counts as accepted */
  get reading(): boolean {
    return this.settledUs > Number.NEGATIVE_INFINITY;
  }

  /** A reading at tUs found `drops` drops since the previous one at sinceUs. */
  onReading(sinceUs: number, tUs: number, drops: number): void {
    if (tUs > this.settledUs) this.settledUs = tUs;
    if (drops <= 0) return;
    this.fromUs[this.pos] = sinceUs;
    this.toUs[this.pos] = tUs;
    this.pos = (this.pos + 1) % WINDOWS;
    if (this.n < WINDOWS) this.n++;
  }

  /** The fate of a packet that arrived at arrivalUs and has neither left nor been matched as dropped. */
  fate(arrivalUs: number): Fate {
    if (!this.reading) return FATE_ACCEPTED;
    if (arrivalUs > this.settledUs) return FATE_PENDING;
    for (let k = 0; k < this.n; k++) {
      const from = this.fromUs[k] ?? 0;
      if (arrivalUs > from && arrivalUs <= (this.toUs[k] ?? 0)) return FATE_UNCERTAIN;
    }
    return FATE_ACCEPTED;
  }
}
