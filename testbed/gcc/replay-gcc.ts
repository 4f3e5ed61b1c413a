/**
 * Offline replay of the parts of libwebrtc's goog_cc that read reported receive times: the
 * acknowledged-bitrate estimator and the delay-based detector chain (inter-arrival grouping ->
 * trendline -> normal/overusing/underusing), plus the AIMD decrease. Pure: the series is the
 * only input (one reported series: what the client, or zhuge at the AP, put in TWCC feedback).
 *
 * Feedback messages are not in a per-packet table, so the replay cuts the series (in seq order)
 * into messages of feedbackIntervalMs of reported arrival time; as in GCC, each message's
 * received packets are processed in receive-time order (ties: send time, then seq), the
 * acknowledged bitrate first, then the detector, then one rate decision per message.
 */
import { AimdDecrease, AIMD_DEFAULT_RTT_MS, type AimdDecreaseEvent } from './aimd-decrease.js';
import { BitrateEstimator } from './bitrate-estimator.js';
import { InterArrivalDelta } from './inter-arrival-delta.js';
import { TrendlineEstimator, type BandwidthUsage } from './trendline-estimator.js';

/** One packet of a reported series; arrivalTimeMs null = reported lost. */
export interface GccPacket {
  readonly seq: number;
  readonly sendTimeMs: number;
  readonly sizeBytes: number;
  readonly arrivalTimeMs: number | null;
}

export interface ReplayGccOptions {
  /** reported-arrival span of one feedback message (default 100 ms); <= 0 = one message per received packet, Infinity = one message */
  readonly feedbackIntervalMs?: number;
  /** report the first overuse at or after this time (default: the first at all) */
  readonly overuseAfterMs?: number;
  /** RTT for the AIMD reduce interval (default 200 ms, libwebrtc's before an RTT is known) */
  readonly rttMs?: number;
}

/** One group delta as the trendline saw it. */
export interface GccGroupRow {
  /** reported arrival of the packet that completed the delta */
  readonly tMs: number;
  readonly sendDeltaMs: number;
  readonly arrivalDeltaMs: number;
  readonly smoothedDelayMs: number;
  readonly trendSlope: number;
  readonly modifiedTrend: number;
  readonly threshold: number;
  readonly state: BandwidthUsage;
}

export interface ReplayGccCounts {
  readonly packets: number;
  readonly received: number;
  readonly feedbacks: number;
  readonly groups: number;
  /** group arrival deltas < 0 (each drops its packet) */
  readonly negativeArrivalDeltas: number;
  /** resets after 3 consecutive negative deltas */
  readonly reorderResets: number;
  /** resets because feedback stopped for more than 2 s (the first start not counted) */
  readonly timeoutResets: number;
  /** packets dropped for being sent before their group's first packet */
  readonly reorderedPackets: number;
  /** group rows whose state is overusing */
  readonly overuseRows: number;
  /** transitions into overusing (overuse signals) */
  readonly overuseSignals: number;
  readonly underuseRows: number;
}

export interface ReplayGccResult {
  readonly groups: readonly GccGroupRow[];
  /** the acknowledged bitrate after each feedback message that has one */
  readonly ackedBitrate: readonly { readonly tMs: number; readonly bitrateBps: number }[];
  readonly decreases: readonly AimdDecreaseEvent[];
  readonly counts: ReplayGccCounts;
  /** first group row in overusing at or after opts.overuseAfterMs; null if none */
  readonly firstOveruseMs: number | null;
}

/** Stream timeout that recreates the inter-arrival and trendline state (kStreamTimeOut). */
export const STREAM_TIMEOUT_MS = 2000;
export const DEFAULT_FEEDBACK_INTERVAL_MS = 100;

/**
 * Cuts the series (seq order) into feedback messages: a received packet whose reported arrival
 * is intervalMs or more after the message's first received packet starts the next message
 * (intervalMs <= 0: every received packet does). Lost packets ride along in the open message.
 */
