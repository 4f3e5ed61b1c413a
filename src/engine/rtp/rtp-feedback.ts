/**
 * In-band feedback path (RTP with transport-wide congestion control): Zhuge acts as the Wi-Fi
 * client's receiver. Pure (time passed in, no I/O): the engine feeds it the downlink UDP packets
 * the eth tap sees and the uplink UDP packets NFQUEUE intercepts; the daemon calls poll() every
 * few ms and sends the returned IP packets with a raw socket (src/daemon/rawsock.ts).
 *
 *   server ──RTP (transport-wide seq)──▶ AP (eth tap) ──▶ Wi-Fi queue ──▶ client
 *            onDownlink: record(seq, tArrival + predictedTotal)
 *   server ◀──our TWCC / CCFB (poll)──── AP raw socket, "from" client:port
 *   server ◀──client RTCP────────────── AP (NFQUEUE) onUplink:
 *            TWCC (or CCFB) sub-packets removed while we report; everything else untouched
 *
 * Transports: one per UDP 5-tuple (server addr:port <-> client addr:port; behind NAT the engine
 * hands over downlink packets already translated to the client's private tuple, so transports,
 * uplink lookups and the feedback's source are the client's own), created by the first
 * downlink packet that classifies as RTP / RTCP / SRTCP (classify.ts; QUIC is tested first),
 * kept in a bounded LRU table (maxTransports, idle expiry). Per transport:
 *   - mode, derived from what was seen:
 *       'srtcp-delay'  SRTCP seen in either direction and srtcpFallback = 'delay': encrypted RTCP
 *                      cannot be rewritten or forged, so the engine gives the transport's uplink
 *                      RTCP the out-of-band (ACK-delay) treatment (onUplink returns 'srtcp');
 *       'passthrough'  SRTCP with srtcpFallback = 'off', or no transport-wide extension and no
 *                      client CCFB yet: nothing is touched;
 *       'ccfb'         the client sends RFC 8888 feedback (RTPFB FMT 11): we build CCFB instead;
 *       'twcc'         the transport-wide sequence extension is known (configured id or detected
 *                      by TwccExtensionDetector).
 *   - reporting ("active") needs: mode twcc/ccfb, at least one PLAINTEXT RTCP packet seen on the
 *     transport (either direction: so feedback is never forged into an SRTP session whose RTCP
 *     has not shown up yet), reporting enabled (setReporting; the daemon turns it off when it
 *     stops or cannot send), and a packet recorded within activeWindowMs (default 1000). Only then
 *     is the client's own TWCC/CCFB removed; otherwise it passes untouched.
 *   - the client's RTCP sender SSRC and the media SSRC are learnt from its TWCC (else from its
 *     RR/SR and first report block) so our feedback is indistinguishable from the client's; until
 *     learnt: a stable pseudo-random sender SSRC (seeded) and the first media SSRC seen.
 *
 * Losses at the AP (markLost): the eth tap sees every packet arrive, including those the Wi-Fi
 * queue later drops, and records them with a predicted arrival. markLost(...) reports such a
 * packet as not received IF the mark comes before the feedback that covers it was built (the
 * delta of the removed packet is carried to the next received one, so no other arrival time
 * moves). A mark after that build is too late (counted `lostTooLate`): the sender was already
 * told the packet arrived. With a queue delay longer than the feedback interval, tail drops are
 * therefore usually reported as received; the sender's NACK/RTX path still recovers them.
 *
 * Generated packets: one IP datagram per feedback packet (as Chromium sends its reduced-size
 * RTCP), IPv4 (TTL 64, DF, ID incrementing per transport from a seeded start, the DSCP/ECN of the
 * client's last RTCP) or IPv6 (hop limit 64, the client's traffic class), UDP from the client's
 * address:port to the server's, IPv4 header and UDP checksums computed.
 *
 * Parts (the facade below only routes; each part decides one thing, the codecs build the bytes):
 *   rtp-transport.ts           RtpTransport: one transport's state and its mode derivation
 *   rtp-transport-table.ts     RtpTransportTable: the LRU table, creation, mode changes, SSRC
 *                              learning, activity
 *   feedback-builder.ts        FeedbackBuilder: recording (TwccRecorder / CcfbRecorder), poll:
 *                              build -> serialize (twcc.ts / ccfb.ts) -> datagram (udp-datagram.ts)
 *   client-feedback-filter.ts  ClientFeedbackFilter: onUplink, the client's TWCC/CCFB removed
 *   loss-marker.ts             LossMarker: markLost / markLostByMatchKey and their application
 *   rtp-feedback-status.ts     status(); rtp-feedback-config.ts, rtp-feedback-counters.ts
 */
