/**
 * The transports of the in-band feedback path and their mode machine: a bounded LRU table keyed
 * by the canonical 5-tuple hash (maxTransports, idle expiry), a transport created by the first
 * downlink packet that classifies as RTP / RTCP / SRTCP (classify.ts; QUIC is tested first), its
 * mode re-derived on every change (SRTCP seen, plaintext RTCP seen, extension id detected, the
 * client switching between TWCC and CCFB), the client's SSRCs learnt, and whether zhuge reports
 * for it ("active", see rtp-feedback.ts). Pure: time is passed in.
 */
import { seededRng, type Rng } from '../../feedback-updater/rng.js';
import { readU32 } from '../../protocols/bytes.js';
import { classifyPacket, newClassifyResult, newTransportState, type PacketClass, type TransportState } from '../../protocols/classify.js';
import { ParseError } from '../../protocols/errors.js';
import { canonicalFlowHash, flowKeyToString, viewMatchesFlowKey } from '../../protocols/flow-key.js';
import type { PacketView } from '../../protocols/packet.js';
import { RTCP_PT_RR, RTCP_PT_RTPFB, RTCP_PT_SR, RTPFB_FMT_CCFB, RTPFB_FMT_TWCC, RtcpCompoundCursor } from '../../protocols/rtcp/index.js';
import { FlowTable, type EvictCause } from '../flow-table.js';
import type { RtpFeedbackConfig } from './rtp-feedback-config.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import { MAX_MEDIA_SSRCS, RtpTransport, type RtpTransportEvent } from './rtp-transport.js';

export class RtpTransportTable {
  /** Whether zhuge reports at all (setReporting: off when the daemon stops or cannot send). */
  reporting = true;
  /** The latest time given to any method (for events raised without one, e.g. evictions). */
  lastSeenUs = 0;
  /** Called on each transport event (creation, mode change, eviction): rare, the daemon logs them. */
  onEvent: ((e: RtpTransportEvent) => void) | undefined;
  /** The classification of the last packet given to observeDownlink / classify (reused). */
  readonly cls = newClassifyResult();

  private cfg: Required<RtpFeedbackConfig>;
  private readonly table: FlowTable<number, RtpTransport>;
  private readonly rng: Rng;
  private scratchState: TransportState = newTransportState();
  private readonly cursor = new RtcpCompoundCursor();

  constructor(
    cfg: Required<RtpFeedbackConfig>,
    private readonly counters: RtpFeedbackCounters,
    /** a transport left the table: the other parts forget it */
    private readonly onEvict: (t: RtpTransport) => void,
  ) {
    this.cfg = cfg;
    this.rng = seededRng(cfg.seed);
    this.table = new FlowTable<number, RtpTransport>(
      { maxFlows: cfg.maxTransports, idleTimeoutUs: cfg.idleTimeoutMs * 1000 },
      (_k, t, cause: EvictCause) => {
        this.counters.transportsEvicted++;
        this.event(t, this.lastSeenUs, 'evicted', String(cause));
        this.onEvict(t);
      },
    );
  }

  /** Applies a reloaded configuration; every transport's mode is derived again. */
  reconfigure(cfg: Required<RtpFeedbackConfig>): void {
    this.cfg = cfg;
    this.table.reconfigure({ maxFlows: cfg.maxTransports, idleTimeoutUs: cfg.idleTimeoutMs * 1000 });
    for (const [, t] of this.table.entries()) this.updateMode(t, this.lastSeenUs, 'reconfigured');
  }

  get srtcpFallback(): 'delay' | 'off' {
    return this.cfg.srtcpFallback;
  }

  get size(): number {
    return this.table.size;
  }

  entries(): IterableIterator<[number, RtpTransport, number]> {
    return this.table.entries();
  }

  expire(tUs: number): void {
    this.table.expire(tUs);
  }

  /** The transport of a UDP packet (either direction), without touching its LRU position. */
  lookup(v: PacketView, h = canonicalFlowHash(v)): RtpTransport | undefined {
    const t = this.table.peek(h);
    return t !== undefined && viewMatchesFlowKey(v, t.key, true) ? t : undefined;
  }

  /** Marks the packet's transport as just used (LRU order, idle expiry). */
  touch(v: PacketView, tUs: number, h = canonicalFlowHash(v)): void {
    this.table.get(h, tUs);
  }

