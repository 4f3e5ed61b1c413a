/**
 * Fortune Teller: predicts the delay a downlink packet arriving now will see at the AP queue,
 * totalDelay = qLong + qShort + tx (Zhuge, SIGCOMM'22, §4; docs/design-notes.md §1):
 *  - qLong  = max(bytesInQueue - maxBurstBytes, 0) / dequeueRate; a queue holding less than
 *             `aggregationWaitMs` of data that is not shrinking counts as aggregatable with the
 *             head (it will leave in the head's burst), qLong = 0 (reference rule; see config);
 *  - qShort = how long the current head-of-line packet has already waited (now - the time it
 *             became head), 0 when the queue is empty: detects a stall at once, before the queue
 *             builds and before the rate window moves;
 *  - tx     = recent inter-departure time (busy slots included).
 * Config `mode` selects the reference's exact qShort/tx terms or the aggregate-aware ones
 * (default), which account for the departure tap seeing a packet when the link takes it.
 *
 * Pure and allocation-free per event and per predict: all state is preallocated.
 */
import { ServiceRate } from './service-rate.js';
import { QueueModel, type QueueModelCounters } from './queue-model.js';
import { RateEstimator } from './rate-estimator.js';

export type PredictorMode = 'reference' | 'aggregate-aware';
export type AggregationRule = 'off' | 'not-shrinking' | 'not-growing';

