/**
 * When to report each packet of an RTP transport, and at what time: feedback a FIFO receiver
 * standing at the AP could have sent, with a lead over the observed departures that is bounded
 * and earned. Pure (time passed in), one instance per transport, no allocation per packet.
 *
 * Why (docs/results/rtc-evidence.md): reporting every packet at `arrival + predicted delay`, fixed
 * when it arrives, made the reported times run backwards when the rate estimate moved between two
 * packets, reported packets hundreds of ms early at a rate step (the estimate lags) and late after
 * it, so GCC's acknowledged bitrate — bytes over reported time — read the estimator's lag (0.13
 * Mbit/s reported while the link served 0.3) and GCC settled below the capacity.
 *
 * Rules, applied at every feedback build (drain) to the transport's new packets in sequence order
 * (every packet is reported at the first build after its arrival, as before):
 *  1. a packet that left the Wi-Fi queue is reported at its observed departure;
 *  2. a packet the queue dropped is reported not received (only a matched drop, never a guess);
 *     the queue is FIFO for a transport, so when a packet leaves, every older packet of the
 *     transport still queued was dropped: known for certain at that departure. One already
 *     reported received by then is handed to the caller (departed's `droppedAfterReport`): the
 *     sender will not retransmit a packet it was told arrived, so the caller repairs it;
 *  3. a packet still queued is re-predicted now, from the bytes still ahead of it (the caller's
 *     `predictNowUs`), and reported at that time, or at now + `lead` when the prediction is
 *     further ahead: early rather than late;
 *  4. reported times never run backwards (a time below the previous report is raised to it);
 *  5. the lead is earned: it is the time since the last bad prediction, between minLeadUs and
 *     maxLeadUs, and no longer than the caller's horizon (how long a measured rate has lasted on
 *     this link: on a link whose rate changes every 200 ms, a prediction 600 ms ahead is a guess,
 *     however long ago the last one went wrong). A prediction is bad when the packet leaves more than the tolerance
 *     (errorToleranceUs + errorToleranceFraction x the lead it was reported with) BEFORE the time
 *     reported: zhuge reported delay that never happened. A packet still queued after the time
 *     reported is not a bad prediction: it was reported early, and the packets behind it carry
 *     the delay to the sender (at a rate drop the predictions lag the step in that direction, and
 *     the early signal is what zhuge is for). So after a stretch without late reports the whole
 *     coming queue is reported at once; after an outage or a rate recovery, where predictions made
 *     at the old rate come late, the lead falls to the minimum and grows back one ms per ms.
 *     With leadEarnedBy 'persisted' the lead is also at most the time the current rate has lasted.
 *     With leadEarnedBy 'verified' the lead is also at most twice the largest lead a prediction
 *     came true with since the last bad one: calm time with the queue empty tests nothing (at an
 *     outage's end a 1 s lead earned that way put 0.8 s of delay that never happened into the
 *     reports: docs/results/rtc-evidence.md, fourth round).
 *  6. (spacing 'link') packets bunched by rules 3 and 4 keep the spacing of their own times: a
 *     burst acknowledged at one instant reads to the sender's throughput estimate (bytes over
 *     reported time, in 150 ms windows) as a rate far above the link's and the next window as one
 *     far below it (measured: zhuge's reported rate swung 0.12-1.2 Mbit/s while the link served a
 *     steady 0.5, and GCC settled at 0.62 of the capacity; docs/results/rtc-evidence.md, fifth
 *     round).
 *  7. (sojournCap 'sojourn') a queued packet's reported sojourn is at most twice the larger of
 *     the last observed sojourn and its own wait so far.
 * The error of every prediction checked against its departure is kept (counters, status), with
 * the error of the Fortune Teller's own prediction at arrival (predicted vs observed sojourn).
 */

