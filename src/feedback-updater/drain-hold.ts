/**
 * Drain hold: an alternative out-of-band rule (NOT the paper's Algorithm 2) for ACK-clocked
 * senders that do not react to a few milliseconds of extra RTT (Linux bbr v1, cubic).
 *
 * Why it exists: the reference rule delays an ACK by one sampled predicted-delay *increment*
 * (at most capMs, 10 ms). After a 10x bandwidth drop the sender's own RTT samples already rise at
 * ~0.9 ms per ms of wall time, so a few early milliseconds change nothing for a sender whose
 * reaction is not delay-driven (docs/results/tcp-drop.md measures exactly that). What such a
 * sender does obey is its ACK clock: it sends when ACKs arrive, within a window it keeps for
 * several round trips (bbr: 2 x the old BDP for ~10 rounds; cubic: until a loss).
 *
 * The rule: when the Fortune Teller says the AP queue holds more than `targetMs` of data, the
 * flow's ACKs are held until that excess has drained (the sender, ACK-clocked, stops adding to the
 * queue meanwhile); afterwards they are released at their natural spacing, so the sender keeps
 * sending at the dequeue rate and the queue stays near the target. The excess of the sender's
 * window sits in the AP as held ACKs (~60 bytes each) instead of as data in the Wi-Fi queue, where
 * it delays every flow. The sender also sees its RTT rise at once (the held ACKs), which is the
 * paper's "shortest control loop" taken literally: the ACK reaches it with the delay the newest
 * packet is predicted to see.
 *
 * Control: the hold acts on the queue one loop later (a released ACK lets the sender send, and its
 * data reaches the AP about one base RTT after the release), so deciding each ACK's hold from the
 * queue seen at its arrival overshoots: the fluid model in the tests settled at ~230 ms instead of
 * 50 ms with a proportional rule. The rule is an integral controller on the release spacing,
 * with its gain scaled by the loop delay (the current hold plus loopMs):
 *   err     = queueMs - targetMs                      (queueMs: predicted queueing delay now)
 *   spacing = (tUs - prevArrival) * (1 + gain * err / (prevHold + loopMs))
 *             floored at (1 - catchUp) x the arrival spacing when the queue is short
 *   release = clamp(prevRelease + spacing, tUs, tUs + maxHoldMs), never before prevRelease.
 * The first ACK of a flow (or after an idle gap longer than idleResetMs) passes at once. Order wins
 * over the cap, as in Algorithm 2; a hold of maxHoldMs keeps the natural spacing.
 *
 * Limits: it only moves the queue of ACK-clocked, window-limited senders; an app-limited or
 * purely rate-paced flow is not slowed by held ACKs until its window fills. With untreated flows
 * filling the same queue the excess is theirs and holding a treated flow's ACKs cannot drain it.
 */

export interface DrainHoldConfig {
  /** Queueing delay (ms) the AP queue may hold before ACKs are held (default 50). */
  targetMs?: number;
  /** Upper bound on the hold of one ACK (ms, default 1000). */
  maxHoldMs?: number;
  /** How much faster than the ACK rate a standing hold is given back at most, 0..0.9 (default 0.25). */
  catchUp?: number;
  /** Loop delay besides the hold (ms, default 100): release -> sender -> data back at the AP. */
  loopMs?: number;
  /** Integral gain per loop delay, 0..2 (default 0.5: an error is corrected over ~2 loops). */
  gain?: number;
}

export const DRAIN_HOLD_DEFAULTS = { targetMs: 50, maxHoldMs: 1000, catchUp: 0.25, loopMs: 100, gain: 0.5 } as const;

/** An arrival gap longer than this starts the flow's hold afresh. */
const IDLE_RESET_US = 2_000_000;

export interface DrainDecision {
  releaseTUs: number;
  addedDelayUs: number;
  /** queueMs - targetMs when positive, else 0 */
  excessMs: number;
  /** True when maxHoldMs cut the hold. */
  capped: boolean;
}

export class DrainHold {
  readonly targetMs: number;
  readonly maxHoldMs: number;
  readonly catchUp: number;
  readonly loopMs: number;
  readonly gain: number;
  private lastArrival: number | undefined;
  private lastRelease: number | undefined;

  constructor(config: DrainHoldConfig = {}) {
    this.targetMs = config.targetMs ?? DRAIN_HOLD_DEFAULTS.targetMs;
    this.maxHoldMs = config.maxHoldMs ?? DRAIN_HOLD_DEFAULTS.maxHoldMs;
    this.catchUp = config.catchUp ?? DRAIN_HOLD_DEFAULTS.catchUp;
    this.loopMs = config.loopMs ?? DRAIN_HOLD_DEFAULTS.loopMs;
    this.gain = config.gain ?? DRAIN_HOLD_DEFAULTS.gain;
    if (!(this.loopMs > 0)) throw new RangeError('DrainHold: loopMs must be > 0');
    if (!(this.gain > 0 && this.gain <= 2)) throw new RangeError('DrainHold: gain must be in (0, 2]');
    if (!(this.targetMs >= 0)) throw new RangeError('DrainHold: targetMs must be >= 0');
    if (!(this.maxHoldMs >= 0)) throw new RangeError('DrainHold: maxHoldMs must be >= 0');
    if (!(this.catchUp >= 0 && this.catchUp <= 0.9)) throw new RangeError('DrainHold: catchUp must be in [0, 0.9]');
  }

  get lastReleaseTUs(): number | undefined {
    return this.lastRelease;
  }

  /** One ACK-carrying packet arriving at tUs while the queue holds queueMs of data. */
  schedule(tUs: number, queueMs: number, out?: DrainDecision): DrainDecision {
    const d = out ?? { releaseTUs: 0, addedDelayUs: 0, excessMs: 0, capped: false };
    const errMs = queueMs - this.targetMs;
    const lastA = this.lastArrival;
    const lastR = this.lastRelease;
    let release = tUs;
    let capped = false;
    if (lastA !== undefined && lastR !== undefined && tUs - lastA <= IDLE_RESET_US) {
      const gapUs = tUs > lastA ? tUs - lastA : 0;
      const holdMs = (lastR - lastA) / 1000;
      let factor = 1 + (this.gain * errMs) / (holdMs + this.loopMs);
      if (factor < 1 - this.catchUp) factor = 1 - this.catchUp;
      release = lastR + gapUs * factor;
      const maxR = tUs + this.maxHoldMs * 1000;
      if (release > maxR) {
        release = maxR;
        capped = true;
      }
      if (release < lastR) release = lastR; // order wins over the cap
    } else if (lastR !== undefined && lastR > tUs) {
      release = lastR;
    }
    if (release < tUs) release = tUs;
    this.lastArrival = tUs;
    this.lastRelease = release;
    d.releaseTUs = release;
    d.addedDelayUs = release - tUs;
    d.excessMs = errMs > 0 ? errMs : 0;
    d.capped = capped;
    return d;
  }

  /** A packet that must not be held (SYN/FIN/RST): at once, but never before the previous one. */
  passThrough(tUs: number): number {
    const lastR = this.lastRelease;
    const release = lastR === undefined || lastR < tUs ? tUs : lastR;
    this.lastRelease = release;
    this.lastArrival = tUs;
    return release;
  }
}
