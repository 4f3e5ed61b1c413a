/**
 * Algorithm 1 of Zhuge's Feedback Updater (out-of-band feedback): the per-flow record of
 * predicted delay increments.
 *
 * Every downlink packet of a flow gets a predicted total delay from the Fortune Teller; the
 * difference to the previous packet's prediction is a *delta*:
 *   - delta >= 0 goes into a sliding window (history, default 40 ms), capped at maxDeltaMs
 *     (default 10 ms) so that one outlier prediction cannot hold an ACK for long;
 *   - delta < 0 becomes a *delay token* of |delta| (capped the same way): delay the ACK stream
 *     already carries that the queue has since given back. Tokens are spent against later
 *     sampled delays (see release-scheduler.ts).
 * When an uplink feedback packet arrives, one delta is drawn uniformly from the window, so the
 * distribution of added ACK delays follows the distribution of predicted increments (three
 * +1 ms deltas give three ~1 ms ACK delays, never one +3 ms).
 *
 * Token lifetime (tokenTtlMs, default 100 ms; the published ns-3 model uses the 40 ms history
 * window): a token must be given back while the distortion it compensates is still recent, and
 * must not cancel the increments of a later, unrelated build-up. 40 ms proved too short for the
 * forced order-keeping waits: a rare large increment (a stuck aggregate, +2 ms) makes every ACK
 * of the burst wait ~2 ms, and the ACKs of the next 40 ms rarely draw enough to give it back.
 * Measured on the 60 s build/drain run of test/feedback-updater/long-run.test.ts (9 seeds):
 * mean added delay / mean predicted increment = 1.04-1.17 with 40 ms (systematic overshoot),
 * 0.95-1.07 (mean 1.00) with 100 ms. 100 ms is still shorter than any idle or plateau phase
 * worth the name, so drain tokens do not leak into the next congestion onset.
 *
 * Memory bound: deltas and tokens live in two fixed ring buffers of `maxEntries` entries each
 * (default 4096, i.e. 2 x 4096 x 16 bytes = 128 KiB per flow at most; 4096 entries in 40 ms is
 * ~100k downlink packets/s of one flow, ~1.2 Gbit/s at 1500 B). When a ring is full the oldest
 * entry is overwritten: the window then covers slightly less than historyMs, which only matters
 * beyond that rate.
 */

import type { Rng } from './rng.js';
import { TimedRing } from './timed-ring.js';

export interface DeltaWindowConfig {
  /** Sliding-window length for non-negative deltas (default 40 ms). */
  historyMs?: number;
  /** Cap applied to each delta and each negative-delta token (default 10 ms). */
  maxDeltaMs?: number;
  /** How long an unspent token lives (default 100 ms, see above). */
  tokenTtlMs?: number;
  /** Ring capacity for deltas and, separately, for tokens (default 4096). */
  maxEntries?: number;
}

export const DELTA_WINDOW_DEFAULTS = {
  historyMs: 40,
  maxDeltaMs: 10,
  tokenTtlMs: 100,
  maxEntries: 4096,
} as const;

export class DeltaWindow {
  readonly historyUs: number;
  readonly maxDeltaMs: number;
  readonly tokenTtlUs: number;
  private readonly deltas: TimedRing;
  private readonly tokens: TimedRing;
  private tokenSumMs = 0;
  private deltaSumMs = 0;

