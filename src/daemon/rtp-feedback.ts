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
 */
import { CcfbRecorder } from '../feedback-updater/ccfb-recorder.js';
import { seededRng, type Rng } from '../feedback-updater/rng.js';
import { TwccRecorder } from '../feedback-updater/twcc-recorder.js';
import { serializeCcfb } from '../protocols/rtcp/index.js';
import { fixIpPacketChecksums } from '../protocols/checksum.js';
import { classifyPacket, newClassifyResult, newTransportState, type PacketClass, type TransportState } from '../protocols/classify.js';
import { ParseError } from '../protocols/errors.js';
import type { CcfbReport, TwccFeedback } from '../protocols/feedback-types.js';
import { canonicalFlowHash, flowKeyFromView, flowKeyToString, viewMatchesFlowKey, type FlowKey } from '../protocols/flow-key.js';
import type { PacketView } from '../protocols/packet.js';
import {
  RTCP_PT_RR,
  RTCP_PT_RTPFB,
  RTCP_PT_SR,
  RTPFB_FMT_CCFB,
  RTPFB_FMT_TWCC,
  RtcpCompoundCursor,
  rewriteCompoundWithout,
  type RtcpView,
} from '../protocols/rtcp/index.js';
import { newRtpView, parseRtpHeader } from '../protocols/rtp.js';
import { serializeTwcc } from '../protocols/rtcp/index.js';
import { FlowTable, type EvictCause } from './flow-table.js';

export type RtpTransportMode = 'twcc' | 'ccfb' | 'srtcp-delay' | 'passthrough';

export interface RtpFeedbackConfig {
  /** 'auto': detect the transport-wide sequence extension id per transport; a number: use it. */
  twccExtensionId: 'auto' | number;
  /** Interval between two feedback builds of a transport (default 50 ms). */
  feedbackIntervalMs: number;
  /** 'delay': SRTCP transports get the ACK-delay treatment; 'off': left alone. */
  srtcpFallback: 'delay' | 'off';
  /** Zhuge reports (and removes the client's feedback) while a packet was recorded this recently (default 1000). */
  activeWindowMs?: number;
  /** Idle transports are forgotten after this long (default 30000). */
  idleTimeoutMs?: number;
  /** Most transports tracked (default 1024; the least recently used is evicted). */
  maxTransports?: number;
  /** Seed of the pseudo-random sender SSRC / IP ID start (default 1). */
  seed?: number;
  /** Largest feedback RTCP packet (default 1200 bytes). */
  maxFeedbackBytes?: number;
}

export const RTP_FEEDBACK_DEFAULTS = {
  feedbackIntervalMs: 50,
  activeWindowMs: 1000,
  idleTimeoutMs: 30_000,
  maxTransports: 1024,
  seed: 1,
  maxFeedbackBytes: 1200,
} as const;

export type UplinkRtpAction =
  /** not a packet of a known RTP transport: the engine goes on with its own classification */
  | { readonly action: 'unknown' }
  /** pass untouched */
  | { readonly action: 'accept' }
  /** a feedback-only datagram whose feedback zhuge replaces: drop it */
  | { readonly action: 'drop' }
  /** accept with this replacement (whole IP packet, lengths and checksums fixed) */
  | { readonly action: 'rewrite'; readonly packet: Uint8Array }
  /** SRTCP of a transport in mode 'srtcp-delay': apply the out-of-band ACK-delay treatment */
  | { readonly action: 'srtcp' };

const UNKNOWN: UplinkRtpAction = Object.freeze({ action: 'unknown' });
const ACCEPT: UplinkRtpAction = Object.freeze({ action: 'accept' });
const DROP: UplinkRtpAction = Object.freeze({ action: 'drop' });
const SRTCP: UplinkRtpAction = Object.freeze({ action: 'srtcp' });

interface FeedbackCounts {
  twcc: number;
  ccfb: number;
}

export interface RtpFeedbackCounters {
  /** RTP packets the engine predicted the AP queue drops (queue full at arrival): reported lost */
  predictedDrops: number;
  transportsCreated: number;
  transportsEvicted: number;
  hashCollisions: number;
  rtpPackets: number;
  /** packets recorded for our feedback */
  recorded: FeedbackCounts;
  /** feedback packets built (and returned by poll) */
  feedbackBuilt: FeedbackCounts;
  /** client datagrams dropped because all they carried was feedback we replace */
  clientFeedbackDropped: FeedbackCounts;
  /** client compounds with the feedback sub-packets removed */
  clientFeedbackRewritten: FeedbackCounts;
  /** client feedback let through because zhuge was not reporting for the transport */
  clientFeedbackPassed: FeedbackCounts;
  srtcpUplink: number;
  /** uplink RTCP of a known transport that did not parse (accepted untouched) */
  malformedUplink: number;
  lostMarked: number;
  lostTooLate: number;
  /** feedback built but discarded (transport not confirmed plaintext, reporting off) */
  discarded: number;
}

