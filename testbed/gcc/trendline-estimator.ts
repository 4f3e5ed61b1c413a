/**
 * Replay of libwebrtc's goog_cc TrendlineEstimator (trendline_estimator.cc) with its default
 * settings (no network-state predictor, the "sort" and "cap" field-trial options off):
 * each group delta adds (arrival delta - send delta) to an accumulated one-way delay, which is
 * exponentially smoothed; a least-squares line is fitted to the last 20 (arrival time, smoothed
 * delay) points; the slope, times min(deltas seen, 60) times a gain of 4, is compared with an
 * adaptive threshold to classify normal / overusing / underusing. Constants: docs/gcc-replay.md.
 */

export type BandwidthUsage = 'normal' | 'overusing' | 'underusing';

/** Points in the regression (kDefaultTrendlineWindowSize). */
export const TRENDLINE_WINDOW_SIZE = 20;
/** Weight of the previous smoothed delay (kDefaultTrendlineSmoothingCoeff). */
export const TRENDLINE_SMOOTHING_COEF = 0.9;
/** Gain applied to the slope before thresholding (kDefaultTrendlineThresholdGain). */
export const TRENDLINE_THRESHOLD_GAIN = 4;
/** The slope is multiplied by min(deltas seen, this) (kMinNumDeltas). */
export const MIN_NUM_DELTAS = 60;
/** The deltas-seen counter saturates here (kDeltaCounterMax). */
export const DELTA_COUNTER_MAX = 1000;
/** Over-threshold send time needed to declare overuse (kOverUsingTimeThreshold, ms). */
export const OVERUSING_TIME_THRESHOLD_MS = 10;
/** Threshold adaptation rate when |modified trend| is above it (k_up_, per ms). */
export const THRESHOLD_K_UP = 0.0087;
/** Threshold adaptation rate when |modified trend| is below it (k_down_, per ms). */
export const THRESHOLD_K_DOWN = 0.039;
/** Initial threshold (threshold_). */
export const THRESHOLD_INITIAL = 12.5;
/** The threshold does not adapt to a |modified trend| more than this above it (kMaxAdaptOffsetMs). */
export const MAX_ADAPT_OFFSET = 15;
/** The threshold stays within [6, 600]. */
export const THRESHOLD_MIN = 6;
export const THRESHOLD_MAX = 600;
/** At most this much time (ms) counts in one threshold adaptation step (kMaxTimeDeltaMs). */
export const THRESHOLD_MAX_TIME_DELTA_MS = 100;

/** What one group delta did to the detector. */
export interface TrendlineUpdate {
  readonly accumulatedDelayMs: number;
  readonly smoothedDelayMs: number;
  /** regression slope (ms of delay per ms of arrival time); the previous one until the window is full */
  readonly trendSlope: number;
  /** min(n, 60) * slope * gain; NaN while fewer than 2 deltas */
  readonly modifiedTrend: number;
  /** the threshold the modified trend was compared with (before this update adapted it) */
  readonly threshold: number;
  readonly state: BandwidthUsage;
}

interface Point {
  readonly xMs: number;
  readonly yMs: number;
}

/** LinearFitSlope: least-squares slope of y on x; null when all x are equal. */
export function linearFitSlope(points: readonly Point[]): number | null {
  let sumX = 0;
  let sumY = 0;
  for (const p of points) {
    sumX += p.xMs;
    sumY += p.yMs;
  }
  const xAvg = sumX / points.length;
  const yAvg = sumY / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.xMs - xAvg) * (p.yMs - yAvg);
    den += (p.xMs - xAvg) * (p.xMs - xAvg);
  }
  return den === 0 ? null : num / den;
}

export class TrendlineEstimator {
  private numDeltas = 0;
  private firstArrivalMs = -1;
  private accumulatedDelayMs = 0;
  private smoothedDelayMs = 0;
  private readonly hist: Point[] = [];
  private thresholdValue = THRESHOLD_INITIAL;
  private lastUpdateMs = -1;
  private prevTrend = 0;
  private timeOverUsingMs = -1;
  private overuseCounter = 0;
  private hypothesis: BandwidthUsage = 'normal';