import { readU16, readU32 } from '../../protocols/bytes.js';
import { ParseError } from '../../protocols/errors.js';
import { canonicalFlowHash, type FlowKey } from '../../protocols/flow-key.js';
import type { PacketView } from '../../protocols/packet.js';
import { newRtpView, parseRtpHeader } from '../../protocols/rtp.js';
import { REMB_CAP_DEFAULTS } from '../../feedback-updater/remb-cap.js';
import { ClientFeedbackFilter, UPLINK_UNKNOWN, type UplinkRtpAction } from './client-feedback-filter.js';
import { DropRepair } from './drop-repair.js';
import { FeedbackBuilder, type QueueView } from './feedback-builder.js';
import { LossMarker } from './loss-marker.js';
import { resolveRtpFeedbackConfig, type RtpFeedbackConfig } from './rtp-feedback-config.js';
import { newRtpFeedbackCounters, type RtpFeedbackCounters } from './rtp-feedback-counters.js';
import { rtpTransportStatus, type RtpFeedbackStatus, type RtpTransportStatus } from './rtp-feedback-status.js';
import type { RtpTransport, RtpTransportEvent, RtpTransportMode } from './rtp-transport.js';
import { RtpTransportTable } from './rtp-transport-table.js';

export { RTP_FEEDBACK_DEFAULTS, type RtpFeedbackConfig } from './rtp-feedback-config.js';
export type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
export type { RtpFeedbackStatus, RtpTransportStatus } from './rtp-feedback-status.js';
export type { RtpTransportEvent, RtpTransportMode } from './rtp-transport.js';
export type { UplinkRtpAction } from './client-feedback-filter.js';
export type { QueueView } from './feedback-builder.js';

/** One build of a transport, as RtpFeedback.onTimingTrace reports it (counters: running totals). */
export interface TimingTrace {
  tUs: number;
  flowHash: number;
  leadUs: number;
  horizonUs: number;
  reported: number;
  pending: number;
  clamped: number;
  deferred: number;
  raised: number;
  bad: number;
}

/** The RTP / transport-wide feedback path of the engine (see the file comment). */
export class RtpFeedback {
  readonly counters: RtpFeedbackCounters = newRtpFeedbackCounters();
  /** Mode of the transport of the last packet given to onDownlink / onUplink ('passthrough' if none). */
  lastMode: RtpTransportMode = 'passthrough';
  /** Key (downlink direction) of the transport of the last packet given to onDownlink / onUplink. */
  lastTransport: FlowKey | undefined;

  private cfg: Required<RtpFeedbackConfig>;
  private readonly transports: RtpTransportTable;
  private readonly losses: LossMarker;
  private readonly builder: FeedbackBuilder;
  private readonly filter: ClientFeedbackFilter;
  private readonly repairs: DropRepair;
  private readonly rtp = newRtpView();
  private lastExpireUs = -Infinity;
  /** REMB lifts due at the next poll (a reload away from a REMB signal, a transport forgotten) */
  private readonly lifts: Uint8Array[] = [];