export interface RtpTransportStatus {
  transport: string;
  mode: RtpTransportMode;
  active: boolean;
  plaintextRtcp: boolean;
  twccExtId: number;
  clientSenderSsrc: number;
  clientSsrcLearnt: boolean;
  mediaSsrc: number;
  mediaSsrcs: number[];
  rtpPackets: number;
  recorded: number;
  reportedReceived: number;
  reportedLost: number;
  feedbackBuilt: number;
  clientFeedbackDropped: number;
  clientFeedbackRewritten: number;
  clientFeedbackPassed: number;
  srtcpUplink: number;
  idleMs: number;
  /** since the transport's last recorded packet / last feedback build (-1: never) */
  lastRecordAgoMs: number;
  lastBuildAgoMs: number;
  /** in poll()'s set of transports to build feedback for */
  polled: boolean;
  /** TWCC packets recorded and not yet reported */
  pending: number;
  /** the transport's life: creation, mode changes and why (bounded, oldest dropped) */
  history: RtpTransportEvent[];
}

/** A change in a transport's state (rare: for status and the daemon's log, never per packet). */
export interface RtpTransportEvent {
  tUs: number;
  transport: string;
  event: 'created' | 'mode' | 'plaintext-rtcp' | 'evicted';
  mode: RtpTransportMode;
  /** what caused it, e.g. 'srtcp uplink', 'extension id 3 detected', 'client ccfb' */
  why: string;
}

export interface RtpFeedbackStatus {
  transports: number;
  reporting: boolean;
  counters: RtpFeedbackCounters;
  list: RtpTransportStatus[];
}

const MAX_MEDIA_SSRCS = 16;
const MAX_HISTORY = 16;
const MAX_LOST_MARKS = 1024;
const LOST_RING = 1024;

class Transport {
  readonly key: FlowKey; // downlink direction: server -> client
  readonly isIpv6: boolean;
  readonly state: TransportState;
  twcc: TwccRecorder | undefined;
  ccfb: CcfbRecorder | undefined;
  mode: RtpTransportMode = 'passthrough';
  clientUsesCcfb = false;
  plaintextRtcp = false;
  clientSenderSsrc: number;
  clientSsrcLearnt = false;
  mediaSsrc = -1;
  mediaSsrcLearnt = false;
  readonly mediaSsrcs: number[] = [];
  lastRecordUs = -Infinity;
  lastBuildUs = -Infinity;
  ipId: number;
  tos = 0;
  /** lost marks waiting for the next build: seq16 (twcc) or ssrc * 65536 + seq (ccfb) */
  readonly lostTwcc = new Set<number>();
  readonly lostCcfb = new Set<number>();
  rtpPackets = 0;
  recorded = 0;
  reportedReceived = 0;
  reportedLost = 0;
  feedbackBuilt = 0;
  clientFeedbackDropped = 0;
  clientFeedbackRewritten = 0;
  clientFeedbackPassed = 0;
  srtcpUplink = 0;
  readonly history: RtpTransportEvent[] = [];

  constructor(v: PacketView, state: TransportState, rng: Rng) {
    this.key = flowKeyFromView(v);
    this.isIpv6 = v.l3 === 'ipv6';
    this.state = state;
    this.clientSenderSsrc = Math.floor(rng.next() * 0x100000000) >>> 0;
    this.ipId = Math.floor(rng.next() * 0x10000) & 0xffff;
  }
}

/** The RTP / transport-wide feedback path of the engine (see the file comment). */
export class RtpFeedback {
  readonly counters: RtpFeedbackCounters = {
    predictedDrops: 0,
    transportsCreated: 0,
    transportsEvicted: 0,
    hashCollisions: 0,
    rtpPackets: 0,
    recorded: { twcc: 0, ccfb: 0 },
    feedbackBuilt: { twcc: 0, ccfb: 0 },
    clientFeedbackDropped: { twcc: 0, ccfb: 0 },
    clientFeedbackRewritten: { twcc: 0, ccfb: 0 },
    clientFeedbackPassed: { twcc: 0, ccfb: 0 },
    srtcpUplink: 0,
    malformedUplink: 0,
    lostMarked: 0,
    lostTooLate: 0,
    discarded: 0,
  };
  /** Mode of the transport of the last packet given to onDownlink / onUplink ('passthrough' if none). */
  lastMode: RtpTransportMode = 'passthrough';
  /** Key (downlink direction) of the transport of the last packet given to onDownlink / onUplink. */
  lastTransport: FlowKey | undefined;
  /** Called on each transport event (creation, mode change, eviction): rare, the daemon logs them. */
  onEvent: ((e: RtpTransportEvent) => void) | undefined;

