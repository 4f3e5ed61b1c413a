/**
 * Replay of libwebrtc's goog_cc BitrateEstimator (bitrate_estimator.cc), the engine behind the
 * AcknowledgedBitrateEstimator: bytes acknowledged by transport feedback are summed over fixed
 * windows (500 ms until the first estimate, 150 ms after), each full window gives one sample,
 * and samples are folded into the estimate by a Bayesian update whose sample variance grows with
 * the sample's distance from the estimate. Defaults are libwebrtc's field-trial defaults; see
 * docs/gcc-replay.md. Arithmetic on the estimate is done in 32-bit floats as in the C++ (floats).
 *
 * Omitted: the ALR handling (in_alr selects scale_alr, which defaults to scale anyway, and
 * ExpectFastRateChange after ALR ends adds 200 to the variance); the replay never is in ALR.
 */

/** Tunables, named after the WebRTC-BweThroughputWindowConfig field-trial keys. */
export interface BitrateEstimatorConfig {
  /** window before the first estimate exists (initial_window_ms, 500) */
  readonly initialWindowMs: number;
  /** window after that (window_ms, 150) */
  readonly windowMs: number;
  /** uncertainty scale (scale, 10) */
  readonly uncertaintyScale: number;
  /** scale for samples under smallSampleThresholdBytes that are below the estimate (scale_small, = scale) */
  readonly smallSampleUncertaintyScale: number;
  /** a window summing fewer bytes is a small sample (small_thresh, 0 = never) */
  readonly smallSampleThresholdBytes: number;
  /** uncertainty denominator is estimate + min(sample, cap) (symmetry_cap, 0) */
  readonly symmetryCapKbps: number;
  /** the estimate never goes below this (floor, 0) */
  readonly estimateFloorKbps: number;
}

export const BITRATE_ESTIMATOR_DEFAULTS: BitrateEstimatorConfig = {
  initialWindowMs: 500,
  windowMs: 150,
  uncertaintyScale: 10,
  smallSampleUncertaintyScale: 10,
  smallSampleThresholdBytes: 0,
  symmetryCapKbps: 0,
  estimateFloorKbps: 0,
};

/** Variance added to the estimate's variance before each update (models a drifting rate). */
export const ESTIMATE_VAR_PROCESS_NOISE = 5;
/** Variance of the estimate right after it is initialised. */
export const ESTIMATE_VAR_INITIAL = 50;

const f32 = Math.fround;

export class BitrateEstimator {
  private sumBytes = 0;
  private currentWindowMs = 0;
  private prevTimeMs = -1;
  private estimateKbps = -1;
  private estimateVar = ESTIMATE_VAR_INITIAL;

  constructor(private readonly cfg: BitrateEstimatorConfig = BITRATE_ESTIMATOR_DEFAULTS) {}

  /**
   * One acknowledged packet received at atMs (the reported receive time; whole ms as
   * Timestamp::ms() gives). Returns the window sample in kbit/s when this packet closed a
   * window, else null.
   */
  update(atMs: number, bytes: number): number | null {
    const nowMs = Math.round(atMs);
    const windowMs = this.estimateKbps < 0 ? this.cfg.initialWindowMs : this.cfg.windowMs;
    const w = this.updateWindow(nowMs, bytes, windowMs);
    if (w === null) return null;
    const sampleKbps = w.sampleKbps;
    if (this.estimateKbps < 0) {
      this.estimateKbps = sampleKbps;
      return sampleKbps;
    }
    let scale = this.cfg.uncertaintyScale;
    if (w.small && sampleKbps < this.estimateKbps) scale = this.cfg.smallSampleUncertaintyScale;
    const sampleUncertainty = f32(
      (scale * Math.abs(this.estimateKbps - sampleKbps)) /
        (this.estimateKbps + Math.min(sampleKbps, this.cfg.symmetryCapKbps)),
    );
    const sampleVar = f32(sampleUncertainty * sampleUncertainty);
    const predVar = f32(this.estimateVar + ESTIMATE_VAR_PROCESS_NOISE);
    const est = f32((sampleVar * this.estimateKbps + predVar * sampleKbps) / (sampleVar + predVar));
    this.estimateKbps = Math.max(est, this.cfg.estimateFloorKbps);
    this.estimateVar = f32((sampleVar * predVar) / (sampleVar + predVar));
    return sampleKbps;
  }

  /** The estimate in bit/s, or null before the first full (initial) window. */
  bitrateBps(): number | null {
    return this.estimateKbps < 0 ? null : this.estimateKbps * 1000;
  }

  /** The estimate's current variance (kbit/s-relative units, as in the C++). */
  variance(): number {
    return this.estimateVar;
  }

  private updateWindow(nowMs: number, bytes: number, windowMs: number): { sampleKbps: number; small: boolean } | null {
    if (nowMs < this.prevTimeMs) {
      // time moved backwards: start over
      this.prevTimeMs = -1;
      this.sumBytes = 0;
      this.currentWindowMs = 0;
    }
    if (this.prevTimeMs >= 0) {
      this.currentWindowMs += nowMs - this.prevTimeMs;
      if (nowMs - this.prevTimeMs > windowMs) {
        // nothing received for more than a window
        this.sumBytes = 0;
        this.currentWindowMs %= windowMs;
      }
    }
    this.prevTimeMs = nowMs;
    let out: { sampleKbps: number; small: boolean } | null = null;
    if (this.currentWindowMs >= windowMs) {
      out = { sampleKbps: f32((8 * this.sumBytes) / windowMs), small: this.sumBytes < this.cfg.smallSampleThresholdBytes };
      this.currentWindowMs -= windowMs;
      this.sumBytes = 0;
    }
    this.sumBytes += bytes;
    return out;
  }
}
