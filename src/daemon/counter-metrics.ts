/**
 * The one table from the parts' counters to Prometheus counters. Each part keeps plain monotonic
 * numbers (the engine: src/engine/counters.ts and the counters of NAT, drop attribution and the
 * uplink policies it holds; the Fortune Teller's queue model; the RTP feedback path); each row
 * here reads one number and names the metric and labels it is exported as. Adding a counter to
 * a metric is one row; metric names and labels are defined in metrics.ts.
 *
 * CounterSync copies the increase since the last sync (a counter that went back, e.g. a
 * restarted Fortune Teller, adds nothing and becomes the new reference).
 */
import type { Counter } from 'prom-client';
import { PROTOCOLS, type EngineCounters } from '../engine/counters.js';
import type { QueueModelCounters } from '../fortune-teller/index.js';
import type { RtpFeedback } from '../engine/rtp/rtp-feedback.js';
import { DIRECTIONS, MALFORMED_REASONS, QUEUE_MODEL_EVENTS, type Metrics } from './metrics.js';

type CounterMetric = { [K in keyof Metrics]: Metrics[K] extends Counter<infer _L> ? K : never }[keyof Metrics];

export interface CounterRow<S> {
  read: (s: S) => number;
  metric: CounterMetric;
  labels: Record<string, string>;
}

export const ENGINE_COUNTER_METRICS: ReadonlyArray<CounterRow<EngineCounters>> = [
  ...DIRECTIONS.flatMap((direction) =>
    PROTOCOLS.map((protocol) => ({
      read: (c: EngineCounters) => (direction === 'downlink' ? c.downlinkArrivals : c.uplink)[protocol],
      metric: 'packets' as const,
      labels: { direction, protocol },
    })),
  ),
  ...MALFORMED_REASONS.map((reason) => ({ read: (c: EngineCounters) => c.malformed[reason], metric: 'malformedPackets' as const, labels: { reason } })),
  { read: (c) => c.flowsEvictedIdle, metric: 'flowsEvicted', labels: { cause: 'idle' } },
  { read: (c) => c.uplinkForeignMac, metric: 'uplinkForeignMac', labels: {} },
  { read: (c) => c.flowsEvictedCapacity, metric: 'flowsEvicted', labels: { cause: 'capacity' } },
  { read: (c) => c.gateReleasedQueue, metric: 'gateReleases', labels: { reason: 'queue' } },
  { read: (c) => c.gateReleasedMaxHold, metric: 'gateReleases', labels: { reason: 'max_hold' } },
  { read: (c) => c.gateReleasedOverflow, metric: 'gateReleases', labels: { reason: 'overflow' } },
  { read: (c) => c.windowClamped, metric: 'windowClampAcks', labels: { result: 'clamped' } },
  { read: (c) => c.windowUnchanged, metric: 'windowClampAcks', labels: { result: 'unchanged' } },
  { read: (c) => c.windowNoScale, metric: 'windowClampAcks', labels: { result: 'no_scale' } },
  { read: (c) => c.windowNoRtt, metric: 'windowClampAcks', labels: { result: 'no_rtt' } },
];

export const QUEUE_MODEL_COUNTER_METRICS: ReadonlyArray<CounterRow<QueueModelCounters>> = QUEUE_MODEL_EVENTS.map(([k, event]) => ({
  read: (c: QueueModelCounters) => c[k],
  metric: 'queueModelEvents' as const,
  labels: { event },
}));

/** The RTP feedback path's counters (RtpFeedback.status().counters). */
export type RtpFeedbackCounters = ReturnType<RtpFeedback['status']>['counters'];

