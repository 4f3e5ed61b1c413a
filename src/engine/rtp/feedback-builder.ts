/**
 * Zhuge's own feedback for the transports it reports for: records each downlink RTP packet with
 * its predicted arrival at the client (TwccRecorder by transport-wide sequence number, or
 * CcfbRecorder by SSRC and RTP sequence number), and every feedback interval builds the feedback
 * (loss marks applied), serializes it (twcc.ts / ccfb.ts) and wraps each RTCP packet in its own
 * IP + UDP datagram from the client to the server (udp-datagram.ts), as Chromium sends its
 * reduced-size RTCP. Only transports with a recorder are looked at (the `recording` set).
 */
import { CcfbRecorder } from '../../feedback-updater/ccfb-recorder.js';
import { REMB_CAP_DEFAULTS, RembCap, type CapQueueSample, type RembCapConfig } from '../../feedback-updater/remb-cap.js';
import { ReportTiming, type ReportSink, type ReportTimingConfig } from '../../feedback-updater/report-timing.js';
import { TwccRecorder } from '../../feedback-updater/twcc-recorder.js';
import { serializeCcfb } from '../../protocols/rtcp/index.js';
import type { CcfbReport, TwccFeedback } from '../../protocols/feedback-types.js';
import { REMB_MAX_SSRCS, REMB_UNLIMITED_BPS, serializeRemb, serializeTwcc } from '../../protocols/rtcp/index.js';
import { buildUdpDatagram } from '../../protocols/udp-datagram.js';
import type { LossMarker } from './loss-marker.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import { newTimingSlots, type RtpTransport } from './rtp-transport.js';

/**
 * The Wi-Fi queue as reportTiming 'departure' needs it (the engine's Fortune Teller): when a
 * packet at queue position `position` (QueueModel.position, taken at its arrival) of flow `flow`
 * is predicted to leave, seen from tUs (NaN: unknown; with measuredOnly, also when the queue has
 * no measured service rate).
 */
export interface QueueView {
  departureUs(tUs: number, position: number, flow: number, measuredOnly: boolean): number;
  /** how long a measured rate lasts on this link, seen from tUs (Infinity: no change seen) */
  horizonUs(tUs: number, flow: number): number;
  /** how long the current measured rate has lasted, seen from tUs (Infinity: none measured) */
  rateAgeUs(tUs: number, flow: number): number;
  /** the queue's measured busy service rate seen from tUs (bit/s; NaN: none), backlog and the flow's part of it (signal remb / both) */
  sampleCap?(tUs: number, flow: number, out: CapQueueSample): void;
}

const NO_QUEUE: QueueView = {
  departureUs: () => Number.NaN,
  horizonUs: () => Number.POSITIVE_INFINITY,
  rateAgeUs: () => Number.POSITIVE_INFINITY,
  sampleCap: (_tUs, _flow, out) => {
    out.serviceRateBps = Number.NaN;
    out.backlogBytes = 0;
    out.share = 1;
    out.headAgeUs = 0;
    out.departedBytes = Number.NaN;
  },
};

/** What zhuge sends the sender (flows.rtp.signal): its own transport-wide feedback, REMB rate caps beside the client's own, or both. */
export type RtpSignal = 'twcc' | 'remb' | 'both';

export class FeedbackBuilder {
  /** transports with a recorder: the only ones poll() looks at */
  private readonly recording = new Set<RtpTransport>();
  queue: QueueView = NO_QUEUE;
  /** the ReportTiming settings of transports created from now on (the rest: its defaults) */
  timing: Partial<ReportTimingConfig> = { unpredicted: 'wait' };
  /** flows.rtp.signal: 'remb' builds no feedback of its own (the client's passes), only caps */
  signal: RtpSignal = 'twcc';
  /** the rate caps' settings (transports created from now on) */
  capConfig: RembCapConfig = REMB_CAP_DEFAULTS;
  private readonly capSample: CapQueueSample = { serviceRateBps: Number.NaN, backlogBytes: 0, share: 1, headAgeUs: 0, departedBytes: Number.NaN };
  /**
   * Called after each build's drain of a transport (reportTiming 'departure'): how many packets
   * it reported, and how many wait. For traces (the daemon logs it at level trace), never per packet.
   */
  onDrained: ((t: RtpTransport, tUs: number, reported: number, pending: number) => void) | undefined;
  /** the transport being drained by poll (the sink's context) */
  private draining: RtpTransport | undefined;
  private readonly sink: ReportSink = (slot, reportedUs) => this.recordSlot(slot, reportedUs);