export function feedbackBatches(series: readonly GccPacket[], intervalMs: number): GccPacket[][] {
  const out: GccPacket[][] = [];
  let batch: GccPacket[] = [];
  let startMs: number | null = null;
  for (const p of series) {
    if (p.arrivalTimeMs !== null) {
      if (startMs === null) startMs = p.arrivalTimeMs;
      else if (intervalMs <= 0 || p.arrivalTimeMs >= startMs + intervalMs) {
        out.push(batch);
        batch = [];
        startMs = p.arrivalTimeMs;
      }
    }
    batch.push(p);
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

type Received = GccPacket & { readonly arrivalTimeMs: number };

/** SortedByReceiveTime: received packets by receive time, then send time, then seq. */
export function sortedByReceiveTime(batch: readonly GccPacket[]): Received[] {
  const rx = batch.filter((p): p is Received => p.arrivalTimeMs !== null);
  return rx.sort((a, b) => a.arrivalTimeMs - b.arrivalTimeMs || a.sendTimeMs - b.sendTimeMs || a.seq - b.seq);
}

/** First row in overusing with tMs >= afterMs. */
export function firstOveruseAtOrAfter(rows: readonly GccGroupRow[], afterMs: number): number | null {
  return rows.find((r) => r.state === 'overusing' && r.tMs >= afterMs)?.tMs ?? null;
}

export function replayGcc(series: readonly GccPacket[], opts: ReplayGccOptions = {}): ReplayGccResult {
  const batches = feedbackBatches(series, opts.feedbackIntervalMs ?? DEFAULT_FEEDBACK_INTERVAL_MS);
  const acked = new BitrateEstimator();
  const aimd = new AimdDecrease(opts.rttMs ?? AIMD_DEFAULT_RTT_MS);
  let inter = new InterArrivalDelta();
  let trend = new TrendlineEstimator();
  let lastSeenMs: number | null = null;
  const groups: GccGroupRow[] = [];
  const ackedBitrate: { tMs: number; bitrateBps: number }[] = [];
  const decreases: AimdDecreaseEvent[] = [];
  let feedbacks = 0;
  let received = 0;
  let negativeArrivalDeltas = 0;
  let reorderResets = 0;
  let timeoutResets = 0;
  let reorderedPackets = 0;
  let overuseSignals = 0;
  for (const batch of batches) {
    const rx = sortedByReceiveTime(batch);
    if (rx.length === 0) continue; // a feedback with nothing received: GCC returns early
    feedbacks += 1;
    received += rx.length;
    // the sender's receipt time of this feedback, approximated in the receiver's clock
    const atMs = rx.reduce((m, p) => Math.max(m, p.arrivalTimeMs), -Infinity);
    for (const p of rx) acked.update(p.arrivalTimeMs, p.sizeBytes);
    const ackedBps = acked.bitrateBps();
    if (ackedBps !== null) ackedBitrate.push({ tMs: atMs, bitrateBps: ackedBps });
    for (const p of rx) {
      if (lastSeenMs === null || atMs - lastSeenMs > STREAM_TIMEOUT_MS) {
        if (lastSeenMs !== null) timeoutResets += 1;
        inter = new InterArrivalDelta();
        trend = new TrendlineEstimator();
      }
      lastSeenMs = atMs;
      const ev = inter.computeDeltas(p.sendTimeMs, p.arrivalTimeMs, p.sizeBytes);
      if (ev.kind === 'reordered-packet') reorderedPackets += 1;
      else if (ev.kind === 'negative-delta') {
        negativeArrivalDeltas += 1;
        if (ev.reset) reorderResets += 1;
      } else if (ev.kind === 'delta') {
        const before = trend.state();
        const u = trend.update(ev.arrivalDeltaMs, ev.sendDeltaMs, p.arrivalTimeMs);
        if (u.state === 'overusing' && before !== 'overusing') overuseSignals += 1;
        groups.push({
          tMs: p.arrivalTimeMs,
          sendDeltaMs: ev.sendDeltaMs,
          arrivalDeltaMs: ev.arrivalDeltaMs,
          smoothedDelayMs: u.smoothedDelayMs,
          trendSlope: u.trendSlope,
          modifiedTrend: u.modifiedTrend,
          threshold: u.threshold,
          state: u.state,
        });
      }
    }
    const dec = aimd.onFeedback(atMs, trend.state(), ackedBps);
    if (dec !== null) decreases.push(dec);
  }
  const counts: ReplayGccCounts = {
    packets: series.length,
    received,
    feedbacks,
    groups: groups.length,
    negativeArrivalDeltas,
    reorderResets,
    timeoutResets,
    reorderedPackets,
    overuseRows: groups.filter((g) => g.state === 'overusing').length,
    overuseSignals,
    underuseRows: groups.filter((g) => g.state === 'underusing').length,
  };
  return {
    groups,
    ackedBitrate,
    decreases,
    counts,
    firstOveruseMs: firstOveruseAtOrAfter(groups, opts.overuseAfterMs ?? -Infinity),
  };
}