export interface FortuneTellerConfig {
  /** Rate-estimator slot (µs). Source: ns-3 reference (kTxBytesListInterval = 1 ms). */
  readonly slotUs: number;
  /**
   * Rate window (slots). Source: the ns-3 reference uses 5 feedback intervals (5 x the 40 ms
   * frame interval of its default scenario = 200 slots); 5 x a 20 ms feedback interval = 100.
   * Our measurement (test/fortune-teller/accuracy.test.ts): 100 slots cut the error p99 on
   * rate steps from ~20 ms to ~8-11 ms at equal p50 (50 slots: same p50/p90, noisier rate).
   */
  readonly windowSlots: number;
  /**
   * Dequeue-rate floor (bit/s). The ns-3 reference uses 500 << 10 (kMinTxRateBps); we use
   * 64 kbit/s: the reference's floor sits above real Wi-Fi rates in a deep fade (and above our
   * testbed's 0.3 Mbit/s drop, where it made every prediction 0.64x the measured delay). Slow
   * links are measured over a stretched window instead (minRateWindowPackets).
   */
  readonly minRateBps: number;
  /** Rate assumed before any measurement (bit/s). Reference: its floor, 500 kbit/s; ours too. */
  readonly initialRateBps: number;
  /**
   * A rate window holding fewer departures than this is stretched back until it holds them (at
   * most maxRateWindowSlots). Our choice: 8 packets keep the estimate's sampling error near
   * 1/8; at 0.3 Mbit/s that is ~250 ms of departures instead of 100 ms.
   */
  readonly minRateWindowPackets: number;
  /** Longest stretched rate window (slots). Our choice: 1 s. */
  readonly maxRateWindowSlots: number;
  /**
   * Departures within this long of a burst's first departure form one burst (µs).
   * Source: paper §4.1 ("maxBurstSize: bytes that left together within 1 ms").
   */
  readonly burstIntervalUs: number;
  /**
   * Departures closer than this to the previous one form one transmission group (one
   * aggregate handed to the link); tx = non-idle time / groups. Source: the ns-3 reference
   * divides non-idle slots by slots with departures (time per transmission opportunity, not
   * per packet); a gap threshold gives the same on aggregated links without the 1 ms floor on
   * serializing links. Our choice: 100 µs (a driver pulls an aggregate's packets back to back).
   */
  readonly txGroupGapUs: number;
  /**
   * A queue of at most this many ms of data (at the current rate) may be aggregated with the
   * head and count qLong = 0. Source: ns-3 reference (kAmpduMaxWaitMs = 5). 0 disables.
   */
  readonly aggregationWaitMs: number;
  /**
   * When the small-queue rule applies: 'not-shrinking' (ns-3 reference: queue size >= the one
   * seen at the previous prediction), 'not-growing' (the opposite reading), or 'off'.
   */
  readonly aggregationRule: AggregationRule;
  /**
   * 'reference': the paper / ns-3 reference terms: qShort = how long the head has waited,
   *   tx = non-idle time per transmission group (the reference's time per sending slot).
   * 'aggregate-aware' (default; our measurement, see below): the departure tap sees a packet
   *   when the link TAKES it, not when it is fully sent, and an aggregate's packets are all
   *   delivered at the end of its air time. So
   *     qShort = time left until the current transmission (latest group, its bytes at the
   *              estimated rate) is expected to end; once that time has passed with the queue
   *              still non-empty, how long it is overdue (grows 1:1 with a stall);
   *     tx     = air time of the aggregate the packet will leave in: min(queue, maxBurst) at
   *              the estimated rate (the part of the queue qLong leaves out).
   *   qLong is the paper's in both modes. Measured on the synthetic aggregated FIFO (3 seeds of
   *   a 30/10/5/20/8 Mbit/s step profile + 2 of office-wifi_0, access 100-500 µs): |error|
   *   p50 0.83-0.89 ms, p90 2.2-3.0 ms (with fillAggregate), vs 1.64-2.0 / 5.2-6.1 ms for
   *   'reference'.
   */
  readonly mode: PredictorMode;
  /**
   * aggregate-aware: an aggregate is delivered as a whole, so a packet also waits for the
   * packets that join its aggregate after it (until the link takes it). Adds
   * min(room left in its aggregate, arrival rate x expected wait) to tx, the room being
   * measured with the largest transmission group seen (0 on a serializing link).
   * Our measurement (same sims as `mode`): p90 3.0-4.2 -> 2.2-3.0 ms, mean bias -1.1 -> +0.3 ms.
   */
  readonly fillAggregate: boolean;
  /** Queue model: ring capacity (packets). Our choice: 65536 (bfifo of 375 KB is < 300 MTUs). */
  readonly queueCapacity: number;
  /** Queue model: max entries scanned to match a departure. Our choice. */
  readonly maxMatchScan: number;
  /** Queue model: remembered unmatched departure keys. Our choice. */
  readonly recentDepartureSlots: number;
  /** Queue model: an unmatched departure key is forgotten after this long (µs). Our choice. */
  readonly recentDepartureTtlUs: number;
  /**
   * Queue model: drift tolerated before a kernel backlog sample corrects it (bytes).
   * Source: our measurement (docs/design-notes.md §2: tap-vs-kernel error p95 = one packet) -> 2 MTUs.
   */
  readonly resyncToleranceBytes: number;
  /**
   * How the queue serves its flows. 'fifo' (default; the paper's model): a packet waits for every
   * byte ahead of it. 'fq' (per-flow fair queues: fq_codel, cake, mac80211's TXQs): a packet waits
   * for its own flow's bytes, served at the flow's round-robin share of the rate (the rate over
   * the flows with packets queued, itself included): qLong = (flowBytes - burst/n) x n / rate.
   * qShort and tx stay the link's. Source: our choice (docs/results/mixed.md, "Per-flow queues").
   */
  readonly discipline: 'fifo' | 'fq';
  /** Queue model: flow hash buckets for 'fq' (fq_codel's default: 1024). */
  readonly flowBuckets: number;
}

export const defaultFortuneTellerConfig: FortuneTellerConfig = Object.freeze({
  slotUs: 1000,
  windowSlots: 100,
  minRateBps: 64_000,
  initialRateBps: 500_000,
  minRateWindowPackets: 8,
  maxRateWindowSlots: 1000,
  burstIntervalUs: 1000,
  txGroupGapUs: 100,
  aggregationWaitMs: 5,
  aggregationRule: 'not-shrinking',
  mode: 'aggregate-aware',
  fillAggregate: true,
  queueCapacity: 65536,
  maxMatchScan: 4096,
  recentDepartureSlots: 64,
  recentDepartureTtlUs: 200_000,
  resyncToleranceBytes: 3000,
  discipline: 'fifo',
  flowBuckets: 1024,
} satisfies FortuneTellerConfig);

