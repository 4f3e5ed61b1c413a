/**
 * A drop that starts from a steady state, so that the two arms of a pair compare: the sender is
 * capped (RTCRtpSender maxBitrate), and the drop is armed only once the call has sent at least
 * `holdFraction` of the cap for `holdS` seconds (from `earliestS` after the connection on). A call
 * that never gets there by `maxWaitS` later is dropped all the same and marked not steady: the
 * caller retries or lists it as excluded. The window after the drop is `afterS` long whatever the
 * wait, so every trial measures the same span.
 *
 * Pure: it reads the sender samples it is given and says when to drop.
 */

export interface SteadyStart {
  /** the sender's cap (bit/s), below the link's rate before the drop */
  capBps: number;
  /** how long the call must have held the cap before the drop may come (s) */
  holdS: number;
  /** the share of the cap that counts as holding it */
  holdFraction: number;
  /** the first moment the drop may come (s after the connection) */
  earliestS: number;
  /** how long after earliestS to wait at most (s) */
  maxWaitS: number;
  /** the measured window after the drop (s) */
  afterS: number;
}

export const STEADY_START_DEFAULTS: Omit<SteadyStart, 'capBps'> = {
  holdS: 3,
  holdFraction: 0.85,
  earliestS: 10,
  maxWaitS: 20,
  afterS: 15,
};

/** The call's length that leaves room for the longest wait and the window after the drop (s). */
export function steadyCallDurationS(s: SteadyStart): number {
  return s.earliestS + s.maxWaitS + s.afterS;
}

/** Decides, sample by sample, when the drop may come. */
export class SteadyWatch {
  private readonly samples: Array<{ tMs: number; bitrateBps: number }> = [];
  private connectedMs = Number.NaN;

  constructor(private readonly s: SteadyStart) {}

  connected(monoMs: number): void {
    this.connectedMs = monoMs;
  }

  /** A sender sample (its sent bitrate over the poll interval). */
  add(tMs: number, bitrateBps: number | null): void {
    if (bitrateBps === null) return;
    this.samples.push({ tMs, bitrateBps });
    const keepFrom = tMs - this.s.holdS * 1000 - 1000;
    while (this.samples.length > 0 && (this.samples[0]?.tMs ?? 0) < keepFrom) this.samples.shift();
  }

  /** Whether the call has held the cap for holdS up to nowMs. */
  holding(nowMs: number): boolean {
    const from = nowMs - this.s.holdS * 1000;
    const w = this.samples.filter((x) => x.tMs >= from && x.tMs <= nowMs);
    // the window must be covered: samples come every 100 ms
    if (w.length === 0 || (w[0]?.tMs ?? nowMs) > from + 500) return false;
    const mean = w.reduce((a, x) => a + x.bitrateBps, 0) / w.length;
    return mean >= this.s.holdFraction * this.s.capBps;
  }

  /** 'wait', 'steady' (drop now) or 'timeout' (drop now, not steady) at nowMs. */
  decide(nowMs: number): 'wait' | 'steady' | 'timeout' {
    if (Number.isNaN(this.connectedMs)) return 'wait';
    const sinceS = (nowMs - this.connectedMs) / 1000;
    if (sinceS < this.s.earliestS) return 'wait';
    if (this.holding(nowMs)) return 'steady';
    return sinceS >= this.s.earliestS + this.s.maxWaitS ? 'timeout' : 'wait';
  }
}