export interface ReportTimingConfig {
  /** packets tracked per transport (a power of two); the oldest is reported early when full */
  readonly capacity: number;
  /** the lead right after a bad prediction (µs); the feedback interval is a natural choice */
  readonly minLeadUs: number;
  readonly maxLeadUs: number;
  readonly errorToleranceUs: number;
  readonly errorToleranceFraction: number;
  /**
   * A queued packet predicted to leave further ahead than the lead: 'clamp' (the default)
   * reports it now, at now + lead; 'defer' waits for a later build, when its prediction is within
   * the lead (reported times keep the spacing of the predicted departures). Measured side by side
   * in docs/results/rtc-evidence.md (third round): no difference shown over three pairs.
   */
  readonly beyondLead: 'defer' | 'clamp';
  /**
   * What earns the lead (rule 5). 'calm' (the default): the time since the last bad prediction.
   * 'verified': that, and at most twice the largest lead a prediction was reported with and came
   * true (the packet did not leave before the time reported) since the last bad one: a quiet
   * stretch with the queue empty tests no prediction, so it earns no long lead.
   * 'persisted': that, and no longer than the current rate has lasted (the caller's rate age):
   * a rate seen for 100 ms is trusted to last about 100 ms more, so a short dip's predictions
   * reach at most about as far past it as it lasted, while after a lasting drop the lead grows
   * with the drop's age and the reports still rise at least 1 ms per ms.
   */
  readonly leadEarnedBy: 'calm' | 'verified' | 'persisted';
  /**
   * A queued packet whose departure the caller cannot predict now (predictNowUs NaN: no measured
   * service rate). 'atArrival' (the default): reported at its prediction at arrival; 'wait': it and
   * the packets behind it wait for a later build (its departure, or a prediction), for at most
   * maxWaitUs after its arrival, then are reported at their prediction at arrival: the sender is
   * never left without feedback for longer, even if no departure is ever seen (a dead capture).
   */
  readonly unpredicted: 'atArrival' | 'wait';
  readonly maxWaitUs: number;
  /**
   * How reports bunched by rules 3 and 4 are timed (rule 6). 'stack': a clamped packet at now +
   * lead, a raised one at the previous report: a burst shares one time. 'link': they keep the
   * spacing of their own times (the observed departures, or the predictions, which are the bytes
   * between packets over the link's rate): a clamped packet no earlier than the previous report
   * plus that gap (and never later than its own prediction), a raised one the previous report
   * plus half the gap, so that reported times catch up with the observed ones at twice the link's
   * rate instead of at once.
   */
  readonly spacing: 'stack' | 'link';
  /**
   * A bound on a queued packet's reported sojourn from what the departures show (rule 7). 'none':
   * only the lead bounds it. 'sojourn': at most SOJOURN_CAP_FACTOR times the larger of the last
   * observed sojourn and the time the packet has waited so far: a queue that grows shows it in
   * the departures' sojourns within a few of them, while a prediction made at a rate measured
   * during a short dip jumps far above them (docs/results/rtc-evidence.md, fifth round).
   */
  readonly sojournCap: 'none' | 'sojourn';
}

/** Rule 7 ('sojourn'): a reported sojourn is at most this many times the observed one. */
export const SOJOURN_CAP_FACTOR = 2;

export const REPORT_TIMING_DEFAULTS: ReportTimingConfig = Object.freeze({
  capacity: 2048,
  minLeadUs: 50_000,
  maxLeadUs: 1_000_000,
  errorToleranceUs: 5_000,
  errorToleranceFraction: 0.25,
  beyondLead: 'clamp',
  leadEarnedBy: 'calm',
  unpredicted: 'atArrival',
  maxWaitUs: 1_000_000,
  spacing: 'stack',
  sojournCap: 'none',
});

export interface ReportTimingCounters {
  /** packets reported at their observed departure / at a prediction / as not received */
  reportedObserved: number;
  reportedPredicted: number;
  reportedLost: number;
  /** reports raised to the previous one (rule 4) */
  raisedToPrevious: number;
  /** reported at now + the lead because the prediction was further ahead (rule 3, beyondLead 'clamp') */
  reportedClamped: number;
  /** predictions lowered to the sojourn the departures show (rule 7, sojournCap 'sojourn') */
  reportedCapped: number;
  /** builds that stopped at a packet predicted beyond the lead (rule 3, beyondLead 'defer') */
  deferred: number;
  /** builds that stopped at a packet whose departure could not be predicted (unpredicted 'wait') */
  waitedUnpredicted: number;
  /** reported early because the table was full */
  overflow: number;
  /** predictions checked against their departure, and the bad ones (rule 5) */
  predictionsChecked: number;
  predictionsBad: number;
  /** sum of |reported - observed departure| over the checked predictions (µs) */
  predictionAbsErrorSumUs: number;
  /**
   * delay reported that never happened (µs): over every packet reported received, how far the
   * time reported lies after its observed departure (a prediction that came late, or a departure
   * raised to the previous report by rule 4)
   */
  lateSumUs: number;
  /** the Fortune Teller's prediction at arrival vs the observed sojourn */
  arrivalPredictionsChecked: number;
  arrivalPredictionAbsErrorSumUs: number;
  /** the largest step between two consecutive reported times (µs) */
  largestForwardStepUs: number;
  /** drops found by departure order (rule 2): before their report (reported lost) / after it */
  droppedBeforeReport: number;
  droppedAfterReport: number;
}

