/**
 * Prometheus metrics of the daemon, on a Registry of its own (never prom-client's global
 * default registry: tests and embedders can build as many as they like).
 *
 * Conventions: every name starts with `zhuge_`; base units (seconds, bytes); counters end in
 * `_total`. Labels only ever take values from small fixed sets (direction, protocol, reason...):
 * NO per-flow, per-client or per-address label, so the series count is bounded whatever the
 * traffic. Every label combination is initialised at 0 so rates work from the first scrape.
 * Each metric is documented in docs/operations.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MalformedReason } from '../protocols/errors.js';
import { VERSION } from '../version.js';

export const DIRECTIONS = ['downlink', 'uplink'] as const;
export type Direction = (typeof DIRECTIONS)[number];

// the label sets the engine counts by (one name per concept: src/engine/counters.ts, flow-status.ts)
import { PROTOCOLS } from '../engine/counters.js';
import { FLOW_MODES } from '../engine/flow-status.js';
import { HEALTH_PROBLEMS, type HealthProblem } from './health.js';
export { PROTOCOLS, type ProtocolLabel } from '../engine/counters.js';
export { FLOW_MODES, type FlowMode } from '../engine/flow-status.js';

export const MALFORMED_REASONS = ['truncated', 'bad-version', 'bad-length', 'bad-header', 'bad-checksum', 'unsupported'] as const satisfies readonly MalformedReason[];
// compile-time: every MalformedReason is listed above (adding a reason in errors.ts breaks this line until it is added here)
const _allReasonsListed: [Exclude<MalformedReason, (typeof MALFORMED_REASONS)[number]>] extends [never] ? true : never = true;
void _allReasonsListed;

export const EVICT_CAUSES = ['idle', 'capacity'] as const;
export const NFQUEUE_DROP_KINDS = ['kernel_queue', 'user', 'enobufs'] as const;
export const NFQUEUE_ERROR_KINDS = ['send', 'recv', 'truncated', 'verdict_lost'] as const;
export const TAPS = ['eth', 'wlan'] as const;
export const CAPTURE_DROP_KINDS = ['kernel', 'interface'] as const;
export const RELOAD_RESULTS = ['ok', 'error'] as const;
export const FEEDBACK_KINDS = ['twcc', 'ccfb', 'remb'] as const;
export const FEEDBACK_ACTIONS = ['built', 'dropped_client'] as const;
export const REPORT_TIMINGS = ['observed', 'predicted', 'clamped', 'lost'] as const;
export const PREDICTION_RESULTS = ['good', 'bad'] as const;
export const REPORT_ANOMALIES = ['backwards', 'raised', 'dropped_reported_received', 'implausible_seq_jump'] as const;
/** Outcomes of a drop reported received (drop-repair.ts). */
export const REPAIR_RESULTS = ['queued', 'no_copy', 'overflow', 'not_copied'] as const;

/** Histogram buckets for delays (s): 0.5 ms doubling to 1.024 s (12 buckets, +Inf implied). */
export const DELAY_BUCKETS_S: readonly number[] = Array.from({ length: 12 }, (_, i) => 0.0005 * 2 ** i);

type L<T extends readonly string[]> = T[number];

