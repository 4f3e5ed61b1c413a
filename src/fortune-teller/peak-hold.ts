/**
 * The highest value seen within the last `holdUs`: a new maximum replaces the held one at once,
 * and a held maximum older than holdUs gives way to the current value. Re-predicting packets still
 * queued uses the dequeue rate's recent peak (FortuneTeller.departureUs): through an outage of a
 * few hundred ms the windowed estimate and the busy service rate fall to the outage's rate, and
 * predictions made with it come hundreds of ms late once the link is back. Pure.
 */
export class PeakHold {
  private peak = 0;
  private peakUs = -Infinity;

  constructor(private readonly holdUs = 2_000_000) {}

  add(tUs: number, value: number): void {
    if (value >= this.peak || tUs - this.peakUs > this.holdUs) {
      this.peak = value;
      this.peakUs = tUs;
    }
  }

  /** The held peak at tUs (0 before any value, or once it expired without a new one). */
  value(tUs: number): number {
    return tUs - this.peakUs > this.holdUs ? 0 : this.peak;
  }
}