  private cfg: Required<RtpFeedbackConfig>;
  private readonly table: FlowTable<number, Transport>;
  private readonly rng: Rng;
  private reporting = true;
  private scratchState: TransportState = newTransportState();
  private readonly cls = newClassifyResult();
  private readonly rtp = newRtpView();
  private readonly cursor = new RtcpCompoundCursor();
  private lastExpireUs = -Infinity;
  /** the latest time given to any method (for events raised without one, e.g. evictions) */
  private lastSeenUs = 0;
  /** transports with a recorder: the only ones poll() looks at */
  private readonly recording = new Set<Transport>();
  // recent recorded packets by the engine's packet match key, for markLostByMatchKey
  private readonly ringKey = new Int32Array(LOST_RING);
  private readonly ringSeq = new Int32Array(LOST_RING);
  private readonly ringSsrc = new Float64Array(LOST_RING);
  private readonly ringRtpSeq = new Int32Array(LOST_RING);
  private readonly ringTransport: Array<Transport | undefined> = new Array<Transport | undefined>(LOST_RING).fill(undefined);
  private ringPos = 0;

  constructor(config: RtpFeedbackConfig) {
    this.cfg = RtpFeedback.fill(config);
    this.rng = seededRng(this.cfg.seed);
    this.table = new FlowTable<number, Transport>(
      { maxFlows: this.cfg.maxTransports, idleTimeoutUs: this.cfg.idleTimeoutMs * 1000 },
      (_k, t, cause: EvictCause) => {
        this.counters.transportsEvicted++;
        this.event(t, this.lastSeenUs, 'evicted', String(cause));
        this.recording.delete(t);
        for (let i = 0; i < LOST_RING; i++) if (this.ringTransport[i] === t) this.ringTransport[i] = undefined;
      },
    );
  }

  private static fill(c: RtpFeedbackConfig): Required<RtpFeedbackConfig> {
    const ext = c.twccExtensionId;
    if (ext !== 'auto' && !(Number.isInteger(ext) && ext >= 1 && ext <= 255)) {
      throw new RangeError(`RtpFeedback: twccExtensionId must be 'auto' or 1..255 (got ${String(ext)})`);
    }
    const r: Required<RtpFeedbackConfig> = {
      twccExtensionId: ext,
      feedbackIntervalMs: c.feedbackIntervalMs,
      srtcpFallback: c.srtcpFallback,
      activeWindowMs: c.activeWindowMs ?? RTP_FEEDBACK_DEFAULTS.activeWindowMs,
      idleTimeoutMs: c.idleTimeoutMs ?? RTP_FEEDBACK_DEFAULTS.idleTimeoutMs,
      maxTransports: c.maxTransports ?? RTP_FEEDBACK_DEFAULTS.maxTransports,
      seed: c.seed ?? RTP_FEEDBACK_DEFAULTS.seed,
      maxFeedbackBytes: c.maxFeedbackBytes ?? RTP_FEEDBACK_DEFAULTS.maxFeedbackBytes,
    };
    if (!(r.feedbackIntervalMs > 0)) throw new RangeError('RtpFeedback: feedbackIntervalMs must be > 0');
    if (!(r.maxTransports >= 1)) throw new RangeError('RtpFeedback: maxTransports must be >= 1');
    return r;
  }

  /** Applies a reloaded configuration (existing transports keep their recorders and learnt state). */
  reconfigure(config: RtpFeedbackConfig): void {
    this.cfg = RtpFeedback.fill(config);
    this.table.reconfigure({ maxFlows: this.cfg.maxTransports, idleTimeoutUs: this.cfg.idleTimeoutMs * 1000 });
    for (const [, t] of this.table.entries()) this.updateMode(t, this.lastSeenUs, 'reconfigured');
  }

  /**
   * Turns reporting on/off (default on). Off (daemon stopping, raw sender unavailable): poll()
   * builds nothing and the client's own feedback passes again at once.
   */
  setReporting(on: boolean): void {
    this.reporting = on;
  }

  get transportCount(): number {
    return this.table.size;
  }

  // ---------------------------------------------------------------- downlink (observed) ----