  constructor(
    private readonly counters: RtpFeedbackCounters,
    private readonly losses: LossMarker,
  ) {}

  /**
   * A downlink RTP packet of `t` entered the Wi-Fi queue at `tUs`; `predictedTotalMs` is its
   * predicted delay (+Infinity: the queue is full and drops it). Recorded in TWCC mode when it
   * carries a transport-wide sequence number (`transportSeq` >= 0), always in CCFB mode.
   * Returns the packet's ReportTiming slot (reportTiming 'departure', expected to leave the
   * queue), else -1.
   */
  record(
    tUs: number,
    t: RtpTransport,
    transportSeq: number,
    ssrc: number,
    rtpSeq: number,
    ecn: number,
    predictedTotalMs: number,
    matchKey: number,
    maxPacketBytes: number,
    departureTiming = false,
    position = Number.NaN,
  ): number {
    if (departureTiming && (t.mode === 'twcc' || t.mode === 'ccfb') && (t.mode === 'ccfb' || transportSeq >= 0)) {
      return this.recordTimed(tUs, t, transportSeq, ssrc, rtpSeq, ecn, predictedTotalMs, matchKey, maxPacketBytes, position);
    }
    if (predictedTotalMs === Number.POSITIVE_INFINITY) {
      // the AP queue is full: the kernel drops this packet at enqueue. It is not recorded, so the
      // feedback reports its sequence number as not received, as the real receiver would.
      this.counters.predictedDrops++;
      if (t.reportsFeedback) t.lastRecordUs = tUs;
      return -1;
    }
    const twcc = t.mode === 'twcc' && transportSeq >= 0;
    if (!twcc && t.mode !== 'ccfb') return -1; // nothing to record: not a reported time either
    const arrivalUs = tUs + (Number.isFinite(predictedTotalMs) && predictedTotalMs > 0 ? predictedTotalMs * 1000 : 0);
    if (arrivalUs < t.lastReportedUs) this.counters.reportedBackwards++;
    else if (t.lastReportedUs > -Infinity) {
      const step = arrivalUs - t.lastReportedUs;
      if (step > this.counters.reportTiming.largestForwardStepUs) this.counters.reportTiming.largestForwardStepUs = step;
    }
    t.lastReportedUs = arrivalUs;
    if (twcc) {
      t.twcc ??= new TwccRecorder({ maxPacketBytes });
      t.twcc.record(transportSeq, arrivalUs);
      this.counters.recorded.twcc++;
    } else if (t.mode === 'ccfb') {
      t.ccfb ??= new CcfbRecorder({ maxPacketBytes });
      t.ccfb.record(ssrc, rtpSeq, arrivalUs, ecn);
      this.counters.recorded.ccfb++;
    }
    this.recording.add(t);
    t.recorded++;
    t.lastRecordUs = tUs;
    if (matchKey !== 0) this.losses.remember(matchKey, t, transportSeq, ssrc, rtpSeq);
    return -1;
  }

  /**
   * reportTiming 'departure': the packet waits in the transport's ReportTiming and is recorded
   * when poll() decides its time (a predicted drop is reported lost in its turn). Returns its
   * ReportTiming slot when it is expected to leave the queue (-1: a predicted drop).
   */
  private recordTimed(
    tUs: number,
    t: RtpTransport,
    transportSeq: number,
    ssrc: number,
    rtpSeq: number,
    ecn: number,
    predictedTotalMs: number,
    matchKey: number,
    maxPacketBytes: number,
    position: number,
  ): number {
    if (t.timing === undefined) {
      t.timing = new ReportTiming(this.timing, tUs, this.counters.reportTiming);
      t.timingSlots = newTimingSlots(t.timing.config.capacity);
    }
    if (t.mode === 'twcc') t.twcc ??= new TwccRecorder({ maxPacketBytes });
    else t.ccfb ??= new CcfbRecorder({ maxPacketBytes });
    const drop = predictedTotalMs === Number.POSITIVE_INFINITY;
    if (drop) this.counters.predictedDrops++;
    const sojournUs = Number.isFinite(predictedTotalMs) && predictedTotalMs > 0 ? predictedTotalMs * 1000 : 0;
    this.draining = t;
    const h = t.timing.push(tUs, sojournUs, position, this.sink);
    this.draining = undefined;
    const slots = t.timingSlots;
    const i = h & 0xffff;
    if (slots !== undefined) {
      slots.transportSeq[i] = transportSeq;
      slots.ssrc[i] = ssrc;
      slots.rtpSeq[i] = rtpSeq;
      slots.ecn[i] = ecn;
      slots.matchKey[i] = matchKey | 0;
    }
    if (drop) t.timing.lost(h);
    this.recording.add(t);
    t.recorded++;
    t.lastRecordUs = tUs;
    // a predicted drop too: if it leaves after all, its departure corrects the report
    if (matchKey !== 0) this.losses.remember(matchKey, t, transportSeq, ssrc, rtpSeq, h);
    return drop ? -1 : i;
  }

