/**
 * Algorithm 2 of Zhuge's Feedback Updater (out-of-band feedback): when to release a held uplink
 * feedback packet (TCP ACK, QUIC packet) of one flow.
 *
 * For a feedback packet arriving at tUs:
 *   1. minDelay = max(lastRelease - tUs, 0): never release before the previous packet of the
 *      flow (the sender must see feedback in order);
 *   2. sampled = a delta drawn uniformly from the flow's DeltaWindow, capped at capMs;
 *   3. if sampled < minDelay the packet waits minDelay anyway; the excess wait
 *      (minDelay - sampled) is booked as a token, because the sender already saw that much
 *      extra delay and later packets must give it back (otherwise the mean added delay would
 *      exceed the mean predicted increment whenever ACKs arrive in bursts);
 *      else the part above the forced wait (sampled - minDelay) is reduced by spending tokens;
 *   4. release = tUs + delay.
 * The cap (default 10 ms; the authors later reported ~5 ms suffices) bounds the added delay.
 * Order wins over the cap: with non-decreasing arrival times minDelay <= capMs always holds
 * (the previous release was at most capMs after an earlier arrival), so the cap can only be
 * exceeded if the caller's clock goes backwards.
 */

import type { DeltaWindow } from './delta-window.js';
import type { Rng } from './rng.js';

export interface ReleaseSchedulerConfig {
  /** Upper bound on the delay added to one packet (default 10 ms). */
  capMs?: number;
  /**
   * Book the forced order-keeping wait as a token (default true, the paper's design). false
   * exists only for ablation experiments.
   */
  bookForcedWait?: boolean;
}

export const SCHEDULER_DEFAULTS = { capMs: 10, bookForcedWait: true } as const;

export interface ReleaseDecision {
  /** When to release the packet (µs, same clock as tUs); never before the flow's previous release. */
  releaseTUs: number;
  /** releaseTUs - tUs. */
  addedDelayUs: number;
  /** The delta drawn from the window (ms, before the cap). */
  sampledMs: number;
  /** The order-keeping lower bound (ms). */
  minDelayMs: number;
  /** Tokens spent against this packet (ms). */
  tokensSpentMs: number;
  /** Forced wait booked as a token by this packet (ms). */
  tokensBookedMs: number;
  /** True when the cap cut the sampled delay. */
  capped: boolean;
}

export class ReleaseScheduler {
  readonly capMs: number;
  private readonly bookForcedWait: boolean;
  private lastRelease: number | undefined;

  constructor(
    readonly window: DeltaWindow,
    config: ReleaseSchedulerConfig = {},
  ) {
    this.capMs = config.capMs ?? SCHEDULER_DEFAULTS.capMs;
    if (!(this.capMs >= 0)) throw new RangeError('ReleaseScheduler: capMs must be >= 0');
    this.bookForcedWait = config.bookForcedWait ?? SCHEDULER_DEFAULTS.bookForcedWait;
  }

  /** Release time of the flow's latest scheduled packet (undefined before the first). */
  get lastReleaseTUs(): number | undefined {
    return this.lastRelease;
  }

  /** Algorithm 2 for one uplink feedback packet arriving at tUs. */
  schedule(tUs: number, rng: Rng): ReleaseDecision {
    const last = this.lastRelease;
    const minDelayMs = last === undefined ? 0 : Math.max(last - tUs, 0) / 1000;
    const sampledMs = this.window.sample(tUs, rng);
    const target = Math.min(sampledMs, this.capMs);
    let delayMs: number;
    let tokensSpentMs = 0;
    let tokensBookedMs = 0;
    if (target < minDelayMs) {
      delayMs = minDelayMs;
      if (this.bookForcedWait) {
        tokensBookedMs = minDelayMs - target;
        this.window.addToken(tUs, tokensBookedMs);
      }
    } else {
      tokensSpentMs = this.window.spendTokens(tUs, target - minDelayMs);
      delayMs = target - tokensSpentMs;
    }
    let releaseTUs = tUs + delayMs * 1000;
    if (last !== undefined && releaseTUs < last) releaseTUs = last; // float rounding guard
    this.lastRelease = releaseTUs;
    return {
      releaseTUs,
      addedDelayUs: releaseTUs - tUs,
      sampledMs,
      minDelayMs,
      tokensSpentMs,
      tokensBookedMs,
      capped: sampledMs > this.capMs,
    };
  }

  /**
   * For packets that must not be delayed (SYN/FIN/RST, unparsable): released at once, but never
   * ahead of a held packet of the same flow. Returns max(tUs, lastRelease).
   */
  passThrough(tUs: number): number {
    const last = this.lastRelease;
    const releaseTUs = last === undefined ? tUs : Math.max(tUs, last);
    this.lastRelease = releaseTUs;
    return releaseTUs;
  }
}