export interface Metrics {
  readonly registry: Registry;
  /** The registry's exposition content type (for the HTTP Content-Type header). */
  readonly contentType: string;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly packets: Counter<'direction' | 'protocol'>;
  /** Fortune Teller's predicted total delay per downlink packet (s). */
  readonly predictedDelay: Histogram;
  /** Delay actually added to each held uplink packet (s). */
  readonly addedDelay: Histogram;
  readonly holdLateness: Histogram;
  readonly heldPackets: Gauge;
  readonly gateReleases: Counter<'reason'>;
  readonly windowClampAcks: Counter<'result'>;
  readonly queueModelEvents: Counter<'event'>;
  readonly malformedPackets: Counter<'reason'>;
  readonly flowsActive: Gauge;
  readonly flowsEvicted: Counter<'cause'>;
  readonly uplinkForeignMac: Counter;
  readonly flowsByMode: Gauge<'mode'>;
  readonly nfqueueDrops: Counter<'kind'>;
  readonly nfqueueErrors: Counter<'kind'>;
  readonly captureDrops: Counter<'tap' | 'kind'>;
  readonly captureOversize: Counter<'tap'>;
  readonly pathOffload: Gauge<'interface' | 'feature'>;
  readonly flowOffload: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly feedbackPackets: Counter<'kind' | 'action'>;
  /** In-band feedback: how each packet's reported time was chosen (reportTiming 'departure'). */
  readonly rtpReports: Counter<'timing'>;
  readonly rtpReportPredictions: Counter<'result'>;
  readonly rtpReportErrorSeconds: Counter;
  readonly rtpReportLateSeconds: Counter;
  readonly rtpSojournPredictions: Counter;
  readonly rtpSojournErrorSeconds: Counter;
  readonly rtpReportAnomalies: Counter<'kind'>;
  readonly rtpReportLargestStep: Gauge;
  /** Drops reported received sent again from zhuge's copy, or not (flows.rtp.repairDrops). */
  readonly rtpRepairs: Counter<'result'>;
  /** Bytes in the observed downlink queue(s), as tracked (summed over queues/stations). */
  readonly queueBacklog: Gauge;
  readonly watchdogTrips: Counter;
  readonly nfqueueBypassed: Counter;
  /** 1 while zhuge's interception rules are installed. */
  readonly rulesInstalled: Gauge;
  readonly rulesRestored: Counter;
  /**
   * Where zhuge_health_problem (1 while a problem makes /healthz answer 503, one series per
   * problem) is read from at each scrape: the problems /healthz would answer
   * with now (so the gauge and /healthz never disagree, not even for a housekeeping tick).
   */
  setHealthSource(problems: () => readonly HealthProblem[]): void;
  /** The exposition text (what /metrics serves). */
  scrape(): Promise<string>;
}

export interface CreateMetricsOptions {
  /** prom-client's default process metrics (CPU, memory, event loop lag, GC) with the zhuge_ prefix. Default true. */
  processMetrics?: boolean;
  /** Overrides for build info (tests). */
  version?: string;
}

function zeroInit<T extends string>(c: Counter<T>, sets: Partial<Record<T, string | number>>[]): void {
  for (const s of sets) c.inc(s, 0);
}

function product<A extends string, B extends string>(a: readonly string[], an: A, b: readonly string[], bn: B): Record<A | B, string>[] {
  const out: Record<A | B, string>[] = [];
  for (const x of a) for (const y of b) out.push({ [an]: x, [bn]: y } as Record<A | B, string>);
  return out;
}

/** QueueModelCounters fields exported as zhuge_queue_model_events_total{event}. */
export const QUEUE_MODEL_EVENTS = [
  ['matched', 'matched'],
  ['departuresWithoutArrival', 'unmatched_departure'],
  ['retiredAsDrop', 'retired_as_drop'],
  ['resyncs', 'resync'],
  ['overflowEvictions', 'overflow'],
] as const;