  /** ReportTiming decided a packet's report (null: not received): record it. */
  private recordSlot(slot: number, reportedUs: number | null): void {
    const t = this.draining;
    const s = t?.timingSlots;
    if (t === undefined || s === undefined || reportedUs === null) return; // unrecorded = reported not received
    if (t.mode === 'twcc' && t.twcc !== undefined) {
      t.twcc.record(s.transportSeq[slot] ?? 0, reportedUs);
      this.counters.recorded.twcc++;
    } else if (t.mode === 'ccfb' && t.ccfb !== undefined) {
      t.ccfb.record(s.ssrc[slot] ?? 0, s.rtpSeq[slot] ?? 0, reportedUs, s.ecn[slot] ?? 0);
      this.counters.recorded.ccfb++;
    }
  }

  /** signal 'remb': an RTP packet of `t` arrived; nothing is recorded, the transport is polled (its cap). */
  touch(tUs: number, t: RtpTransport): void {
    this.recording.add(t);
    t.lastRecordUs = tUs;
  }

  /** The transport left the table. */
  forget(t: RtpTransport): void {
    this.recording.delete(t);
  }

  /** Whether poll() looks at `t` (status). */
  isPolled(t: RtpTransport): boolean {
    return this.recording.has(t);
  }

  /**
   * The feedback datagrams due at `tUs`, appended to `out`: for each recording transport whose
   * interval elapsed, its TWCC (or CCFB) packets. `send`: whether the transport reports (else the
   * built feedback is discarded, so the recorder stays drained). A transport drained and idle for
   * more than `idleUs` leaves the set until it records again.
   */
  poll(tUs: number, intervalUs: number, idleUs: number, reporting: boolean, out: Uint8Array[]): void {
    for (const t of this.recording) {
      if (tUs - t.lastBuildUs < intervalUs) continue;
      if (t.lastBuildUs > t.lastRecordUs && tUs - t.lastRecordUs > idleUs && (t.timing === undefined || t.timing.pending === 0)) {
        this.recording.delete(t); // drained and idle: back in the set when it records again
        continue;
      }
      t.lastBuildUs = tUs;
      if (t.timing !== undefined) {
        this.draining = t;
        const flow = t.flowHash;
        const measuredOnly = this.timing.unpredicted === 'wait';
        const n = t.timing.drain(tUs, (position) => this.queue.departureUs(tUs, position, flow, measuredOnly), this.sink, this.queue.horizonUs(tUs, flow), this.queue.rateAgeUs(tUs, flow));
        this.draining = undefined;
        this.onDrained?.(t, tUs, n, t.timing.pending);
      }
      const sendable = reporting && t.plaintextRtcp && t.reportsFeedback && t.clientSeen;
      const send = sendable && this.signal !== 'remb';
      if (this.signal !== 'twcc') this.pollCap(t, tUs, sendable, out);
      if (t.twcc !== undefined && t.twcc.pendingCount > 0) {
        const fbs = t.twcc.build(tUs, t.clientSenderSsrc, t.mediaSsrc >= 0 ? t.mediaSsrc : 0);
        this.emit(t, 'twcc', send, fbs, out, (fb) => {
          this.losses.applyTwcc(t, fb);
          countTwcc(t, fb);
          return serializeTwcc(fb);
        });
        this.losses.tooLate(t.lostTwcc);
      }
      if (t.ccfb !== undefined) {
        const reports = t.ccfb.build(tUs, t.clientSenderSsrc);
        this.emit(t, 'ccfb', send, reports, out, (r) => {
          this.losses.applyCcfb(t, r);
          countCcfb(t, r);
          return serializeCcfb(r);
        });
        this.losses.tooLate(t.lostCcfb);
      }
    }
  }