const QUEUED = 0;
const DEPARTED = 1;
const LOST = 2;

/** what the caller records: a time (µs), or null for "not received" */
export type ReportSink = (slot: number, reportedUs: number | null) => void;

export function newReportTimingCounters(): ReportTimingCounters {
  return {
    reportedObserved: 0,
    reportedPredicted: 0,
    reportedLost: 0,
    raisedToPrevious: 0,
    reportedClamped: 0,
    reportedCapped: 0,
    deferred: 0,
    waitedUnpredicted: 0,
    overflow: 0,
    predictionsChecked: 0,
    predictionsBad: 0,
    predictionAbsErrorSumUs: 0,
    lateSumUs: 0,
    arrivalPredictionsChecked: 0,
    arrivalPredictionAbsErrorSumUs: 0,
    largestForwardStepUs: 0,
    droppedBeforeReport: 0,
    droppedAfterReport: 0,
  };
}

export class ReportTiming {
  readonly config: ReportTimingConfig;
  /** this transport's counters, or ones shared by several (the constructor's `counters`) */
  readonly counters: ReportTimingCounters;
  private readonly mask: number;
  private readonly gen: Uint32Array;
  private readonly state: Uint8Array;
  private readonly arrivalUs: Float64Array;
  private readonly predictedSojournUs: Float64Array;
  /** the caller's queue position of the packet (bytes), handed back to predictNowUs */
  private readonly position: Float64Array;
  private readonly departedUs: Float64Array;
  /** the time reported with a prediction (-1: not reported, or reported otherwise) */
  private readonly reportedAtUs: Float64Array;
  private readonly leadUsedUs: Float64Array;
  /** oldest tracked, next to report, next free (monotonic counters; slot = counter & mask) */
  private head = 0;
  private cursor = 0;
  private tail = 0;
  private lastReportedUs = -Infinity;
  /** the previous reported packet's own time (its departure or prediction, before rules 3-6) */
  private lastOwnUs = -Infinity;
  /** the sojourn of the last packet seen leaving (rule 7) */
  private lastSojournUs = 0;
  private lastBadUs: number;
  /** the largest lead a prediction came true with since the last bad one (µs; leadEarnedBy 'verified') */
  private verifiedLeadUs = 0;
  /** the lead the last drain used (µs; status and traces) */
  lastLeadUs = 0;

  constructor(config: Partial<ReportTimingConfig> = {}, startUs = 0, counters: ReportTimingCounters = newReportTimingCounters()) {
    this.counters = counters;
    const c = { ...REPORT_TIMING_DEFAULTS, ...config };
    let cap = 1;
    while (cap < c.capacity) cap *= 2;
    this.config = Object.freeze({ ...c, capacity: cap });
    this.mask = cap - 1;
    this.gen = new Uint32Array(cap);
    this.state = new Uint8Array(cap);
    this.arrivalUs = new Float64Array(cap);
    this.predictedSojournUs = new Float64Array(cap);
    this.position = new Float64Array(cap);
    this.departedUs = new Float64Array(cap);
    this.reportedAtUs = new Float64Array(cap);
    this.leadUsedUs = new Float64Array(cap);
    this.lastBadUs = startUs;
  }

  /** The lead allowed at tUs (rule 5). */
  leadUs(tUs: number): number {
    let earned = tUs - this.lastBadUs;
    const c = this.config;
    if (c.leadEarnedBy === 'verified' && earned > 2 * this.verifiedLeadUs) earned = 2 * this.verifiedLeadUs;
    return earned < c.minLeadUs ? c.minLeadUs : earned > c.maxLeadUs ? c.maxLeadUs : earned;
  }

  /** Packets tracked and not yet reported. */
  get pending(): number {
    return this.tail - this.cursor;
  }

  /**
   * A packet entered the queue at arrivalUs; `predictedSojournUs` is the Fortune Teller's
   * prediction at arrival, `position` the caller's handle for re-predicting it. Returns a handle
   * (slot | generation) for departed() / lost(); the caller keeps its own data by `handle & mask`.
   */
  push(arrivalUs: number, predictedSojournUs: number, position: number, sink: ReportSink): number {
    if (this.tail - this.head > this.mask) this.evictOldest(arrivalUs, sink);
    const i = this.tail & this.mask;
    this.tail++;
    this.gen[i] = ((this.gen[i] ?? 0) + 1) & 0x7fff;
    this.state[i] = QUEUED;
    this.arrivalUs[i] = arrivalUs;
    this.predictedSojournUs[i] = predictedSojournUs;
    this.position[i] = position;
    this.departedUs[i] = -1;
    this.reportedAtUs[i] = -1;
    this.leadUsedUs[i] = 0;
    return ((this.gen[i] ?? 0) << 16) | i;
  }