  /**
   * A downlink UDP packet (server -> client) entered the Wi-Fi queue. `predictedTotalMs`: the
   * Fortune Teller's total delay for it. `matchKey` (optional, the engine's packetMatchKey of
   * the packet, non-zero): lets markLostByMatchKey find it if the queue drops it.
   * Returns true when the packet belongs to an RTP transport (not QUIC / other UDP).
   */
  onDownlink(tUs: number, v: PacketView, buf: Uint8Array, predictedTotalMs: number, matchKey = 0): boolean {
    if (v.l4 !== 'udp' || v.isFragment) return false;
    this.lastSeenUs = tUs;
    const h = canonicalFlowHash(v);
    let t = this.table.peek(h);
    let cls: PacketClass;
    if (t !== undefined) {
      if (!viewMatchesFlowKey(v, t.key, true)) {
        this.counters.hashCollisions++;
        return false;
      }
      this.table.get(h, tUs);
      cls = classifyPacket(buf, v, t.state, true, this.cls).cls;
    } else {
      const s = this.scratchState;
      if (this.cfg.twccExtensionId !== 'auto') s.twccExtId = this.cfg.twccExtensionId;
      cls = classifyPacket(buf, v, s, true, this.cls).cls;
      if (!isRtpFamily(cls)) {
        this.resetScratch();
        return false;
      }
      this.scratchState = newTransportState();
      const created = new Transport(v, s, this.rng);
      t = this.table.getOrCreate(h, tUs, () => created);
      this.counters.transportsCreated++;
      this.event(t, tUs, 'created', cls);
    }
    this.lastTransport = t.key;
    if (cls === 'srtcp') {
      t.state.srtcp = true;
      this.updateMode(t, tUs, 'srtcp downlink');
    } else if (cls === 'rtcp' || cls === 'rtcp-twcc' || cls === 'rtcp-ccfb') {
      if (this.cls.malformed === undefined && !t.plaintextRtcp) {
        t.plaintextRtcp = true;
        this.event(t, tUs, 'plaintext-rtcp', 'downlink');
        this.updateMode(t, tUs, 'plaintext rtcp downlink');
      }
    } else if (cls === 'rtp' || cls === 'rtp-twcc-seq') {
      this.onRtp(tUs, t, v, buf, predictedTotalMs, matchKey);
    }
    this.lastMode = t.mode;
    return true;
  }

  private onRtp(tUs: number, t: Transport, v: PacketView, buf: Uint8Array, predictedTotalMs: number, matchKey: number): void {
    t.rtpPackets++;
    this.counters.rtpPackets++;
    const start = v.payloadOffset;
    let ssrc: number;
    let rtpSeq: number;
    try {
      parseRtpHeader(buf, start, start + v.capturedPayloadLength, this.rtp);
      ssrc = this.rtp.ssrc >>> 0;
      rtpSeq = this.rtp.sequenceNumber;
    } catch (err) {
      if (err instanceof ParseError) return; // classify said RTP: cannot happen, but never throw on traffic
      throw err;
    }
    if (t.mediaSsrcs.length < MAX_MEDIA_SSRCS && !t.mediaSsrcs.includes(ssrc)) t.mediaSsrcs.push(ssrc);
    if (t.mediaSsrc < 0) t.mediaSsrc = ssrc;
    if (t.mode === 'passthrough' && t.state.twccExtId !== 0) this.updateMode(t, tUs, `extension id ${t.state.twccExtId}`);
    const seq = this.cls.transportSeq;
    if (predictedTotalMs === Number.POSITIVE_INFINITY) {
      // the AP queue is full: the kernel drops this packet at enqueue. It is not recorded, so the
      // feedback reports its sequence number as not received, as the real receiver would.
      this.counters.predictedDrops++;
      if (t.mode === 'twcc' || t.mode === 'ccfb') t.lastRecordUs = tUs;
      return;
    }
    const arrivalUs = tUs + (Number.isFinite(predictedTotalMs) && predictedTotalMs > 0 ? predictedTotalMs * 1000 : 0);
    let recorded = false;
    if (t.mode === 'twcc' && seq >= 0) {
      t.twcc ??= new TwccRecorder({ maxPacketBytes: this.cfg.maxFeedbackBytes });
      t.twcc.record(seq, arrivalUs);
      this.counters.recorded.twcc++;
      recorded = true;
    } else if (t.mode === 'ccfb') {
      t.ccfb ??= new CcfbRecorder({ maxPacketBytes: this.cfg.maxFeedbackBytes });
      t.ccfb.record(ssrc, rtpSeq, arrivalUs, v.tos & 3);
      this.counters.recorded.ccfb++;
      recorded = true;
    }
    if (!recorded) return;
    this.recording.add(t);
    t.recorded++;
    t.lastRecordUs = tUs;
    if (matchKey !== 0) {
      const i = this.ringPos;
      this.ringKey[i] = matchKey | 0;
      this.ringSeq[i] = seq;
      this.ringSsrc[i] = ssrc;
      this.ringRtpSeq[i] = rtpSeq;
      this.ringTransport[i] = t;
      this.ringPos = (i + 1) & (LOST_RING - 1);
    }
  }