/** Returns the problems found (empty when the config is valid). */
export function validateFortuneTellerConfig(c: FortuneTellerConfig): string[] {
  const problems: string[] = [];
  const posInt = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      problems.push(`${name} must be an integer in [1, ${max}], got ${v}`);
    }
  };
  const nonNeg = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v < 0) problems.push(`${name} must be a finite number >= 0, got ${v}`);
  };
  posInt('slotUs', c.slotUs, 1_000_000);
  posInt('windowSlots', c.windowSlots, 100_000);
  if (!Number.isFinite(c.minRateBps) || c.minRateBps <= 0) {
    problems.push(`minRateBps must be > 0, got ${c.minRateBps}`);
  }
  if (!Number.isFinite(c.initialRateBps) || c.initialRateBps <= 0) {
    problems.push(`initialRateBps must be > 0, got ${c.initialRateBps}`);
  }
  posInt('burstIntervalUs', c.burstIntervalUs, 1_000_000);
  nonNeg('txGroupGapUs', c.txGroupGapUs);
  nonNeg('aggregationWaitMs', c.aggregationWaitMs);
  if (c.mode !== 'reference' && c.mode !== 'aggregate-aware') {
    problems.push(`mode must be 'reference' or 'aggregate-aware', got ${String(c.mode)}`);
  }
  if (c.aggregationRule !== 'off' && c.aggregationRule !== 'not-shrinking' && c.aggregationRule !== 'not-growing') {
    problems.push(`aggregationRule must be 'off', 'not-shrinking' or 'not-growing', got ${String(c.aggregationRule)}`);
  }
  posInt('queueCapacity', c.queueCapacity, 1 << 24);
  posInt('maxMatchScan', c.maxMatchScan, 1 << 24);
  posInt('recentDepartureSlots', c.recentDepartureSlots, 65536);
  nonNeg('recentDepartureTtlUs', c.recentDepartureTtlUs);
  nonNeg('resyncToleranceBytes', c.resyncToleranceBytes);
  if (c.discipline !== 'fifo' && c.discipline !== 'fq') problems.push(`discipline must be 'fifo' or 'fq', got ${String(c.discipline)}`);
  posInt('flowBuckets', c.flowBuckets, 65536);
  return problems;
}

export interface Prediction {
  qLongMs: number;
  qShortMs: number;
  txMs: number;
  totalMs: number;
  /** Inputs, for metrics and logs. */
  bytesInQueue: number;
  rateBps: number;
  maxBurstBytes: number;
}

export function newPrediction(): Prediction {
  return { qLongMs: 0, qShortMs: 0, txMs: 0, totalMs: 0, bytesInQueue: 0, rateBps: 0, maxBurstBytes: 0 };
}

/** A stated link rate (setLinkRate) older than this is not used (µs): its reader stopped. */
export const LINK_RATE_TTL_US = 1_000_000;

export class FortuneTeller {
  readonly config: FortuneTellerConfig;
  readonly queue: QueueModel;
  readonly rate: RateEstimator;
  /** the busy service rate of the last departures (re-predicting queued packets) */
  readonly service = new ServiceRate();
  private readonly out: Prediction = newPrediction();
  private lastQBytes = 0;
  /** the link's rate as the queue's own shaper states it (setLinkRate); 0: not known */
  private linkRateBps = 0;
  private linkRateAtUs = Number.NEGATIVE_INFINITY;

  constructor(config: FortuneTellerConfig = defaultFortuneTellerConfig) {
    const problems = validateFortuneTellerConfig(config);
    if (problems.length > 0) throw new RangeError(`invalid FortuneTellerConfig: ${problems.join('; ')}`);
    this.config = config;
    this.queue = new QueueModel({
      capacity: config.queueCapacity,
      maxMatchScan: config.maxMatchScan,
      recentDepartureSlots: config.recentDepartureSlots,
      recentDepartureTtlUs: config.recentDepartureTtlUs,
      resyncToleranceBytes: config.resyncToleranceBytes,
      discipline: config.discipline,
      flowBuckets: config.flowBuckets,
    });
    this.rate = new RateEstimator({
      slotUs: config.slotUs,
      windowSlots: config.windowSlots,
      minRateBps: config.minRateBps,
      initialRateBps: config.initialRateBps,
      minWindowPackets: config.minRateWindowPackets,
      maxWindowSlots: config.maxRateWindowSlots,
      burstIntervalUs: config.burstIntervalUs,
      txGroupGapUs: config.txGroupGapUs,
    });
  }