  constructor(config: RtpFeedbackConfig) {
    this.cfg = resolveRtpFeedbackConfig(config);
    this.losses = new LossMarker(this.counters);
    this.builder = new FeedbackBuilder(this.counters, this.losses);
    this.repairs = new DropRepair(this.counters);
    this.transports = new RtpTransportTable(this.cfg, this.counters, (t) => {
      this.builder.lift(t, this.lifts);
      this.builder.forget(t);
      this.losses.forget(t);
      this.repairs.forget(t);
    });
    this.filter = new ClientFeedbackFilter(this.transports, this.counters);
    this.applyTimingConfig();
    this.losses.onDroppedAfterReport = (t, slot) => {
      // sent again only where zhuge's report replaced the client's (else the sender still has it)
      if (this.cfg.repairDrops && this.cfg.signal !== 'remb' && this.transports.reporting && t.plaintextRtcp && t.reportsFeedback && t.clientSeen) this.repairs.repair(t, slot);
    };
    this.losses.onDeparted = (t, arrivalUs, tUs) => this.repairs.laterDeparted(t, arrivalUs, tUs);
  }

  /** Hands the report-timing settings to the builder (for the transports it creates from now on). */
  private applyTimingConfig(): void {
    const c = this.cfg;
    this.builder.timing = {
      beyondLead: c.beyondLead,
      spacing: c.reportSpacing,
      sojournCap: c.sojournCap,
      leadEarnedBy: c.leadEarnedBy,
      unpredicted: c.unmeasured === 'wait' ? 'wait' : 'atArrival',
      maxLeadUs: c.maxLeadMs * 1000,
    };
    this.builder.signal = c.signal;
    this.builder.capConfig = { ...REMB_CAP_DEFAULTS, recovery: c.capRecovery, floorFraction: c.capFloor, delayFrom: c.capDelayFrom };
  }

  /** Called on each transport event (creation, mode change, eviction): rare, the daemon logs them. */
  get onEvent(): ((e: RtpTransportEvent) => void) | undefined {
    return this.transports.onEvent;
  }

  set onEvent(f: ((e: RtpTransportEvent) => void) | undefined) {
    this.transports.onEvent = f;
  }

  /** Applies a reloaded configuration (existing transports keep their recorders and learnt state). */
  reconfigure(config: RtpFeedbackConfig): void {
    const capped = this.cfg.signal !== 'twcc';
    this.cfg = resolveRtpFeedbackConfig(config);
    if (capped && this.cfg.signal === 'twcc') this.builder.liftAll(this.lifts);
    this.transports.reconfigure(this.cfg);
    this.applyTimingConfig();
  }

  /** Whether packets are recorded to be reported (signal twcc / both; remb records nothing: the drop poll can rest). */
  get recordsFeedback(): boolean {
    return this.cfg.signal !== 'remb';
  }

  /**
   * Turns reporting on/off (default on). Off (daemon stopping, raw sender unavailable): poll()
   * builds nothing and the client's own feedback passes again at once.
   */
  setReporting(on: boolean): void {
    this.transports.reporting = on;
  }

  /**
   * The REMB lifts ("no limit") of every transport with a rate cap in force (flows.rtp.signal
   * remb / both), for the daemon to send before it stops: a sender keeps the last REMB it got.
   */
  liftCaps(): Uint8Array[] {
    const out = this.lifts.splice(0);
    this.builder.liftAll(out);
    return out;
  }

  /** The lifts of the caps in force, state untouched (the watchdog's copy, for a crash). */
  liftsInForce(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.builder.liftsInForce(out);
    return out;
  }

  /** The Wi-Fi queue, for reportTiming 'departure' (the engine's Fortune Teller). */
  set queue(q: QueueView) {
    this.builder.queue = q;
  }

