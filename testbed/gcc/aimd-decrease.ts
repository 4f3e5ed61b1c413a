/**
 * The decrease half of libwebrtc's AimdRateControl (aimd_rate_control.cc) as DelayBasedBwe
 * drives it once per transport feedback (delay_based_bwe.cc, MaybeUpdateEstimate): when the
 * detector says overusing and an acknowledged bitrate exists and it is "time to reduce further"
 * (at least clamp(rtt, 10 ms, 200 ms) since the last rate change), the target becomes
 * beta * acknowledged bitrate, beta = 0.85.
 *
 * Simplified (see docs/gcc-replay.md): the increase side is not modelled, so the target is
 * reported as 0.85 x acked even if the real estimate was already lower (C++ keeps the lower
 * one); the "acked < 0.5 x current estimate" shortcut of TimeToReduceFurther, the link-capacity
 * fallback and the "halve every 200 ms without an acked bitrate" branch are not modelled.
 * The rate-change clock follows the C++: a normal feedback (increase state) also counts as a change.
 */
import type { BandwidthUsage } from './trendline-estimator.js';

/** Back-off factor (kDefaultBackoffFactor). */
export const AIMD_BETA = 0.85;
/** RTT assumed before one is known (kDefaultRtt). */
export const AIMD_DEFAULT_RTT_MS = 200;

/** "GCC would have set its rate to targetBps at tMs." */
export interface AimdDecreaseEvent {
  readonly tMs: number;
  readonly ackedBitrateBps: number;
  readonly targetBps: number;
}

type RateControlState = 'hold' | 'increase';

export class AimdDecrease {
  private rcState: RateControlState = 'hold';
  private lastChangeMs = -Infinity;

  constructor(private readonly rttMs: number = AIMD_DEFAULT_RTT_MS) {}

  /** One feedback at atMs with the detector's state after it and the acked bitrate (null = none yet). */
  onFeedback(atMs: number, state: BandwidthUsage, ackedBitrateBps: number | null): AimdDecreaseEvent | null {
    if (state === 'overusing') {
      if (ackedBitrateBps === null || !this.timeToReduceFurther(atMs)) return null;
      // ChangeState -> decrease; ChangeBitrate: beta * throughput, then hold
      this.rcState = 'hold';
      this.lastChangeMs = atMs;
      return { tMs: atMs, ackedBitrateBps, targetBps: AIMD_BETA * ackedBitrateBps };
    }
    if (state === 'underusing') {
      this.rcState = 'hold';
      return null;
    }
    // normal: hold -> increase resets the clock, and an increase step sets it again
    if (this.rcState === 'hold') this.rcState = 'increase';
    this.lastChangeMs = atMs;
    return null;
  }

  private timeToReduceFurther(atMs: number): boolean {
    const intervalMs = Math.min(200, Math.max(10, this.rttMs));
    return atMs - this.lastChangeMs >= intervalMs;
  }
}
