/**
 * Pure summary of one WebRTC call (testbed/webrtc/call.ts) around a bottleneck rate drop.
 * All times are on the harness's monotonic clock (ms). Series are sampled: a sender/receiver
 * stats sample covers the interval up to the next one (capped at 1 s), a frame sample is one
 * presented frame.
 */
import type { FrameSample, ReceiverSample, SenderSample } from './call.js';
import { quantile, r2 } from '../stats.js';

export interface RtcSeries {
  sender: readonly SenderSample[];
  receiver: readonly ReceiverSample[];
  frames: readonly FrameSample[];
}

export interface RtcSummaryOptions {
  /** the bottleneck rate after the drop (bit/s): gccBelowCapacityAfterMs compares against it */
  capacityAfterBps?: number;
  /** how much before the drop counts as steady state (default 5000 ms) */
  preWindowMs?: number;
}

export interface RtcWindowMetrics {
  frameDelayP50Ms: number;
  frameDelayP95Ms: number;
  frameDelayP99Ms: number;
  frameDelayMaxMs: number;
  /** time the picture on screen was older than 400 ms (a presented frame's delay plus the time
   * until the next frame is presented: late frames and freezes both count) */
  frameDelayAbove400msSeconds: number;
  /** time with the receiver's decoded frame rate below 10 fps */
  fpsBelow10Seconds: number;
  /** mean received frame rate (presented frames / window) */
  presentedFps: number;
  /** mean sender bitrate (outbound-rtp bytes) */
  bitrateMbps: number;
  /** mean receiver bitrate (inbound-rtp bytes) */
  receivedMbps: number;
  /** time with the media path's RTT above 200 ms: remote-inbound-rtp roundTripTime (RTCP
   * SR/RR, updated with every report) or, where larger, the candidate pair's currentRoundTripTime
   * (STUN consent checks, updated only every few seconds) */
  rttAbove200msSeconds: number;
  rttP50Ms: number;
  rttMaxMs: number;
  /** the candidate pair's currentRoundTripTime alone */
  pairRttAbove200msSeconds: number;
  availableOutgoingBitrateMeanMbps: number;
  freezes: number;
  freezeSeconds: number;
  jitterBufferP50Ms: number;
}

export interface RtcSummary {
  before: RtcWindowMetrics;
  after: RtcWindowMetrics;
  frameDelayP50Ms: number;
  frameDelayP99Ms: number;
  frameDelayAbove400msSeconds: number;
  fpsBelow10Seconds: number;
  bitrateMbps: number;
  rttAbove200msSeconds: number;
  /** from the drop until availableOutgoingBitrate first falls below capacityAfterBps (NaN: never
   * or no capacity given) */
  gccBelowCapacityAfterMs: number;
  /** from the drop until the sent bitrate (stats interval) first falls below capacityAfterBps */
  sendRateBelowCapacityAfterMs: number;
}


const MAX_SAMPLE_SPAN_MS = 1000;

/** Sum over samples in [from, to) of the time each covers (to the next sample, ≤ 1 s) where pred holds. */
function timeWhere<T extends { tMs: number }>(xs: readonly T[], from: number, to: number, pred: (x: T) => boolean): number {
  let ms = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x === undefined || x.tMs < from || x.tMs >= to) continue;
    const next = xs[i + 1]?.tMs ?? to;
    const span = Math.min(MAX_SAMPLE_SPAN_MS, Math.min(next, to) - x.tMs);
    if (span > 0 && pred(x)) ms += span;
  }
  return ms / 1000;
}