  /**
   * A trace of each build's report timing (reportTiming 'departure'): the lead used, the link's
   * horizon, packets reported and still waiting, the running counters. Off by default (the
   * daemon sets it at log level trace); one call per transport per feedback interval.
   */
  set onTimingTrace(f: ((e: TimingTrace) => void) | undefined) {
    const c = this.counters.reportTiming;
    this.builder.onDrained =
      f === undefined
        ? undefined
        : (t, tUs, reported, pending) =>
            f({
              tUs,
              flowHash: t.flowHash,
              leadUs: t.timing?.lastLeadUs ?? 0,
              horizonUs: this.builder.queue.horizonUs(tUs, t.flowHash),
              reported,
              pending,
              clamped: c.reportedClamped,
              deferred: c.deferred,
              raised: c.raisedToPrevious,
              bad: c.predictionsBad,
            });
  }

  get transportCount(): number {
    return this.transports.size;
  }

  // ---------------------------------------------------------------- downlink (observed) ----

  /**
   * A downlink UDP packet (server -> client) entered the Wi-Fi queue. `predictedTotalMs`: the
   * Fortune Teller's total delay for it. `matchKey` (optional, the engine's packetMatchKey of
   * the packet, non-zero): lets markLostByMatchKey find it if the queue drops it, and
   * onDeparture when it leaves. `queuePosition`: QueueModel.position of its flow right after its
   * arrival (reportTiming 'departure' re-predicts it from there). `flowHash`: its canonical flow
   * hash, when the caller computed it already (else computed here).
   * Returns true when the packet belongs to an RTP transport (not QUIC / other UDP).
   */
  onDownlink(tUs: number, v: PacketView, buf: Uint8Array, predictedTotalMs: number, matchKey = 0, queuePosition = Number.NaN, flowHash?: number): boolean {
    if (v.l4 !== 'udp' || v.isFragment) return false;
    this.transports.lastSeenUs = tUs;
    const t = flowHash === undefined ? this.transports.observeDownlink(tUs, v, buf) : this.transports.observeDownlink(tUs, v, buf, flowHash);
    if (t === undefined) return false;
    this.lastTransport = t.key;
    const cls = this.transports.cls.cls;
    if (cls === 'rtp' || cls === 'rtp-twcc-seq') this.onRtp(tUs, t, v, buf, predictedTotalMs, matchKey, queuePosition);
    this.lastMode = t.mode;
    return true;
  }

  private onRtp(tUs: number, t: RtpTransport, v: PacketView, buf: Uint8Array, predictedTotalMs: number, matchKey: number, queuePosition: number): void {
    t.rtpPackets++;
    t.arrivedBytes += v.ipTotalLength;
    this.counters.rtpPackets++;
    const res = this.transports.cls;
    const start = v.payloadOffset;
    let ssrc: number;
    let rtpSeq: number;
    if (res.malformed === undefined) {
      // classifyPacket parsed this RTP header over the same bytes: its fixed fields are valid in place
      rtpSeq = readU16(buf, start + 2);
      ssrc = readU32(buf, start + 8);
    } else {
      // a parse error leaves the previous packet's class in the reused result (cold path): the
      // header is parsed here, and the packet ignored if it does not parse
      try {
        parseRtpHeader(buf, start, start + v.capturedPayloadLength, this.rtp);
      } catch (err) {
        if (err instanceof ParseError) return; // never throw on traffic
        throw err;
      }
      ssrc = this.rtp.ssrc >>> 0;
      rtpSeq = this.rtp.sequenceNumber;
    }
    this.transports.learnMediaSsrc(t, tUs, ssrc);
    if (res.cls === 'rtp-twcc-seq' && !t.seqGuard.accept(res.transportSeq, tUs)) {
      // an implausible jump of the transport-wide number (seq-jump-guard.ts): passed, not recorded
      this.counters.implausibleSeqJumps++;
      return;
    }
    if (this.cfg.signal === 'remb') {
      // only REMB caps are sent: the client's own feedback passes, so nothing is recorded to be
      // reported (no recorder, timing or drop matching per packet); the transport is polled for its cap
      this.builder.touch(tUs, t);
      return;
    }
    const timed = this.cfg.reportTiming === 'departure';
    const slot = this.builder.record(tUs, t, res.transportSeq, ssrc, rtpSeq, v.tos & 3, predictedTotalMs, matchKey, this.cfg.maxFeedbackBytes, timed, queuePosition);
    if (slot >= 0 && this.cfg.repairDrops) this.repairs.store(t, slot, v, buf);
  }