  /**
   * A downlink UDP packet (not a fragment): finds or creates its transport and classifies the
   * packet into `cls`; updates the mode on SRTCP / plaintext RTCP. undefined: not an RTP
   * transport's packet (another protocol, or a hash collision). `h`: the packet's canonical flow
   * hash when the caller has it (the engine computes it once per packet).
   */
  observeDownlink(tUs: number, v: PacketView, buf: Uint8Array, h = canonicalFlowHash(v)): RtpTransport | undefined {
    let t = this.table.peek(h);
    let cls: PacketClass;
    if (t !== undefined) {
      if (!viewMatchesFlowKey(v, t.key, true)) {
        this.counters.hashCollisions++;
        return undefined;
      }
      this.table.get(h, tUs);
      cls = classifyPacket(buf, v, t.state, true, this.cls).cls;
    } else {
      const s = this.scratchState;
      if (this.cfg.twccExtensionId !== 'auto') s.twccExtId = this.cfg.twccExtensionId;
      cls = classifyPacket(buf, v, s, true, this.cls).cls;
      if (!isRtpFamily(cls)) {
        this.resetScratch();
        return undefined;
      }
      this.scratchState = newTransportState();
      const created = new RtpTransport(v, s, this.rng, h);
      t = this.table.getOrCreate(h, tUs, () => created);
      this.counters.transportsCreated++;
      this.event(t, tUs, 'created', cls);
    }
    if (cls === 'srtcp') {
      t.state.srtcp = true;
      this.updateMode(t, tUs, 'srtcp downlink');
    } else if (cls === 'rtcp' || cls === 'rtcp-twcc' || cls === 'rtcp-ccfb') {
      if (this.cls.malformed === undefined && !t.plaintextRtcp) {
        t.plaintextRtcp = true;
        this.event(t, tUs, 'plaintext-rtcp', 'downlink');
        this.updateMode(t, tUs, 'plaintext rtcp downlink');
      }
    }
    return t;
  }

  /** Classifies an uplink packet of transport `t` into `cls`. */
  classifyUplink(t: RtpTransport, v: PacketView, buf: Uint8Array): void {
    classifyPacket(buf, v, t.state, false, this.cls);
  }

  /** A downlink RTP packet of media SSRC `ssrc`: listed, the first one used until the client's is learnt. */
  learnMediaSsrc(t: RtpTransport, tUs: number, ssrc: number): void {
    if (t.mediaSsrcs.length < MAX_MEDIA_SSRCS && !t.mediaSsrcs.includes(ssrc)) t.mediaSsrcs.push(ssrc);
    if (t.mediaSsrc < 0) t.mediaSsrc = ssrc;
    if (t.mode === 'passthrough' && t.state.twccExtId !== 0) this.updateMode(t, tUs, `extension id ${t.state.twccExtId}`);
  }

  /** Client sender SSRC and media SSRC from its RTCP compound buf[start, end): from its TWCC/CCFB first, else from RR/SR. */
  learnClientSsrcs(t: RtpTransport, buf: Uint8Array, start: number, end: number): void {
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
            t.mediaSsrc = readU32(buf, s.reportBlocksOffset);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
  }

  /** Zhuge reports for `t` now: reporting on, plaintext RTCP seen, mode twcc/ccfb, a packet recorded within activeWindowMs. */
  /** Whether zhuge's own feedback replaces the client's (flows.rtp.signal 'twcc' or 'both'). */
  get replacesClientFeedback(): boolean {
    return this.cfg.signal !== 'remb';
  }

  isActive(t: RtpTransport, tUs: number): boolean {
    return this.reporting && t.plaintextRtcp && t.reportsFeedback && tUs - t.lastRecordUs <= this.cfg.activeWindowMs * 1000;
  }

  /** Derives the mode again; a change is an event. */
  updateMode(t: RtpTransport, tUs: number, why: string): void {
    const m = t.deriveMode(this.cfg.srtcpFallback);
    if (m === t.mode) return;
    t.mode = m;
    this.event(t, tUs, 'mode', why);
  }

  /** Records a transport event in its bounded history and hands it to onEvent (cold path). */
  event(t: RtpTransport, tUs: number, kind: RtpTransportEvent['event'], why: string): void {
    const e: RtpTransportEvent = { tUs, transport: flowKeyToString(t.key), event: kind, mode: t.mode, why };
    t.addEvent(e);
    this.onEvent?.(e);
  }

  private resetScratch(): void {
    const s = this.scratchState;
    if (s.quic || s.rtp || s.srtcp || s.detector !== undefined || s.twccExtId !== 0) this.scratchState = newTransportState();
  }
}

function isRtpFamily(c: PacketClass): boolean {
  return c === 'rtp' || c === 'rtp-twcc-seq' || c === 'rtcp' || c === 'rtcp-twcc' || c === 'rtcp-ccfb' || c === 'srtcp';
}