  get counters(): Readonly<QueueModelCounters> {
    return this.queue.counters;
  }

  /** `flow`: the packet's flow hash (used by discipline 'fq' only). */
  onArrival(tUs: number, bytes: number, key: number, flow = 0): void {
    this.rate.onArrival(tUs, bytes);
    this.queue.onArrival(tUs, bytes, key, flow);
    this.rate.setBacklogged(tUs, this.queue.packetsInQueue > 0);
  }

  /** Returns the matched arrival time (µs) or -1. */
  onDeparture(tUs: number, bytes: number, key: number): number {
    this.rate.onDeparture(tUs, bytes);
    const a = this.queue.onDeparture(tUs, bytes, key);
    this.service.onDeparture(tUs, bytes, a);
    this.rate.setBacklogged(tUs, this.queue.packetsInQueue > 0);
    return a;
  }

  onBacklogSample(tUs: number, bytes: number, packets: number): void {
    this.rate.advance(tUs);
    this.queue.onBacklogSample(tUs, bytes, packets);
    this.rate.setBacklogged(tUs, this.queue.packetsInQueue > 0);
  }

  onDrop(tUs: number, bytes: number, key?: number): void {
    this.rate.advance(tUs);
    this.queue.onDrop(tUs, bytes, key);
    this.rate.setBacklogged(tUs, this.queue.packetsInQueue > 0);
  }

  /**
   * The rate the queue is served at, as stated by what serves it (queue.rateFrom 'shaper': the
   * htb shaper's configured rate, read at tUs). While fresh (read within LINK_RATE_TTL_US), it
   * replaces the measured service rate when queued packets are re-predicted (departureUs): the
   * shaper is the bottleneck, so its rate is the link's, known at once at a step instead of two
   * departures later. 0 or a non-finite rate forgets it.
   */
  setLinkRate(tUs: number, rateBps: number): void {
    this.linkRateBps = Number.isFinite(rateBps) && rateBps > 0 ? rateBps : 0;
    this.linkRateAtUs = tUs;
  }

  /** The stated link rate (bit/s) seen from tUs, 0 when none or stale. */
  statedRateBps(tUs: number): number {
    return this.linkRateBps > 0 && tUs - this.linkRateAtUs <= LINK_RATE_TTL_US ? this.linkRateBps : 0;
  }

  /** fq: the flows a round-robin scheduler serves, `flow` included when `joining` (a packet of it is added). */
  private busyWith(flow: number, joining: boolean): number {
    return Math.max(1, this.queue.busyFlows + (joining && this.queue.flowPackets(flow) === 0 ? 1 : 0));
  }

  /**
   * When the packet at queue position `position` (QueueModel.position of its flow, taken right
   * after its arrival) is predicted to leave, seen from tUs: the bytes still ahead of it, itself
   * included, at the link's stated rate while one is fresh (setLinkRate), else at the queue's
   * busy service rate of its last departures (service-rate.ts: its
   * window restarts at a rate step), the windowed dequeue-rate estimate only while no recent
   * departure says anything (the flow's round-robin share under fq). tUs when nothing is ahead
   * any more (its departure is due); NaN before a rate is known, and with `measuredOnly` whenever
   * no service rate is measured: during a stall the windowed estimate falls with every ms the
   * link serves nothing, and predictions made from it reach far past the stall's end (at the end
   * of a 0.7 s outage, 1.2 s ahead: docs/results/rtc-evidence.md, fourth round). No state is touched.
   *
   * Not the faster of the two (an earlier rule): after a drop the windowed estimate stays at the
   * old rate for up to its window, and predictions made at it come early and packed together;
   * the departures that follow then open a gap in the reported times that GCC reads as a rate
   * far below the link's (docs/results/rtc-evidence.md).
   */
  departureUs(tUs: number, position: number, flow = 0, measuredOnly = false): number {
    const ahead = position - this.queue.bytesRemoved(flow);
    if (!(ahead > 0)) return tUs;
    const stated = this.statedRateBps(tUs);
    const serviceBps = stated > 0 ? stated : this.service.rateBps(tUs);
    if (measuredOnly && !(serviceBps > 0)) return Number.NaN;
    let rateBps = serviceBps > 0 ? serviceBps : this.rate.rateBps;
    if (this.config.discipline === 'fq') rateBps /= this.busyWith(flow, false);
    return rateBps > 0 ? tUs + (ahead * 8e6) / rateBps : Number.NaN;
  }