  /** The transport's rate cap at this build (remb-cap.ts), sent as a REMB from the client when due. */
  private pollCap(t: RtpTransport, tUs: number, send: boolean, out: Uint8Array[]): void {
    const cap = (t.cap ??= new RembCap(this.capConfig));
    const dtUs = tUs - t.capLastUs;
    const arrivalBps = dtUs > 0 ? (t.arrivedBytes * 8e6) / dtUs : 0;
    t.arrivedBytes = 0;
    t.capLastUs = tUs;
    (this.queue.sampleCap ?? NO_QUEUE.sampleCap)?.(tUs, t.flowHash, this.capSample);
    const bps = cap.update(tUs, this.capSample, arrivalBps);
    if (Number.isNaN(bps)) return;
    if (!send) {
      this.counters.discarded++;
      return;
    }
    this.pushRemb(t, bps, out);
  }

  /** The transport's REMB announcing `bps` (+Infinity: no limit), from the client, for its media SSRCs. */
  private remb(t: RtpTransport, bps: number): Uint8Array {
    const ssrcs = t.mediaSsrcs.length > 0 ? t.mediaSsrcs.slice(0, REMB_MAX_SSRCS) : t.mediaSsrc >= 0 ? [t.mediaSsrc] : [];
    return serializeRemb(t.clientSenderSsrc, Number.isFinite(bps) ? bps : REMB_UNLIMITED_BPS, ssrcs);
  }

  private pushRemb(t: RtpTransport, bps: number, out: Uint8Array[]): void {
    out.push(this.wrap(t, this.remb(t, bps)));
    t.rembSent++;
    this.counters.rembSent++;
  }

  /**
   * The lift ("no limit") for every transport with a cap in force, appended to `out`: a sender
   * keeps the last REMB it got for the rest of the call, so a cap must never outlive zhuge's
   * attention (stop, reload to another signal, the transport forgotten).
   */
  liftAll(out: Uint8Array[]): void {
    for (const t of this.recording) this.lift(t, out);
  }

  /**
   * The lifts that would end every cap in force, appended to `out`, state untouched: what the
   * watchdog sends if the daemon dies with caps in force (src/daemon/cap-lift-file.ts).
   */
  liftsInForce(out: Uint8Array[]): void {
    for (const t of this.recording) {
      if (t.cap === undefined || !Number.isFinite(t.cap.capBps) || !t.plaintextRtcp || !t.clientSeen) continue;
      out.push(buildUdpDatagram(t.feedbackDatagram, this.remb(t, Number.POSITIVE_INFINITY)));
    }
  }

  /** The lift for one transport, if a cap is in force and it may be sent. */
  lift(t: RtpTransport, out: Uint8Array[]): void {
    if (t.cap === undefined || !Number.isFinite(t.cap.capBps)) return;
    t.cap.liftNow();
    if (t.plaintextRtcp && t.clientSeen) this.pushRemb(t, Number.POSITIVE_INFINITY, out);
  }

  /** Built feedback of one format out as datagrams when the transport reports in it, else counted as discarded. */
  private emit<F>(t: RtpTransport, kind: 'twcc' | 'ccfb', send: boolean, built: readonly F[], out: Uint8Array[], serialize: (f: F) => Uint8Array): void {
    if (!send || t.mode !== kind) {
      this.counters.discarded += built.length;
      return;
    }
    for (const f of built) {
      out.push(this.wrap(t, serialize(f)));
      t.feedbackBuilt++;
      this.counters.feedbackBuilt[kind]++;
    }
  }

  /** One RTCP packet in its IP + UDP datagram from the client to the server (next IPv4 ID). */
  private wrap(t: RtpTransport, rtcp: Uint8Array): Uint8Array {
    const d = t.feedbackDatagram;
    const p = buildUdpDatagram(d, rtcp);
    if (!d.isIpv6) d.ipId = (d.ipId + 1) & 0xffff;
    return p;
  }
}

function countTwcc(t: RtpTransport, fb: TwccFeedback): void {
  for (const d of fb.deltas) {
    if (d === null) t.reportedLost++;
    else t.reportedReceived++;
  }
}

function countCcfb(t: RtpTransport, r: CcfbReport): void {
  for (const b of r.streams) {
    for (const m of b.metrics) {
      if (m.received) t.reportedReceived++;
      else t.reportedLost++;
    }
  }
}
