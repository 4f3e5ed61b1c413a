/**
 * The rate at which the queue serves packets while it is busy, from the last few back-to-back
 * departures only: a departure counts when its packet was already queued when the previous one
 * left (so the gap between the two is service time, never idle time). Unlike the windowed
 * dequeue-rate estimate (rate-estimator.ts), it carries no window across a rate step: after a
 * drop it falls within `samples` departures at the new rate, after a recovery it rises within as
 * many. Used to re-predict packets still queued (FortuneTeller.departureUs). Pure.
 */
export class ServiceRate {
  private readonly bytes: Float64Array;
  private readonly gapUs: Float64Array;
  private n = 0;
  private pos = 0;
  private sumBytes = 0;
  private sumGapUs = 0;
  private prevDepUs = -Infinity;
  private lastSampleUs = -Infinity;

  constructor(
    private readonly samples = 8,
    /** older than this, the samples say nothing of now (µs) */
    private readonly maxAgeUs = 1_000_000,
  ) {
    this.bytes = new Float64Array(samples);
    this.gapUs = new Float64Array(samples);
  }

  /** A packet of `bytes` that arrived at `arrivalUs` (-1: unmatched) left at tUs. */
  onDeparture(tUs: number, bytes: number, arrivalUs: number): void {
    const prev = this.prevDepUs;
    this.prevDepUs = tUs;
    if (arrivalUs < 0 || prev === -Infinity || arrivalUs > prev || tUs <= prev) return;
    const i = this.pos;
    if (this.n === this.samples) {
      this.sumBytes -= this.bytes[i] ?? 0;
      this.sumGapUs -= this.gapUs[i] ?? 0;
    } else this.n++;
    this.bytes[i] = bytes;
    this.gapUs[i] = tUs - prev;
    this.sumBytes += bytes;
    this.sumGapUs += tUs - prev;
    this.pos = (i + 1) % this.samples;
    this.lastSampleUs = tUs;
  }

  /** The busy service rate (bit/s) seen from tUs, NaN without recent samples. */
  rateBps(tUs: number): number {
    if (this.n === 0 || tUs - this.lastSampleUs > this.maxAgeUs || !(this.sumGapUs > 0)) return Number.NaN;
    return (this.sumBytes * 8e6) / this.sumGapUs;
  }
}