  /**
   * UpdateTrendline for one group delta. arrivalTimeMs is the receive time of the packet that
   * completed the delta (whole ms, as receive_time.ms() gives).
   */
  update(recvDeltaMs: number, sendDeltaMs: number, arrivalTimeMs: number): TrendlineUpdate {
    const nowMs = Math.round(arrivalTimeMs);
    const deltaMs = recvDeltaMs - sendDeltaMs;
    this.numDeltas = Math.min(this.numDeltas + 1, DELTA_COUNTER_MAX);
    if (this.firstArrivalMs === -1) this.firstArrivalMs = nowMs;
    this.accumulatedDelayMs += deltaMs;
    this.smoothedDelayMs =
      TRENDLINE_SMOOTHING_COEF * this.smoothedDelayMs + (1 - TRENDLINE_SMOOTHING_COEF) * this.accumulatedDelayMs;
    this.hist.push({ xMs: nowMs - this.firstArrivalMs, yMs: this.smoothedDelayMs });
    if (this.hist.length > TRENDLINE_WINDOW_SIZE) this.hist.shift();
    let trend = this.prevTrend;
    if (this.hist.length === TRENDLINE_WINDOW_SIZE) trend = linearFitSlope(this.hist) ?? trend;
    const threshold = this.thresholdValue;
    const modifiedTrend = this.detect(trend, sendDeltaMs, nowMs);
    return {
      accumulatedDelayMs: this.accumulatedDelayMs,
      smoothedDelayMs: this.smoothedDelayMs,
      trendSlope: trend,
      modifiedTrend,
      threshold,
      state: this.hypothesis,
    };
  }

  state(): BandwidthUsage {
    return this.hypothesis;
  }

  private detect(trend: number, tsDeltaMs: number, nowMs: number): number {
    if (this.numDeltas < 2) {
      this.hypothesis = 'normal';
      return Number.NaN;
    }
    const modified = Math.min(this.numDeltas, MIN_NUM_DELTAS) * trend * TRENDLINE_THRESHOLD_GAIN;
    if (modified > this.thresholdValue) {
      // assume half the time since the previous sample was already over
      this.timeOverUsingMs = this.timeOverUsingMs === -1 ? tsDeltaMs / 2 : this.timeOverUsingMs + tsDeltaMs;
      this.overuseCounter += 1;
      if (this.timeOverUsingMs > OVERUSING_TIME_THRESHOLD_MS && this.overuseCounter > 1 && trend >= this.prevTrend) {
        this.timeOverUsingMs = 0;
        this.overuseCounter = 0;
        this.hypothesis = 'overusing';
      }
    } else if (modified < -this.thresholdValue) {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.hypothesis = 'underusing';
    } else {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.hypothesis = 'normal';
    }
    this.prevTrend = trend;
    this.updateThreshold(modified, nowMs);
    return modified;
  }

  private updateThreshold(modified: number, nowMs: number): void {
    if (this.lastUpdateMs === -1) this.lastUpdateMs = nowMs;
    const abs = Math.abs(modified);
    if (abs > this.thresholdValue + MAX_ADAPT_OFFSET) {
      // a latency spike (e.g. a sudden capacity drop): do not adapt to it
      this.lastUpdateMs = nowMs;
      return;
    }
    const k = abs < this.thresholdValue ? THRESHOLD_K_DOWN : THRESHOLD_K_UP;
    const dtMs = Math.min(nowMs - this.lastUpdateMs, THRESHOLD_MAX_TIME_DELTA_MS);
    this.thresholdValue += k * (abs - this.thresholdValue) * dtMs;
    this.thresholdValue = Math.min(THRESHOLD_MAX, Math.max(THRESHOLD_MIN, this.thresholdValue));
    this.lastUpdateMs = nowMs;
  }
}