export const RTP_COUNTER_METRICS: ReadonlyArray<CounterRow<RtpFeedbackCounters>> = [
  { read: (c) => c.feedbackBuilt.twcc, metric: 'feedbackPackets', labels: { kind: 'twcc', action: 'built' } },
  { read: (c) => c.feedbackBuilt.ccfb, metric: 'feedbackPackets', labels: { kind: 'ccfb', action: 'built' } },
  { read: (c) => c.rembSent, metric: 'feedbackPackets', labels: { kind: 'remb', action: 'built' } },
  { read: (c) => c.clientFeedbackDropped.twcc + c.clientFeedbackRewritten.twcc, metric: 'feedbackPackets', labels: { kind: 'twcc', action: 'dropped_client' } },
  { read: (c) => c.clientFeedbackDropped.ccfb + c.clientFeedbackRewritten.ccfb, metric: 'feedbackPackets', labels: { kind: 'ccfb', action: 'dropped_client' } },
  { read: (c) => c.reportTiming.reportedObserved, metric: 'rtpReports', labels: { timing: 'observed' } },
  { read: (c) => c.reportTiming.reportedPredicted, metric: 'rtpReports', labels: { timing: 'predicted' } },
  { read: (c) => c.reportTiming.reportedClamped, metric: 'rtpReports', labels: { timing: 'clamped' } },
  { read: (c) => c.reportTiming.reportedLost, metric: 'rtpReports', labels: { timing: 'lost' } },
  { read: (c) => c.reportTiming.predictionsChecked - c.reportTiming.predictionsBad, metric: 'rtpReportPredictions', labels: { result: 'good' } },
  { read: (c) => c.reportTiming.predictionsBad, metric: 'rtpReportPredictions', labels: { result: 'bad' } },
  { read: (c) => c.reportTiming.predictionAbsErrorSumUs / 1e6, metric: 'rtpReportErrorSeconds', labels: {} },
  { read: (c) => c.reportTiming.lateSumUs / 1e6, metric: 'rtpReportLateSeconds', labels: {} },
  { read: (c) => c.reportTiming.arrivalPredictionsChecked, metric: 'rtpSojournPredictions', labels: {} },
  { read: (c) => c.reportTiming.arrivalPredictionAbsErrorSumUs / 1e6, metric: 'rtpSojournErrorSeconds', labels: {} },
  { read: (c) => c.reportedBackwards, metric: 'rtpReportAnomalies', labels: { kind: 'backwards' } },
  { read: (c) => c.reportTiming.raisedToPrevious, metric: 'rtpReportAnomalies', labels: { kind: 'raised' } },
  { read: (c) => c.lostTooLate + c.reportTiming.droppedAfterReport, metric: 'rtpReportAnomalies', labels: { kind: 'dropped_reported_received' } },
  { read: (c) => c.implausibleSeqJumps, metric: 'rtpReportAnomalies', labels: { kind: 'implausible_seq_jump' } },
  { read: (c) => c.repair.queued, metric: 'rtpRepairs', labels: { result: 'queued' } },
  { read: (c) => c.repair.noCopy, metric: 'rtpRepairs', labels: { result: 'no_copy' } },
  { read: (c) => c.repair.overflow, metric: 'rtpRepairs', labels: { result: 'overflow' } },
  { read: (c) => c.repair.notCopied, metric: 'rtpRepairs', labels: { result: 'not_copied' } },
  { read: (c) => c.repair.delivered, metric: 'rtpRepairs', labels: { result: 'delivered' } },
  { read: (c) => c.repair.resent, metric: 'rtpRepairs', labels: { result: 'resent' } },
  { read: (c) => c.repair.gaveUp, metric: 'rtpRepairs', labels: { result: 'gave_up' } },
];

/** Copies the increase of each row's number into its Prometheus counter. */
export class CounterSync<S> {
  private readonly last: Float64Array;

  constructor(
    private readonly metrics: Metrics,
    private readonly rows: ReadonlyArray<CounterRow<S>>,
  ) {
    this.last = new Float64Array(rows.length);
  }

  sync(s: S): void {
    this.rows.forEach((r, i) => {
      const now = r.read(s);
      const x = now - (this.last[i] ?? 0);
      if (x > 0) (this.metrics[r.metric] as Counter<string>).inc(r.labels, x);
      this.last[i] = now;
    });
  }
}