  constructor(config: DeltaWindowConfig = {}) {
    const historyMs = config.historyMs ?? DELTA_WINDOW_DEFAULTS.historyMs;
    const maxDeltaMs = config.maxDeltaMs ?? DELTA_WINDOW_DEFAULTS.maxDeltaMs;
    const tokenTtlMs = config.tokenTtlMs ?? DELTA_WINDOW_DEFAULTS.tokenTtlMs;
    const maxEntries = config.maxEntries ?? DELTA_WINDOW_DEFAULTS.maxEntries;
    if (!(historyMs > 0) || !(maxDeltaMs > 0) || !(tokenTtlMs >= 0)) {
      throw new RangeError('DeltaWindow: historyMs and maxDeltaMs must be > 0, tokenTtlMs >= 0');
    }
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('DeltaWindow: maxEntries must be a positive integer');
    }
    this.historyUs = historyMs * 1000;
    this.maxDeltaMs = maxDeltaMs;
    this.tokenTtlUs = tokenTtlMs * 1000;
    this.deltas = new TimedRing(maxEntries);
    this.tokens = new TimedRing(maxEntries);
  }

  /**
   * Algorithm 1: records the predicted increment of one downlink packet at `tUs`. Non-finite
   * deltas are ignored.
   */
  add(tUs: number, deltaMs: number): void {
    if (!Number.isFinite(deltaMs) || !Number.isFinite(tUs)) return;
    this.expire(tUs);
    if (deltaMs >= 0) {
      const v = Math.min(deltaMs, this.maxDeltaMs);
      const lost = this.deltas.push(tUs, v);
      this.deltaSumMs += v - lost;
    } else {
      this.addToken(tUs, Math.min(-deltaMs, this.maxDeltaMs));
    }
  }

  /** Drops deltas older than the history window and tokens older than their lifetime. */
  expire(tUs: number): void {
    const droppedDeltas = this.deltas.expire(tUs, this.historyUs);
    this.deltaSumMs = this.deltas.length === 0 ? 0 : Math.max(0, this.deltaSumMs - droppedDeltas);
    const dropped = this.tokens.expire(tUs, this.tokenTtlUs);
    if (dropped !== 0) this.adjustTokenSum(-dropped);
  }

  /** Draws one delta uniformly from the window at `tUs` (0 when the window is empty). */
  sample(tUs: number, rng: Rng): number {
    this.expire(tUs);
    const n = this.deltas.length;
    if (n === 0) return 0;
    const k = Math.min(n - 1, Math.floor(rng.next() * n));
    return this.deltas.valueAt(k);
  }

  /** Number of deltas in the window at `tUs`. */
  deltaCount(tUs: number): number {
    this.expire(tUs);
    return this.deltas.length;
  }

  /** Mean of the window at `tUs`: the expected value of `sample` (0 when empty). */
  meanDeltaMs(tUs: number): number {
    this.expire(tUs);
    const n = this.deltas.length;
    return n === 0 ? 0 : this.deltaSumMs / n;
  }

  /** Books a token of `ms` (ignored unless > 0). */
  addToken(tUs: number, ms: number): void {
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    const lost = this.tokens.push(tUs, ms);
    this.adjustTokenSum(ms - lost);
  }

  /** Unexpired token balance at `tUs`, in ms. */
  tokenBalanceMs(tUs: number): number {
    this.expire(tUs);
    return this.tokenSumMs;
  }

  /**
   * Spends up to `ms` of tokens, oldest first (they expire first). Returns what was spent
   * (<= ms, <= balance).
   */
  spendTokens(tUs: number, ms: number): number {
    this.expire(tUs);
    if (!(ms > 0)) return 0;
    let want = ms;
    while (want > 0 && this.tokens.length > 0) {
      const front = this.tokens.frontValue();
      if (front <= want) {
        want -= front;
        this.tokens.shift();
      } else {
        this.tokens.setFrontValue(front - want);
        want = 0;
      }
    }
    this.adjustTokenSum(-(ms - want));
    return ms - want;
  }

  /** Forgets all deltas and tokens. */
  reset(): void {
    this.deltas.clear();
    this.tokens.clear();
    this.tokenSumMs = 0;
    this.deltaSumMs = 0;
  }

  /** Entries overwritten because a ring was full (deltas, tokens). */
  get overwritten(): { deltas: number; tokens: number } {
    return { deltas: this.deltas.overwritten, tokens: this.tokens.overwritten };
  }

  // O(1) running balance; snapped to exactly 0 when no token is left so floating-point drift
  // cannot accumulate across busy periods.
  private adjustTokenSum(deltaMs: number): void {
    this.tokenSumMs = this.tokens.length === 0 ? 0 : Math.max(0, this.tokenSumMs + deltaMs);
  }
}
