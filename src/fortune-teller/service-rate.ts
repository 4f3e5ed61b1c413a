/**
 * The rate at which the queue serves packets while it is busy, from the last few back-to-back
 * departures only: a departure counts when its packet was already queued when the previous one
 * left (so the gap between the two is service time, never idle time). Used to re-predict packets
 * still queued (FortuneTeller.departureUs). Pure.
 *
 * A rate step restarts the window. A sample whose rate lies outside [1/changeFactor,
 * changeFactor] x the window's rate is held aside; when the next sample is outside on the same
 * side too, the two become the new window (the link changed: a drop is followed within two
 * departures at the new rate, a recovery within two at the new rate); when it is not, the held
 * sample is discarded (one stall, such as the first departure after a short interruption,
 * says nothing of the rate that follows). Why (docs/results/rtc-evidence.md): a window of eight
 * that kept the old rate for eight departures after a 10x drop (256 ms at 0.3 Mbit/s) made
 * queued packets predicted early and packed into a short span of reported time, and GCC's
 * acknowledged bitrate then read the empty reported time that followed as a rate far below the
 * link's.
 *
 * The restarts also say how long a rate lasts on this link (`horizonUs`): on a link that
 * changes every few hundred ms, a prediction further ahead than that is a guess.
 */
/** completed rates remembered for horizonUs */
const REGIMES_KEPT = 3;
/**
 * A completed rate counts for horizonUs for this long after it ended: what the link did before
 * that says little of how it behaves now (a call's ramp-up, a client that has since stopped
 * moving). Without it, short rates measured at a call's start bounded the lead at a drop 10 s
 * later, and the sender overshot (docs/results/rtc-evidence.md, third round).
 */
export const REGIME_MEMORY_US = 5_000_000;

export class ServiceRate {
  private readonly bytes: Float64Array;
  private readonly gapUs: Float64Array;
  private n = 0;
  private pos = 0;
  private sumBytes = 0;
  private sumGapUs = 0;
  private prevDepUs = -Infinity;
  private lastSampleUs = -Infinity;
  /** the sample held aside and its side (+1 faster, -1 slower; 0: none held) */
  private heldBytes = 0;
  private heldGapUs = 0;
  private heldSide = 0;
  /** window restarts, samples discarded as single outliers */
  restarts = 0;
  outliers = 0;
  /** when the current rate (window) began; the durations of the last completed ones (µs) */
  private regimeStartUs = -Infinity;
  private readonly regimesUs = new Float64Array(REGIMES_KEPT).fill(Number.POSITIVE_INFINITY);
  /** when each completed rate ended (µs) */
  private readonly regimeEndUs = new Float64Array(REGIMES_KEPT).fill(Number.NEGATIVE_INFINITY);
  private regimePos = 0;

  constructor(
    private readonly samples = 8,
    /** older than this, the samples say nothing of now (µs) */
    private readonly maxAgeUs = 1_000_000,
    /** how far (a factor either way) a sample's rate may lie from the window's before it counts as a change */
    private readonly changeFactor = 3,
  ) {
    this.bytes = new Float64Array(samples);
    this.gapUs = new Float64Array(samples);
  }

  /** A packet of `bytes` that arrived at `arrivalUs` (-1: unmatched) left at tUs. */
  onDeparture(tUs: number, bytes: number, arrivalUs: number): void {
    const prev = this.prevDepUs;
    this.prevDepUs = tUs;
    if (arrivalUs < 0 || prev === -Infinity || arrivalUs > prev || tUs <= prev) return;
    const gap = tUs - prev;
    this.lastSampleUs = tUs;
    if (this.n > 0 && this.sumGapUs > 0 && this.sumBytes > 0) {
      // compare bytes per µs without dividing: sample rate b/g against window rate B/G
      const s = bytes * this.sumGapUs;
      const w = this.sumBytes * gap;
      const side = s > w * this.changeFactor ? 1 : w > s * this.changeFactor ? -1 : 0;
      if (side !== 0) {
        if (this.heldSide === side) {
          // a second sample on the same side: the rate changed; the two are the new window
          this.restarts++;
          const startUs = tUs - gap - this.heldGapUs;
          this.regimesUs[this.regimePos] = startUs - this.regimeStartUs;
          this.regimeEndUs[this.regimePos] = startUs;
          this.regimePos = (this.regimePos + 1) % REGIMES_KEPT;
          this.regimeStartUs = startUs;
          const hb = this.heldBytes;
          const hg = this.heldGapUs;
          this.clearWindow();
          this.push(hb, hg);
          this.push(bytes, gap);
          return;
        }
        if (this.heldSide !== 0) this.outliers++;
        this.heldBytes = bytes;
        this.heldGapUs = gap;
        this.heldSide = side;
        return;
      }
      if (this.heldSide !== 0) this.outliers++;
      this.heldSide = 0;
    }
    if (this.regimeStartUs === -Infinity) this.regimeStartUs = prev;
    this.push(bytes, gap);
  }

  /**
   * How long a measured rate has lasted on this link, seen from tUs: the shorter of the last
   * REGIMES_KEPT completed rates (between two restarts) that ended within REGIME_MEMORY_US, or
   * the current one's age when that is longer (the link has held still since). Infinity until a
   * rate has changed.
   */
  horizonUs(tUs: number): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (let k = 0; k < REGIMES_KEPT; k++) {
      const d = this.regimesUs[k] ?? Number.POSITIVE_INFINITY;
      if (d < shortest && tUs - (this.regimeEndUs[k] ?? Number.NEGATIVE_INFINITY) <= REGIME_MEMORY_US) shortest = d;
    }
    const age = tUs - this.regimeStartUs;
    return age > shortest ? age : shortest;
  }

  /**
   * How long the current rate has lasted, seen from tUs (since the window's last restart, or
   * since its first sample); Infinity before any sample.
   */
  ageUs(tUs: number): number {
    return this.regimeStartUs === -Infinity ? Number.POSITIVE_INFINITY : tUs - this.regimeStartUs;
  }

  private clearWindow(): void {
    this.n = 0;
    this.pos = 0;
    this.sumBytes = 0;
    this.sumGapUs = 0;
    this.heldSide = 0;
  }

  private push(bytes: number, gapUs: number): void {
    const i = this.pos;
    if (this.n === this.samples) {
      this.sumBytes -= this.bytes[i] ?? 0;
      this.sumGapUs -= this.gapUs[i] ?? 0;
    } else this.n++;
    this.bytes[i] = bytes;
    this.gapUs[i] = gapUs;
    this.sumBytes += bytes;
    this.sumGapUs += gapUs;
    this.pos = (i + 1) % this.samples;
  }

  /** The busy service rate (bit/s) seen from tUs, NaN without recent samples. */
  rateBps(tUs: number): number {
    if (this.n === 0 || tUs - this.lastSampleUs > this.maxAgeUs || !(this.sumGapUs > 0)) return Number.NaN;
    return (this.sumBytes * 8e6) / this.sumGapUs;
  }
}