  /**
   * The queueing delay a packet arriving at tUs would see (bytes queued over the dequeue rate,
   * plus how long the head packet has waited), without touching any state: for callers that
   * look at the queue between arrivals (the drain-hold ACK rule). No burst or aggregation
   * allowance: this is the whole backlog.
   */
  queueDelayMs(tUs: number, flow = 0): number {
    const rateBps = this.rate.rateBps;
    let bytes = this.queue.bytesInQueue;
    let n = 1;
    if (this.config.discipline === 'fq') {
      bytes = this.queue.flowBytes(flow);
      n = this.busyWith(flow, true);
    }
    const longMs = rateBps > 0 ? (bytes * n * 8000) / rateBps : 0;
    const since = this.queue.headSinceUs;
    const shortMs = since >= 0 && tUs > since ? (tUs - since) / 1000 : 0;
    return longMs + shortMs;
  }

  /**
   * Predicted delay for a packet arriving at tUs. `bytes`: bytes queued with it that were not
   * reported through onArrival yet (pass the packet's own size when predicting before
   * onArrival; 0 after it). Returns `out` when given, else an internal object that the NEXT
   * call overwrites (copy the fields you keep).
   */
  predict(tUs: number, bytes = 0, out?: Prediction, flow = 0): Prediction {
    const p = out ?? this.out;
    this.rate.advance(tUs);
    const c = this.config;
    let q = this.queue.bytesInQueue + bytes;
    const linkBps = this.rate.rateBps;
    let rateBps = linkBps;
    let burst = this.rate.maxBurstBytes;
    if (c.discipline === 'fq') {
      // the flow's own bytes, at its round-robin share of the rate (n flows busy, itself included)
      const n = this.busyWith(flow, bytes > 0);
      q = this.queue.flowBytes(flow) + bytes;
      rateBps = linkBps / n;
      burst /= n;
    }
    let qLongMs: number;
    // the small-queue rule compares with the previous prediction's queue: one queue in a FIFO, a
    // different flow's in fq, where it is off
    const small = c.aggregationRule !== 'off' && c.discipline === 'fifo' && q * 8000 <= c.aggregationWaitMs * rateBps;
    if (
      small &&
      (c.aggregationRule === 'not-shrinking' ? q >= this.lastQBytes : q <= this.lastQBytes)
    ) {
      qLongMs = 0;
    } else {
      const qs = q > burst ? q - burst : 0;
      qLongMs = (qs * 8000) / rateBps;
    }
    this.lastQBytes = q;
    const since = this.queue.headSinceUs;
    let qShortMs: number;
    if (c.mode === 'reference') {
      qShortMs = since >= 0 && tUs > since ? (tUs - since) / 1000 : 0;
    } else {
      const endUs = this.rate.lastGroupStartUs + (this.rate.lastGroupBytes * 8e6) / linkBps;
      if (endUs > tUs) qShortMs = (endUs - tUs) / 1000;
      else if (since >= 0) qShortMs = (tUs - (endUs > since ? endUs : since)) / 1000;
      else qShortMs = 0;
    }
    let txMs: number;
    if (c.mode === 'reference') {
      txMs = this.rate.txUs / 1000;
    } else {
      // the aggregate the packet leaves in: its share of the queue, plus what arrives before
      // that aggregate is taken, up to the largest aggregate seen (room left in the last one)
      let own = q < burst ? q : burst;
      const agg = this.rate.maxGroupBytes;
      if (c.fillAggregate && agg > 0 && q > 0) {
        const room = Math.ceil(q / agg) * agg - q;
        const waitMs = qShortMs + qLongMs;
        const fill = (this.rate.arrivalRateBps * waitMs) / 8000;
        own += fill < room ? fill : room;
      }
      txMs = (own * 8000) / linkBps;
    }
    p.qLongMs = qLongMs;
    p.qShortMs = qShortMs;
    p.txMs = txMs;
    p.totalMs = qLongMs + qShortMs + txMs;
    p.bytesInQueue = q;
    p.rateBps = rateBps;
    p.maxBurstBytes = burst;
    return p;
  }
}