  /** The slot a handle names (what the sink is called with), -1 when it was recycled. */
  slotOf(handle: number): number {
    const i = handle & 0xffff & this.mask;
    return (this.gen[i] ?? 0) === handle >>> 16 && this.isTracked(i) ? i : -1;
  }

  /** When the packet a handle names entered the queue (NaN once its slot was recycled). */
  arrivalUsOf(handle: number): number {
    const i = this.slotOf(handle);
    return i < 0 ? Number.NaN : (this.arrivalUs[i] ?? Number.NaN);
  }

  private isTracked(i: number): boolean {
    // the slot lies between head and tail
    return ((i - this.head) & this.mask) < this.tail - this.head;
  }

  /**
   * The packet left the queue at tUs. Checks the prediction it was reported with, if any. Every
   * older packet still queued was dropped (FIFO): reported lost if not reported yet, else handed
   * to `droppedAfterReport` (its slot) — it was reported received.
   */
  departed(handle: number, tUs: number, droppedAfterReport?: (slot: number) => void): void {
    const i = this.slotOf(handle);
    if (i < 0) return;
    const ordinal = this.head + ((i - this.head) & this.mask);
    for (let c = this.head; c < ordinal; c++) {
      const j = c & this.mask;
      if (this.state[j] !== QUEUED) continue;
      this.state[j] = LOST;
      if (c >= this.cursor) this.counters.droppedBeforeReport++;
      else {
        this.counters.droppedAfterReport++;
        this.reportedAtUs[j] = -1;
        droppedAfterReport?.(j);
      }
    }
    if (this.state[i] === DEPARTED || (this.state[i] === LOST && ordinal < this.cursor)) {
      this.trimHead();
      return;
    }
    // queued, or marked lost but not reported yet (a wrong mark): it left
    this.state[i] = DEPARTED;
    this.departedUs[i] = tUs;
    const c = this.counters;
    const arr = this.arrivalUs[i] ?? tUs;
    this.lastSojournUs = tUs - arr;
    c.arrivalPredictionsChecked++;
    c.arrivalPredictionAbsErrorSumUs += Math.abs(tUs - arr - (this.predictedSojournUs[i] ?? 0));
    const rep = this.reportedAtUs[i] ?? -1;
    if (rep >= 0) this.check(i, tUs - rep, tUs);
    this.trimHead();
  }

  /**
   * The queue dropped the packet (the caller's match). Not applied once the packet was reported:
   * a later departure (rule 2) tells for certain whether it left.
   */
  lost(handle: number): void {
    const i = this.slotOf(handle);
    if (i < 0 || this.state[i] !== QUEUED) return;
    if (this.head + ((i - this.head) & this.mask) < this.cursor) return;
    this.state[i] = LOST;
    this.trimHead();
  }

  private check(i: number, errUs: number, tUs: number): void {
    const c = this.counters;
    c.predictionsChecked++;
    const abs = errUs < 0 ? -errUs : errUs;
    c.predictionAbsErrorSumUs += abs;
    if (errUs < 0) c.lateSumUs -= errUs;
    this.reportedAtUs[i] = -1;
    // late is bad: the packet left before the time reported (delay reported that never happened)
    if (-errUs > this.config.errorToleranceUs + this.config.errorToleranceFraction * (this.leadUsedUs[i] ?? 0)) {
      c.predictionsBad++;
      this.lastBadUs = tUs;
      this.verifiedLeadUs = 0;
    } else {
      const used = this.leadUsedUs[i] ?? 0;
      if (used > this.verifiedLeadUs) this.verifiedLeadUs = used;
    }
  }