function pathRttMs(s: SenderSample): number | null {
  if (s.remoteRttMs === null) return s.rttMs;
  if (s.rttMs === null) return s.remoteRttMs;
  return Math.max(s.rttMs, s.remoteRttMs);
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function windowMetrics(r: RtcSeries, from: number, to: number): RtcWindowMetrics {
  const frames = r.frames.filter((f) => f.tMs >= from && f.tMs < to);
  const delays = frames.map((f) => f.delayMs);
  // late time: the picture on screen from frame i's presentation until the next one is
  // delayMs_i + (x - t_i) old at time x; count where that exceeds 400 ms, clipped to the window
  let lateMs = 0;
  for (let i = 0; i < r.frames.length; i++) {
    const f = r.frames[i];
    if (f === undefined) continue;
    const next = Math.min(r.frames[i + 1]?.tMs ?? to, to);
    if (next <= from) continue;
    if (f.tMs >= to) break;
    const lateFrom = Math.max(from, f.tMs, f.tMs + 400 - f.delayMs);
    if (next > lateFrom) lateMs += next - lateFrom;
  }
  const snd = r.sender.filter((s) => s.tMs >= from && s.tMs < to);
  const rcv = r.receiver.filter((s) => s.tMs >= from && s.tMs < to);
  const rtts = snd.map(pathRttMs).filter((x): x is number => x !== null);
  const rcvFirst = rcv[0];
  const rcvLast = rcv.at(-1);
  return {
    frameDelayP50Ms: r2(quantile(delays, 0.5)),
    frameDelayP95Ms: r2(quantile(delays, 0.95)),
    frameDelayP99Ms: r2(quantile(delays, 0.99)),
    frameDelayMaxMs: r2(delays.length === 0 ? Number.NaN : Math.max(...delays)),
    frameDelayAbove400msSeconds: r2(lateMs / 1000),
    fpsBelow10Seconds: r2(timeWhere(r.receiver, from, to, (s) => (s.decodedFps ?? s.fps ?? 0) < 10)),
    presentedFps: r2(to > from ? frames.length / ((to - from) / 1000) : Number.NaN),
    bitrateMbps: r2(mean(snd.map((s) => s.bitrateBps).filter((x): x is number => x !== null)) / 1e6),
    receivedMbps: r2(mean(rcv.map((s) => s.bitrateBps).filter((x): x is number => x !== null)) / 1e6),
    rttAbove200msSeconds: r2(timeWhere(r.sender, from, to, (s) => (pathRttMs(s) ?? 0) > 200)),
    pairRttAbove200msSeconds: r2(timeWhere(r.sender, from, to, (s) => s.rttMs !== null && s.rttMs > 200)),
    rttP50Ms: r2(quantile(rtts, 0.5)),
    rttMaxMs: r2(rtts.length === 0 ? Number.NaN : Math.max(...rtts)),
    availableOutgoingBitrateMeanMbps: r2(
      mean(snd.map((s) => s.availableOutgoingBitrateBps).filter((x): x is number => x !== null)) / 1e6,
    ),
    freezes: rcvFirst !== undefined && rcvLast !== undefined ? rcvLast.freezeCount - rcvFirst.freezeCount : 0,
    freezeSeconds: r2(rcvFirst !== undefined && rcvLast !== undefined ? rcvLast.totalFreezesDurationS - rcvFirst.totalFreezesDurationS : 0),
    jitterBufferP50Ms: r2(quantile(rcv.map((s) => s.jitterBufferMs).filter((x): x is number => x !== null), 0.5)),
  };
}

/** Metrics after the drop ([dropAtMonoMs, endMonoMs)) and before it (the preWindowMs before the drop). */
export function summarizeRtc(r: RtcSeries, dropAtMonoMs: number, endMonoMs: number, o: RtcSummaryOptions = {}): RtcSummary {
  const pre = o.preWindowMs ?? 5000;
  const before = windowMetrics(r, dropAtMonoMs - pre, dropAtMonoMs);
  const after = windowMetrics(r, dropAtMonoMs, endMonoMs);
  const cap = o.capacityAfterBps;
  const firstBelow = (val: (s: SenderSample) => number | null): number => {
    if (cap === undefined) return Number.NaN;
    const hit = r.sender.find((s) => {
      const v = val(s);
      return s.tMs >= dropAtMonoMs && s.tMs < endMonoMs && v !== null && v < cap;
    });
    return hit === undefined ? Number.NaN : r2(hit.tMs - dropAtMonoMs);
  };
  return {
    before,
    after,
    frameDelayP50Ms: after.frameDelayP50Ms,
    frameDelayP99Ms: after.frameDelayP99Ms,
    frameDelayAbove400msSeconds: after.frameDelayAbove400msSeconds,
    fpsBelow10Seconds: after.fpsBelow10Seconds,
    bitrateMbps: after.bitrateMbps,
    rttAbove200msSeconds: after.rttAbove200msSeconds,
    gccBelowCapacityAfterMs: firstBelow((s) => s.availableOutgoingBitrateBps),
    sendRateBelowCapacityAfterMs: firstBelow((s) => s.bitrateBps),
  };
}

export { quantile };