export function createMetrics(opts: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const buildInfo = new Gauge({
    name: 'zhuge_build_info',
    help: 'Always 1; labels carry the zhuge version and the Node.js version running it.',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  buildInfo.set({ version: opts.version ?? VERSION, node_version: process.versions.node }, 1);

  const packets = new Counter({
    name: 'zhuge_packets_total',
    help: 'Packets of tracked traffic seen by zhuge, by direction (downlink = towards Wi-Fi clients) and protocol.',
    labelNames: ['direction', 'protocol'] as const,
    registers,
  });
  zeroInit(packets, product(DIRECTIONS, 'direction', PROTOCOLS, 'protocol'));

  const predictedDelay = new Histogram({
    name: 'zhuge_predicted_delay_seconds',
    help: 'Fortune Teller prediction of the AP queueing + transmission delay of each downlink packet.',
    buckets: [...DELAY_BUCKETS_S],
    registers,
  });
  const addedDelay = new Histogram({
    name: 'zhuge_added_delay_seconds',
    help: 'Delay zhuge added to each held uplink feedback packet (TCP ACK, QUIC, SRTCP fallback) before releasing it.',
    buckets: [...DELAY_BUCKETS_S],
    registers,
  });
  const holdLateness = new Histogram({
    name: 'zhuge_hold_lateness_seconds',
    help: 'How long after its release time each held uplink packet was released (timer and event-loop lateness; a release is never early).',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers,
  });
  const heldPackets = new Gauge({ name: 'zhuge_held_packets', help: 'Uplink packets currently held in NFQUEUE awaiting release.', registers });
  const gateReleases = new Counter({
    name: 'zhuge_drain_gate_releases_total',
    help: 'feedbackUpdater.mode drain: gated uplink packets released, by reason (queue = the Wi-Fi queue was back at target, max_hold = drain.maxHoldMs reached, overflow = the gates held 3/4 of nfqueue.maxLen).',
    labelNames: ['reason'] as const,
    registers,
  });
  zeroInit(gateReleases, [{ reason: 'queue' }, { reason: 'max_hold' }, { reason: 'overflow' }]);
  const windowClampAcks = new Counter({
    name: 'zhuge_window_clamp_acks_total',
    help: 'feedbackUpdater.mode window: TCP ACKs of treated flows by result (clamped = window lowered, unchanged = the receiver\'s window was already below the clamp, no_scale = handshake not seen, no_rtt = no timestamp echo yet).',
    labelNames: ['result'] as const,
    registers,
  });
  zeroInit(windowClampAcks, [{ result: 'clamped' }, { result: 'unchanged' }, { result: 'no_scale' }, { result: 'no_rtt' }]);
  const queueModelEvents = new Counter({
    name: 'zhuge_queue_model_events_total',
    help: 'How the tap-tracked Wi-Fi queue model kept up, by event: matched = a departure found its arrival; unmatched_departure = it did not; retired_as_drop = older entries passed over by a matched departure (dropped by the queue, or mismatched); resync = the kernel backlog corrected the model; overflow = the model\'s ring was full. A healthy model: matched close to the departures, few of the rest.',
    labelNames: ['event'] as const,
    registers,
  });
  zeroInit(queueModelEvents, QUEUE_MODEL_EVENTS.map(([, event]) => ({ event })));

  const malformedPackets = new Counter({
    name: 'zhuge_malformed_packets_total',
    help: 'Packets a codec could not parse, by reason code; they are passed through untouched.',
    labelNames: ['reason'] as const,
    registers,
  });
  zeroInit(malformedPackets, MALFORMED_REASONS.map((reason) => ({ reason })));

  const flowsActive = new Gauge({ name: 'zhuge_flows_active', help: 'Flows in the flow table.', registers });
  const uplinkForeignMac = new Counter({
    name: 'zhuge_uplink_foreign_mac_total',
    help: "Uplink packets claiming a client's address from another link-layer address than downlink frames to that client go to (a forgery by another station, or a client that just roamed): passed untouched, changing none of the client's transports or flows.",
    registers,
  });
  const flowsEvicted = new Counter({
    name: 'zhuge_flows_evicted_total',
    help: 'Flows removed from the flow table: idle timeout, or the table was full (capacity).',
    labelNames: ['cause'] as const,
    registers,
  });
  zeroInit(flowsEvicted, EVICT_CAUSES.map((cause) => ({ cause })));

  const flowsByMode = new Gauge({
    name: 'zhuge_flows_by_mode',
    help: 'Active flows by feedback treatment: ack-delay (TCP/QUIC), twcc, ccfb (RFC 8888), srtcp-delay (encrypted RTCP fallback), passthrough.',
    labelNames: ['mode'] as const,
    registers,
  });
  for (const mode of FLOW_MODES) flowsByMode.set({ mode }, 0);

  const nfqueueDrops = new Counter({
    name: 'zhuge_nfqueue_drops_total',
    help: 'Uplink packets lost around NFQUEUE: kernel_queue (queue full, nfqueue.failOpen false; with failOpen the kernel accepts them and counts nothing), user (dropped on purpose, e.g. client feedback), enobufs (netlink socket overrun).',
    labelNames: ['kind'] as const,
    registers,
  });
  zeroInit(nfqueueDrops, NFQUEUE_DROP_KINDS.map((kind) => ({ kind })));

  const nfqueueErrors = new Counter({
    name: 'zhuge_nfqueue_errors_total',
    help: "Errors on the NFQUEUE netlink socket: send (a sendmsg of verdicts failed; they are kept and sent with the next ones), recv (a read failed), truncated (a message cut), verdict_lost (verdicts dropped after 1 MiB of failed sends; the daemon then stops, failing open).",
    labelNames: ['kind'] as const,
    registers,
  });
  zeroInit(nfqueueErrors, NFQUEUE_ERROR_KINDS.map((kind) => ({ kind })));

  const captureDrops = new Counter({
    name: 'zhuge_capture_drops_total',
    help: 'Packets the capture taps missed: kernel (socket buffer full) or interface (driver), per tap.',
    labelNames: ['tap', 'kind'] as const,
    registers,
  });
  zeroInit(captureDrops, product(TAPS, 'tap', CAPTURE_DROP_KINDS, 'kind'));

  const captureOversize = new Counter({
    name: 'zhuge_capture_oversize_packets_total',
    help: "Captured frames longer than the interface's MTU allows (MTU + 18): merged super-packets of GRO/GSO/TSO/LRO on the Wi-Fi path, which break the queue model's byte counts; turn those offloads off (docs/operations.md).",
    labelNames: ['tap'] as const,
    registers,
  });
  zeroInit(captureOversize, TAPS.map((tap) => ({ tap })));

  const pathOffload = new Gauge({
    name: 'zhuge_path_offload_enabled',
    help: 'Offloads read at start with ethtool -k on the tapped interfaces and the bridge (1 on, 0 off; absent when ethtool could not tell): gro, gso, tso, lro. Any 1 means the taps see super-packets.',
    labelNames: ['interface', 'feature'] as const,
    registers,
  });

  const flowOffload = new Gauge({
    name: 'zhuge_flow_offload_enabled',
    help: 'Flow offloading found at start (1: an nftables flowtable on a tapped interface or an iptables FLOWOFFLOAD rule: established flows bypass FORWARD and zhuge; 0: none found; absent: could not tell).',
    registers,
  });

  const configReloads = new Counter({
    name: 'zhuge_config_reloads_total',
    help: 'Configuration reloads (SIGHUP): ok, or error (the previous configuration was kept).',
    labelNames: ['result'] as const,
    registers,
  });
  zeroInit(configReloads, RELOAD_RESULTS.map((result) => ({ result })));

  const feedbackPackets = new Counter({
    name: 'zhuge_feedback_packets_total',
    help: 'In-band RTP feedback: packets zhuge built (built; remb: rate caps and their lifts, flows.rtp.signal remb / both) and client feedback it dropped (dropped_client), by format.',
    labelNames: ['kind', 'action'] as const,
    registers,
  });
  zeroInit(feedbackPackets, product(FEEDBACK_KINDS, 'kind', FEEDBACK_ACTIONS, 'action'));

  const rtpReports = new Counter({
    name: 'zhuge_rtp_reports_total',
    help: "In-band feedback, reportTiming 'departure': packets reported at their observed departure, at a prediction within the earned lead, at now + the lead because the prediction was further (clamped), or as not received (lost).",
    labelNames: ['timing'] as const,
    registers,
  });
  zeroInit(rtpReports, REPORT_TIMINGS.map((timing) => ({ timing })));
  const rtpReportPredictions = new Counter({
    name: 'zhuge_rtp_report_predictions_total',
    help: 'Reported predictions checked against the packet\'s departure: good, or bad (off by more than the tolerance; the lead falls back to its minimum).',
    labelNames: ['result'] as const,
    registers,
  });
  zeroInit(rtpReportPredictions, PREDICTION_RESULTS.map((result) => ({ result })));
  const rtpReportErrorSeconds = new Counter({
    name: 'zhuge_rtp_report_prediction_error_seconds_total',
    help: 'Sum of |reported time - observed departure| over the checked predictions (divide by zhuge_rtp_report_predictions_total for the mean).',
    registers,
  });
  const rtpReportLateSeconds = new Counter({
    name: 'zhuge_rtp_report_late_seconds_total',
    help: 'Delay reported that never happened: sum over RTP packets reported received of how far the time reported lies after the packet left the Wi-Fi queue (a prediction that came late, or a departure raised to the previous report).',
    registers,
  });
  const rtpSojournPredictions = new Counter({
    name: 'zhuge_rtp_sojourn_predictions_total',
    help: "RTP packets whose Fortune Teller prediction at arrival was checked against the observed sojourn (reportTiming 'departure').",
    registers,
  });
  const rtpSojournErrorSeconds = new Counter({
    name: 'zhuge_rtp_sojourn_prediction_error_seconds_total',
    help: 'Sum of |predicted - observed sojourn in the Wi-Fi queue| over zhuge_rtp_sojourn_predictions_total.',
    registers,
  });
  const rtpReportAnomalies = new Counter({
    name: 'zhuge_rtp_report_anomalies_total',
    help: "Reported times that went backwards (reportTiming 'arrival'), that were raised to the previous one to keep them in order ('departure'), packets reported received that the queue dropped (a drop known only after the feedback was built), and RTP packets not recorded because their transport-wide number jumped further than a sender can (implausible_seq_jump: forged or corrupt).",
    labelNames: ['kind'] as const,
    registers,
  });
  zeroInit(rtpReportAnomalies, REPORT_ANOMALIES.map((kind) => ({ kind })));
  const rtpRepairs = new Counter({
    name: 'zhuge_rtp_repairs_total',
    help: "flows.rtp.repairDrops: RTP packets reported received that the Wi-Fi queue dropped, queued to be sent again from zhuge's copy (queued), whose copy was not kept or overwritten (no_copy), beyond the pending limit (overflow); packets not copied at all (not_copied: cut by the capture's snap length or too large); copies seen leaving the Wi-Fi queue (delivered), dropped by it again and sent once more (resent), or dropped after the last try (gave_up).",
    labelNames: ['result'] as const,
    registers,
  });
  zeroInit(rtpRepairs, REPAIR_RESULTS.map((result) => ({ result })));
  const rtpReportLargestStep = new Gauge({
    name: 'zhuge_rtp_report_largest_step_seconds',
    help: 'The largest step between two consecutive reported times of a transport since start.',
    registers,
  });

  const queueBacklog = new Gauge({ name: 'zhuge_queue_backlog_bytes', help: 'Bytes in the observed downlink queue(s), as tracked by zhuge.', registers });
  const watchdogTrips = new Counter({
    name: 'zhuge_watchdog_trips_total',
    help: 'Times the watchdog found the event loop stalled and removed the interception rules (fail open).',
    registers,
  });
  const nfqueueBypassed = new Counter({
    name: 'zhuge_nfqueue_bypassed_total',
    help: "Uplink packets zhuge's NFQUEUE rules matched that the kernel passed without queueing them (fail-open with the queue full; --queue-bypass with no socket bound): rule counters minus the queue's packet ids, every rule check.",
    registers,
  });
  const rulesInstalled = new Gauge({ name: 'zhuge_rules_installed', help: '1 while the iptables/NFQUEUE interception rules are installed, else 0.', registers });
  rulesInstalled.set(0);
  const rulesRestored = new Counter({
    name: 'zhuge_rules_restored_total',
    help: 'Times the interception rules were found removed by something else (a firewall reload) and installed again.',
    registers,
  });
  let healthSource: (() => readonly HealthProblem[]) | undefined;
  const healthProblem = new Gauge({
    name: 'zhuge_health_problem',
    help: '1 while this problem makes /healthz answer 503 (rules_missing, queue_invisible, queue_unread, interface_down, interface_gone, watchdog_failed), else 0.',
    labelNames: ['problem'] as const,
    registers,
    collect() {
      if (healthSource === undefined) return;
      const now = healthSource();
      for (const p of HEALTH_PROBLEMS) this.set({ problem: p }, now.includes(p) ? 1 : 0);
    },
  });
  for (const p of HEALTH_PROBLEMS) healthProblem.set({ problem: p }, 0);

  if (opts.processMetrics ?? true) {
    // the standard names (process_*, nodejs_*): what stock Node.js and process dashboards query;
    // the scrape job's labels say which process it is
    collectDefaultMetrics({ register: registry });
    // prom-client names three GAUGES `..._total` (promtool lints them: "non-counter metrics should
    // not have _total suffix"); each is only the sum of its per-type sibling, so drop them:
    // sum(nodejs_active_handles) gives the same number.
    for (const n of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`nodejs_${n}`);
  }

  return {
    registry,
    contentType: registry.contentType,
    buildInfo,
    packets,
    predictedDelay,
    addedDelay,
    holdLateness,
    heldPackets,
    gateReleases,
    windowClampAcks,
    queueModelEvents,
    malformedPackets,
    flowsActive,
    flowsEvicted,
    uplinkForeignMac,
    flowsByMode,
    nfqueueDrops,
    nfqueueErrors,
    captureDrops,
    captureOversize,
    pathOffload,
    flowOffload,
    configReloads,
    feedbackPackets,
    rtpReports,
    rtpReportPredictions,
    rtpReportErrorSeconds,
    rtpReportLateSeconds,
    rtpSojournPredictions,
    rtpSojournErrorSeconds,
    rtpReportAnomalies,
    rtpRepairs,
    rtpReportLargestStep,
    queueBacklog,
    watchdogTrips,
    nfqueueBypassed,
    rulesInstalled,
    rulesRestored,
    setHealthSource: (problems) => {
      healthSource = problems;
    },
    scrape: () => registry.metrics(),
  };
}

/** Label value types, for callers that want them checked. */
export type EvictCauseLabel = L<typeof EVICT_CAUSES>;
export type NfqueueDropKind = L<typeof NFQUEUE_DROP_KINDS>;
export type TapLabel = L<typeof TAPS>;
export type CaptureDropKind = L<typeof CAPTURE_DROP_KINDS>;
export type FeedbackKind = L<typeof FEEDBACK_KINDS>;
export type FeedbackAction = L<typeof FEEDBACK_ACTIONS>;