  /**
   * Reports what may be reported at tUs, in order, through `sink`; `predictNowUs(position)` is
   * the packet's departure time predicted now (NaN when unknown: its prediction at arrival is
   * used). `horizonUs`: how long a rate lasts on this link (the queue's own measure): the lead
   * is no longer than that, nor shorter than minLeadUs (rule 5); with leadEarnedBy 'persisted'
   * nor longer than `rateAgeUs`, how long the current rate has lasted. Returns how many packets
   * were reported.
   */
  drain(tUs: number, predictNowUs: (position: number) => number, sink: ReportSink, horizonUs = Number.POSITIVE_INFINITY, rateAgeUs = Number.POSITIVE_INFINITY): number {
    const earned = this.leadUs(tUs);
    if (this.config.leadEarnedBy === 'persisted' && rateAgeUs < horizonUs) horizonUs = rateAgeUs;
    const lead = horizonUs < earned ? (horizonUs > this.config.minLeadUs ? horizonUs : this.config.minLeadUs) : earned;
    this.lastLeadUs = lead;
    let n = 0;
    while (this.cursor < this.tail) {
      const i = this.cursor & this.mask;
      const s = this.state[i];
      if (s === LOST) {
        this.counters.reportedLost++;
        sink(i, null);
      } else if (s === DEPARTED) {
        this.counters.reportedObserved++;
        const dep = this.departedUs[i] ?? tUs;
        const r = this.emit(i, dep, sink, dep);
        if (r > dep) this.counters.lateSumUs += r - dep;
      } else {
        const arr = this.arrivalUs[i] ?? tUs;
        let p = predictNowUs(this.position[i] ?? 0);
        if (!Number.isFinite(p)) {
          if (this.config.unpredicted === 'wait' && tUs - arr < this.config.maxWaitUs) {
            this.counters.waitedUnpredicted++;
            break;
          }
          p = arr + (this.predictedSojournUs[i] ?? 0);
        }
        if (this.config.sojournCap === 'sojourn') {
          const waited = tUs - arr;
          const capUs = arr + SOJOURN_CAP_FACTOR * (this.lastSojournUs > waited ? this.lastSojournUs : waited);
          if (p > capUs) {
            p = capUs;
            this.counters.reportedCapped++;
          }
        }
        if (p < tUs) p = tUs; // still queued: it cannot have arrived before now
        const own = p;
        if (p - tUs > lead) {
          if (this.config.beyondLead === 'defer') {
            // further than the lead: this one and those behind it wait for a later build
            this.counters.deferred++;
            break;
          }
          // 'clamp': reported early, at now + lead (the packets behind it, reported later,
          // carry the rest of the delay), never late; with spacing 'link' no earlier than the
          // previous report plus its predicted gap, and never later than its prediction
          p = tUs + lead;
          if (this.config.spacing === 'link') {
            const floor = this.lastReportedUs + this.gapUs(own);
            if (floor > p) p = floor < own ? floor : own;
          }
          this.counters.reportedClamped++;
        } else this.counters.reportedPredicted++;
        const r = this.emit(i, p, sink, own);
        this.reportedAtUs[i] = r;
        this.leadUsedUs[i] = r - tUs;
      }
      this.cursor++;
      n++;
    }
    this.trimHead();
    return n;
  }

  /** The gap between the previous reported packet's own time and `ownUs` (0 if none or backwards). */
  private gapUs(ownUs: number): number {
    return this.lastOwnUs > -Infinity && ownUs > this.lastOwnUs ? ownUs - this.lastOwnUs : 0;
  }

  /** Reports slot i at tUs (rules 4 and 6 applied); `ownUs`: its own time (departure or prediction). */
  private emit(i: number, tUs: number, sink: ReportSink, ownUs: number): number {
    let t = tUs;
    const floor = this.config.spacing === 'link' ? this.lastReportedUs + this.gapUs(ownUs) / 2 : this.lastReportedUs;
    this.lastOwnUs = ownUs;
    if (t < floor) {
      t = floor;
      this.counters.raisedToPrevious++;
    } else if (this.lastReportedUs > -Infinity) {
      const step = t - this.lastReportedUs;
      if (step > this.counters.largestForwardStepUs) this.counters.largestForwardStepUs = step;
    }
    this.lastReportedUs = t;
    sink(i, t);
    return t;
  }

  /** Forgets reported packets from the head once nothing more will be learnt from them. */
  private trimHead(): void {
    while (this.head < this.cursor) {
      const i = this.head & this.mask;
      if (this.state[i] === QUEUED && (this.reportedAtUs[i] ?? -1) >= 0) break;
      this.head++;
    }
  }

  private evictOldest(tUs: number, sink: ReportSink): void {
    this.counters.overflow++;
    if (this.head === this.cursor) {
      // the oldest is not reported yet: report it at its prediction at arrival
      const i = this.cursor & this.mask;
      if (this.state[i] === LOST) sink(i, null);
      else {
        const own = this.state[i] === DEPARTED ? (this.departedUs[i] ?? tUs) : (this.arrivalUs[i] ?? tUs) + (this.predictedSojournUs[i] ?? 0);
        this.emit(i, own, sink, own);
      }
      this.cursor++;
    }
    this.head++;
  }
}