  /**
   * A downlink packet left the Wi-Fi queue at tUs (the queue model matched it to its arrival by
   * `matchKey`). Cheap for packets that are not RTP (one array read).
   */
  onDeparture(matchKey: number, tUs: number): void {
    if (this.cfg.reportTiming !== 'departure') return;
    this.repairs.departed(matchKey);
    this.losses.departedByMatchKey(matchKey, tUs);
  }

  /**
   * Reports the downlink packet with this transport-wide sequence number (TWCC mode) as not
   * received; `v` is any decoded packet of the transport (either direction). For CCFB mode use
   * markLostByMatchKey. Effective only before the feedback covering it is built (see the file
   * comment). Returns whether a mark was stored.
   */
  markLost(v: PacketView, transportSeq16: number): boolean {
    const t = this.transports.lookup(v);
    return t !== undefined && this.losses.markLost(t, transportSeq16);
  }

  /**
   * Reports the recorded packet with this packetMatchKey (as given to onDownlink; the Fortune
   * Teller's queue model knows dropped packets by it) as not received. Looks back over the last
   * 1024 recorded packets. Returns whether a mark was stored.
   */
  markLostByMatchKey(matchKey: number): boolean {
    return this.losses.markLostByMatchKey(matchKey);
  }

  // ------------------------------------------------------------- uplink (intercepted) ----

  /**
   * An uplink UDP packet (client -> server) was intercepted. `buf` holds the packet as decoded
   * into `v` (raw IP from NFQUEUE: v.ipOffset = 0). Never throws on traffic.
   */
  onUplink(tUs: number, v: PacketView, buf: Uint8Array, flowHash = canonicalFlowHash(v)): UplinkRtpAction {
    if (v.l4 !== 'udp' || v.isFragment) return UPLINK_UNKNOWN;
    this.transports.lastSeenUs = tUs;
    const t = this.transports.lookup(v, flowHash);
    if (t === undefined) return UPLINK_UNKNOWN;
    this.transports.touch(v, tUs, flowHash);
    this.lastTransport = t.key;
    const r = this.filter.onUplink(tUs, t, v, buf);
    this.lastMode = t.mode;
    return r;
  }

  // --------------------------------------------------------------------- feedback out ----

  private readonly pollOut: Uint8Array[] = [];

  /**
   * Builds the feedback that is due: for each reporting transport whose interval elapsed, its
   * TWCC (or CCFB) packets, each wrapped in a complete IP + UDP packet from the client to the
   * server. Also expires idle transports (once a second). Returns the packets to send, in order,
   * in an array reused by the next poll (polled every 5 ms: none allocated when nothing is due).
   */
  poll(tUs: number): Uint8Array[] {
    const out = this.pollOut;
    out.length = 0;
    this.transports.lastSeenUs = tUs;
    if (tUs - this.lastExpireUs >= 1_000_000) {
      this.lastExpireUs = tUs;
      this.transports.expire(tUs);
    }
    if (this.lifts.length > 0) out.push(...this.lifts.splice(0));
    this.repairs.drainInto(out, tUs);
    this.builder.poll(tUs, this.cfg.feedbackIntervalMs * 1000, this.cfg.activeWindowMs * 1000, this.transports.reporting, out);
    return out;
  }

  status(nowUs: number, maxTransports = 100): RtpFeedbackStatus {
    const list: RtpTransportStatus[] = [];
    for (const [, t, lastSeenUs] of this.transports.entries()) {
      if (list.length >= maxTransports) break;
      list.push(rtpTransportStatus(t, nowUs, lastSeenUs, this.transports.isActive(t, nowUs), this.builder.isPolled(t)));
    }
    return { transports: this.transports.size, reporting: this.transports.reporting, counters: this.counters, list };
  }
}
