/**
 * The paper's out-of-band Feedback Updater for one flow (feedbackUpdater.mode 'increments'):
 * Algorithm 1 (delta-window.ts) fed by the flow's downlink predictions, Algorithm 2
 * (release-scheduler.ts) giving each uplink feedback packet its release time.
 */
import { DeltaWindow, type DeltaWindowConfig } from './delta-window.js';
import type { DrainGateConfig } from './drain-gate.js';
import { ReleaseScheduler, type ReleaseDecision, type ReleaseSchedulerConfig } from './release-scheduler.js';
import type { Rng } from './rng.js';
import type { WindowClampConfig } from './window-clamp.js';

export type AckDelayMode = 'increments' | 'drain' | 'window';

export interface AckDelayerConfig extends DeltaWindowConfig, ReleaseSchedulerConfig {
  /**
   * 'increments' (default): the paper's Algorithms 1 and 2 (sampled predicted-delay increments,
   * tokens, capMs). 'drain': hold ACKs while the queue is above a target (not the
   * paper's rule, for senders that only obey their ACK clock; drain-gate.ts). 'window': TCP ACKs
   * are not delayed but their receive window is clamped (window-clamp.ts, applied by the caller);
   * other out-of-band flows (QUIC, whose window is encrypted) keep the paper's rule.
   */
  mode?: AckDelayMode;
  drain?: DrainGateConfig;
  window?: WindowClampConfig;
  /**
   * When two predictions of the flow are further apart than this (default 500 ms), the later one
   * only sets a new baseline instead of producing a delta: after a long pause the difference
   * says nothing about the recent trend of the queue.
   */
  baselineResetMs?: number;
}

/**
 * Per-flow Feedback Updater for out-of-band feedback: downlink predictions in, release times of
 * uplink feedback packets out.
 */
export class AckDelayer {
  readonly window: DeltaWindow;
  readonly scheduler: ReleaseScheduler;
  private readonly baselineResetUs: number;
  private prevTotalMs: number | undefined;
  private prevPredictionTUs = 0;

  constructor(config: AckDelayerConfig = {}) {
    this.window = new DeltaWindow(config);
    this.scheduler = new ReleaseScheduler(this.window, config);
    this.baselineResetUs = (config.baselineResetMs ?? 500) * 1000;
  }

  /**
   * A downlink packet of the flow arrived at tUs with predicted total delay totalMs. The first
   * prediction (and the first after a pause > baselineResetMs) only sets the baseline. Returns
   * the delta recorded, or undefined when none was.
   */
  onPrediction(tUs: number, totalMs: number): number | undefined {
    if (!Number.isFinite(totalMs)) return undefined;
    const prev = this.prevTotalMs;
    const gapUs = tUs - this.prevPredictionTUs;
    this.prevTotalMs = totalMs;
    this.prevPredictionTUs = tUs;
    if (prev === undefined || gapUs > this.baselineResetUs) return undefined;
    const delta = totalMs - prev;
    this.window.add(tUs, delta);
    return delta;
  }

  /** An uplink feedback packet of the flow arrived at tUs: returns its release time (µs). */
  onUplink(tUs: number, rng: Rng): number {
    return this.scheduler.schedule(tUs, rng).releaseTUs;
  }

  /** Like onUplink, with the details of the decision (for metrics and tests). */
  onUplinkDetailed(tUs: number, rng: Rng): ReleaseDecision {
    return this.scheduler.schedule(tUs, rng);
  }

  /** An uplink packet that must not be delayed: released at max(tUs, previous release). */
  passThrough(tUs: number): number {
    return this.scheduler.passThrough(tUs);
  }

  /**
   * True when the flow holds nothing and remembers nothing that still matters at tUs: the
   * flow table may evict it.
   */
  isIdle(tUs: number): boolean {
    const last = this.scheduler.lastReleaseTUs;
    return (
      (last === undefined || last <= tUs) &&
      this.window.deltaCount(tUs) === 0 &&
      this.window.tokenBalanceMs(tUs) === 0
    );
  }
}