  /**
   * Reports the downlink packet with this transport-wide sequence number (TWCC mode) as not
   * received; `v` is any decoded packet of the transport (either direction). For CCFB mode use
   * markLostByMatchKey. Effective only before the feedback covering it is built (see the file
   * comment). Returns whether a mark was stored.
   */
  markLost(v: PacketView, transportSeq16: number): boolean {
    const t = this.lookup(v);
    if (t === undefined || t.mode !== 'twcc' || t.lostTwcc.size >= MAX_LOST_MARKS) return false;
    t.lostTwcc.add(transportSeq16 & 0xffff);
    this.counters.lostMarked++;
    return true;
  }

  /**
   * Reports the recorded packet with this packetMatchKey (as given to onDownlink; the Fortune
   * Teller's queue model knows dropped packets by it) as not received. Looks back over the last
   * 1024 recorded packets. Returns whether a mark was stored.
   */
  markLostByMatchKey(matchKey: number): boolean {
    if (matchKey === 0) return false;
    const k = matchKey | 0;
    for (let n = 1; n <= LOST_RING; n++) {
      const i = (this.ringPos - n) & (LOST_RING - 1);
      const t = this.ringTransport[i];
      if (t === undefined || this.ringKey[i] !== k) continue;
      this.ringTransport[i] = undefined;
      if (t.mode === 'twcc' && this.ringSeq[i]! >= 0) {
        if (t.lostTwcc.size >= MAX_LOST_MARKS) return false;
        t.lostTwcc.add(this.ringSeq[i]!);
      } else if (t.mode === 'ccfb') {
        if (t.lostCcfb.size >= MAX_LOST_MARKS) return false;
        t.lostCcfb.add(this.ringSsrc[i]! * 65536 + this.ringRtpSeq[i]!);
      } else return false;
      this.counters.lostMarked++;
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------- uplink (intercepted) ----

  /**
   * An uplink UDP packet (client -> server) was intercepted. `buf` holds the packet as decoded
   * into `v` (raw IP from NFQUEUE: v.ipOffset = 0). Never throws on traffic.
   */
  onUplink(tUs: number, v: PacketView, buf: Uint8Array): UplinkRtpAction {
    if (v.l4 !== 'udp' || v.isFragment) return UNKNOWN;
    this.lastSeenUs = tUs;
    const t = this.lookup(v);
    if (t === undefined) return UNKNOWN;
    this.table.get(canonicalFlowHash(v), tUs);
    this.lastTransport = t.key;
    const r = this.uplinkRtcp(tUs, t, v, buf);
    this.lastMode = t.mode;
    return r;
  }

  private uplinkRtcp(tUs: number, t: Transport, v: PacketView, buf: Uint8Array): UplinkRtpAction {
    const res = classifyPacket(buf, v, t.state, false, this.cls);
    const cls = res.cls;
    if (cls === 'srtcp') {
      if (!t.state.srtcp || t.mode !== (this.cfg.srtcpFallback === 'delay' ? 'srtcp-delay' : 'passthrough')) {
        t.state.srtcp = true;
        this.updateMode(t, tUs, 'srtcp uplink');
      }
      t.srtcpUplink++;
      this.counters.srtcpUplink++;
      return t.mode === 'srtcp-delay' ? SRTCP : ACCEPT;
    }
    if (cls !== 'rtcp' && cls !== 'rtcp-twcc' && cls !== 'rtcp-ccfb') return ACCEPT;
    if (res.malformed !== undefined || v.capturedPayloadLength < v.payloadLength) {
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    t.tos = v.tos;
    let changed = '';
    if (!t.plaintextRtcp) {
      t.plaintextRtcp = true;
      this.event(t, tUs, 'plaintext-rtcp', 'uplink');
      changed = 'plaintext rtcp uplink';
    }
    if (res.ccfbFeedbacks > 0 && !t.clientUsesCcfb) {
      t.clientUsesCcfb = true;
      changed = 'client sends ccfb';
    } else if (res.twccFeedbacks > 0 && res.ccfbFeedbacks === 0 && t.clientUsesCcfb) {
      t.clientUsesCcfb = false; // the client went back to TWCC
      changed = 'client back to twcc';
    }
    if (changed !== '') this.updateMode(t, tUs, changed);
    const start = v.payloadOffset;
    const end = start + v.payloadLength;
    this.learnSsrcs(t, buf, start, end);

    if (res.twccFeedbacks === 0 && res.ccfbFeedbacks === 0) return ACCEPT;
    // the feedback format zhuge replaces on this transport (CCFB when the client uses it)
    const kind: 'twcc' | 'ccfb' = t.mode === 'ccfb' || (t.mode !== 'twcc' && res.twccFeedbacks === 0) ? 'ccfb' : 'twcc';
    const ours = kind === 'twcc' ? res.twccFeedbacks : res.ccfbFeedbacks;
    if (ours === 0 || !this.isActive(t, tUs)) {
      t.clientFeedbackPassed++;
      this.counters.clientFeedbackPassed[res.twccFeedbacks > 0 ? 'twcc' : 'ccfb']++;
      return ACCEPT;
    }
    const fmt = kind === 'twcc' ? RTPFB_FMT_TWCC : RTPFB_FMT_CCFB;
    const isOurs = (s: RtcpView): boolean => s.packetType === RTCP_PT_RTPFB && s.count === fmt;
    let total = 0;
    try {
      const c = this.cursor.reset(buf, start, end);
      while (c.next()) total++;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    if (ours >= total) {
      t.clientFeedbackDropped++;
      this.counters.clientFeedbackDropped[kind]++;
      return DROP;
    }
    const packet = rewriteWithout(buf, v, isOurs);
    if (packet === undefined) {
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    t.clientFeedbackRewritten++;
    this.counters.clientFeedbackRewritten[kind]++;
    return { action: 'rewrite', packet };
  }

  /** Client sender SSRC and media SSRC: from its TWCC/CCFB first, else from RR/SR. */
  private learnSsrcs(t: Transport, buf: Uint8Array, start: number, end: number): void {
    try {
      const c = this.cursor.reset(buf, start, end);
      while (c.next()) {
        const s = c.view;
        if (s.packetType === RTCP_PT_RTPFB && (s.count === RTPFB_FMT_TWCC || s.count === RTPFB_FMT_CCFB)) {
          if (s.senderSsrc >= 0) {
            t.clientSenderSsrc = s.senderSsrc >>> 0;
            t.clientSsrcLearnt = true;
          }
          if (s.count === RTPFB_FMT_TWCC && s.mediaSsrc >= 0) {
            t.mediaSsrc = s.mediaSsrc >>> 0;
            t.mediaSsrcLearnt = true;
          }
        } else if ((s.packetType === RTCP_PT_RR || s.packetType === RTCP_PT_SR) && !t.clientSsrcLearnt && s.senderSsrc >= 0) {
          t.clientSenderSsrc = s.senderSsrc >>> 0;
          t.clientSsrcLearnt = true;
          if (!t.mediaSsrcLearnt && s.reportCount > 0 && s.reportBlocksOffset >= 0 && s.reportBlocksOffset + 4 <= end) {
            const o = s.reportBlocksOffset;
            t.mediaSsrc = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
          }
        }
      }
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
  }

  // --------------------------------------------------------------------- feedback out ----

  /**
   * Builds the feedback that is due: for each reporting transport whose interval elapsed, its
   * TWCC (or CCFB) packets, each wrapped in a complete IP + UDP packet from the client to the
   * server. Also expires idle transports (once a second). Returns the packets to send, in order.
   */
  poll(tUs: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.lastSeenUs = tUs;
    if (tUs - this.lastExpireUs >= 1_000_000) {
      this.lastExpireUs = tUs;
      this.table.expire(tUs);
    }
    const intervalUs = this.cfg.feedbackIntervalMs * 1000;
    const idleUs = this.cfg.activeWindowMs * 1000;
    for (const t of this.recording) {
      if (tUs - t.lastBuildUs < intervalUs) continue;
      if (t.lastBuildUs > t.lastRecordUs && tUs - t.lastRecordUs > idleUs) {
        this.recording.delete(t); // drained and idle: back in the set when it records again
        continue;
      }
      t.lastBuildUs = tUs;
      const send = this.reporting && t.plaintextRtcp && (t.mode === 'twcc' || t.mode === 'ccfb');
      if (t.twcc !== undefined && t.twcc.pendingCount > 0) {
        const fbs = t.twcc.build(tUs, t.clientSenderSsrc, t.mediaSsrc >= 0 ? t.mediaSsrc : 0);
        if (send && t.mode === 'twcc') {
          for (const fb of fbs) {
            this.applyLostTwcc(t, fb);
            countTwcc(t, fb);
            out.push(this.wrap(t, serializeTwcc(fb)));
            t.feedbackBuilt++;
            this.counters.feedbackBuilt.twcc++;
          }
        } else this.counters.discarded += fbs.length;
        this.lostTooLate(t.lostTwcc);
      }
      if (t.ccfb !== undefined) {
        const reports = t.ccfb.build(tUs, t.clientSenderSsrc);
        if (send && t.mode === 'ccfb') {
          for (const r of reports) {
            this.applyLostCcfb(t, r);
            countCcfb(t, r);
            out.push(this.wrap(t, serializeCcfb(r)));
            t.feedbackBuilt++;
            this.counters.feedbackBuilt.ccfb++;
          }
        } else this.counters.discarded += reports.length;
        this.lostTooLate(t.lostCcfb);
      }
    }
    return out;
  }

  private lostTooLate(marks: Set<number>): void {
    this.counters.lostTooLate += marks.size;
    marks.clear();
  }

  /** Removes marked-lost packets from a built feedback, carrying their deltas to the next received one. */
  private applyLostTwcc(t: Transport, fb: TwccFeedback): void {
    if (t.lostTwcc.size === 0) return;
    let carry = 0;
    const d = fb.deltas;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      if (x === null || x === undefined) continue;
      const seq = (fb.baseSeq + i) & 0xffff;
      if (t.lostTwcc.delete(seq)) {
        carry += x;
        d[i] = null;
      } else if (carry !== 0) {
        const y = x + carry;
        d[i] = y < -0x8000 ? -0x8000 : y > 0x7fff ? 0x7fff : y;
        carry = 0;
      }
    }
  }

  private applyLostCcfb(t: Transport, r: CcfbReport): void {
    if (t.lostCcfb.size === 0) return;
    for (const b of r.streams) {
      for (let i = 0; i < b.metrics.length; i++) {
        const m = b.metrics[i]!;
        if (m.received && t.lostCcfb.delete(b.ssrc * 65536 + ((b.beginSeq + i) & 0xffff))) {
          b.metrics[i] = { received: false, ecn: 0, atoUnits: 0 };
        }
      }
    }
  }

  /** Wraps an RTCP packet in IPv4/IPv6 + UDP from the client's address:port to the server's. */
  private wrap(t: Transport, rtcp: Uint8Array): Uint8Array {
    const k = t.key; // server -> client: src = server, dst = client
    const ipLen = t.isIpv6 ? 40 : 20;
    const udpLen = 8 + rtcp.length;
    const p = new Uint8Array(ipLen + udpLen);
    if (t.isIpv6) {
      const tc = t.tos & 0xff;
      p[0] = 0x60 | (tc >>> 4);
      p[1] = (tc & 0x0f) << 4;
      p[4] = udpLen >>> 8;
      p[5] = udpLen & 0xff;
      p[6] = 17;
      p[7] = 64;
      put32(p, 8, k.dst0);
      put32(p, 12, k.dst1);
      put32(p, 16, k.dst2);
      put32(p, 20, k.dst3);
      put32(p, 24, k.src0);
      put32(p, 28, k.src1);
      put32(p, 32, k.src2);
      put32(p, 36, k.src3);
    } else {
      const total = ipLen + udpLen;
      p[0] = 0x45;
      p[1] = t.tos & 0xff;
      p[2] = total >>> 8;
      p[3] = total & 0xff;
      p[4] = t.ipId >>> 8;
      p[5] = t.ipId & 0xff;
      t.ipId = (t.ipId + 1) & 0xffff;
      p[6] = 0x40; // DF
      p[8] = 64;
      p[9] = 17;
      put32(p, 12, k.dst0);
      put32(p, 16, k.src0);
    }
    const u = ipLen;
    p[u] = k.dstPort >>> 8;
    p[u + 1] = k.dstPort & 0xff;
    p[u + 2] = k.srcPort >>> 8;
    p[u + 3] = k.srcPort & 0xff;
    p[u + 4] = udpLen >>> 8;
    p[u + 5] = udpLen & 0xff;
    p.set(rtcp, u + 8);
    fixIpPacketChecksums(p, 0);
    return p;
  }

  // ------------------------------------------------------------------------ helpers ----

  private lookup(v: PacketView): Transport | undefined {
    const t = this.table.peek(canonicalFlowHash(v));
    return t !== undefined && viewMatchesFlowKey(v, t.key, true) ? t : undefined;
  }

  private isActive(t: Transport, tUs: number): boolean {
    return (
      this.reporting &&
      t.plaintextRtcp &&
      (t.mode === 'twcc' || t.mode === 'ccfb') &&
      tUs - t.lastRecordUs <= this.cfg.activeWindowMs * 1000
    );
  }

  private updateMode(t: Transport, tUs: number, why: string): void {
    let m: RtpTransportMode;
    if (t.state.srtcp) m = this.cfg.srtcpFallback === 'delay' ? 'srtcp-delay' : 'passthrough';
    else if (t.clientUsesCcfb) m = 'ccfb';
    else if (t.state.twccExtId !== 0) m = 'twcc';
    else m = 'passthrough';
    if (m === t.mode) return;
    t.mode = m;
    this.event(t, tUs, 'mode', why);
  }

  /** Records a transport event in its bounded history and hands it to onEvent (cold path). */
  private event(t: Transport, tUs: number, kind: RtpTransportEvent['event'], why: string): void {
    const e: RtpTransportEvent = { tUs, transport: flowKeyToString(t.key), event: kind, mode: t.mode, why };
    if (t.history.length >= MAX_HISTORY) t.history.splice(1, 1); // keep the creation event
    t.history.push(e);
    this.onEvent?.(e);
  }

  private resetScratch(): void {
    const s = this.scratchState;
    if (s.quic || s.rtp || s.srtcp || s.detector !== undefined || s.twccExtId !== 0) this.scratchState = newTransportState();
  }

  status(nowUs: number, maxTransports = 100): RtpFeedbackStatus {
    const list: RtpTransportStatus[] = [];
    for (const [, t, lastSeenUs] of this.table.entries()) {
      if (list.length >= maxTransports) break;
      list.push({
        transport: flowKeyToString(t.key),
        mode: t.mode,
        active: this.isActive(t, nowUs),
        plaintextRtcp: t.plaintextRtcp,
        twccExtId: t.state.twccExtId,
        clientSenderSsrc: t.clientSenderSsrc,
        clientSsrcLearnt: t.clientSsrcLearnt,
        mediaSsrc: t.mediaSsrc,
        mediaSsrcs: [...t.mediaSsrcs],
        rtpPackets: t.rtpPackets,
        recorded: t.recorded,
        reportedReceived: t.reportedReceived,
        reportedLost: t.reportedLost,
        feedbackBuilt: t.feedbackBuilt,
        clientFeedbackDropped: t.clientFeedbackDropped,
        clientFeedbackRewritten: t.clientFeedbackRewritten,
        clientFeedbackPassed: t.clientFeedbackPassed,
        srtcpUplink: t.srtcpUplink,
        idleMs: Math.round((nowUs - lastSeenUs) / 1000),
        lastRecordAgoMs: Number.isFinite(t.lastRecordUs) ? Math.round((nowUs - t.lastRecordUs) / 1000) : -1,
        lastBuildAgoMs: Number.isFinite(t.lastBuildUs) ? Math.round((nowUs - t.lastBuildUs) / 1000) : -1,
        polled: this.recording.has(t),
        pending: t.twcc?.pendingCount ?? 0,
        history: t.history.map((e) => ({ ...e })),
      });
    }
    return { transports: this.table.size, reporting: this.reporting, counters: this.counters, list };
  }
}

function isRtpFamily(c: PacketClass): boolean {
  return c === 'rtp' || c === 'rtp-twcc-seq' || c === 'rtcp' || c === 'rtcp-twcc' || c === 'rtcp-ccfb' || c === 'srtcp';
}

function countTwcc(t: Transport, fb: TwccFeedback): void {
  for (const d of fb.deltas) {
    if (d === null) t.reportedLost++;
    else t.reportedReceived++;
  }
}

function countCcfb(t: Transport, r: CcfbReport): void {
  for (const b of r.streams) {
    for (const m of b.metrics) {
      if (m.received) t.reportedReceived++;
      else t.reportedLost++;
    }
  }
}

function put32(p: Uint8Array, o: number, x: number): void {
  p[o] = (x >>> 24) & 0xff;
  p[o + 1] = (x >>> 16) & 0xff;
  p[o + 2] = (x >>> 8) & 0xff;
  p[o + 3] = x & 0xff;
}

/**
 * A new raw IP packet: the IP header (options / extension headers kept) and UDP header of
 * buf's packet, then its RTCP compound without the sub-packets `drop` selects; IPv4 total length
 * / IPv6 payload length, UDP length and both checksums fixed. undefined when the compound does not
 * rewrite (malformed).
 */
function rewriteWithout(buf: Uint8Array, v: PacketView, drop: (s: RtcpView) => boolean): Uint8Array | undefined {
  const ip = v.ipOffset;
  const hdr = v.payloadOffset - ip; // IP header(s) + UDP header
  const start = v.payloadOffset;
  const end = start + v.payloadLength;
  const out = new Uint8Array(hdr + v.payloadLength);
  out.set(buf.subarray(ip, start), 0);
  let n: number;
  try {
    n = rewriteCompoundWithout(buf, start, end, drop, out, hdr);
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
  const total = hdr + n;
  const udpLen = 8 + n;
  const u = v.l4Offset - ip;
  if (v.l3 === 'ipv6') {
    const pl = total - 40;
    out[4] = pl >>> 8;
    out[5] = pl & 0xff;
  } else {
    out[2] = total >>> 8;
    out[3] = total & 0xff;
  }
  out[u + 4] = udpLen >>> 8;
  out[u + 5] = udpLen & 0xff;
  const pkt = out.subarray(0, total);
  try {
    fixIpPacketChecksums(pkt, 0);
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
  return pkt;
}
