/**
 * One RTP transport (UDP 5-tuple server addr:port <-> client addr:port) as the in-band feedback
 * path sees it: its mode, what was learnt about the client, its recorders, pending loss marks,
 * the header of the feedback datagrams sent "from" the client, and its counters.
 *
 * Mode, derived from what was seen (`deriveMode`):
 *   'srtcp-delay'  SRTCP seen in either direction and srtcpFallback = 'delay';
 *   'passthrough'  SRTCP with srtcpFallback = 'off', or no transport-wide extension and no client
 *                  CCFB yet;
 *   'ccfb'         the client sends RFC 8888 feedback;
 *   'twcc'         the transport-wide sequence extension id is known.
 */
import type { RembCap } from '../../feedback-updater/remb-cap.js';
import { SeqJumpGuard } from '../../feedback-updater/seq-jump-guard.js';
import type { CcfbRecorder } from '../../feedback-updater/ccfb-recorder.js';
import type { ReportTiming } from '../../feedback-updater/report-timing.js';
import type { Rng } from '../../feedback-updater/rng.js';
import type { TwccRecorder } from '../../feedback-updater/twcc-recorder.js';
import type { TransportState } from '../../protocols/classify.js';
import { flowKeyFromView, type FlowKey } from '../../protocols/flow-key.js';
import type { PacketView } from '../../protocols/packet.js';
import type { UdpDatagram } from '../../protocols/udp-datagram.js';

export type RtpTransportMode = 'twcc' | 'ccfb' | 'srtcp-delay' | 'passthrough';

/** A change in a transport's state (rare: for status and the daemon's log, never per packet). */
export interface RtpTransportEvent {
  tUs: number;
  transport: string;
  event: 'created' | 'mode' | 'plaintext-rtcp' | 'evicted';
  mode: RtpTransportMode;
  /** what caused it, e.g. 'srtcp uplink', 'extension id 3 detected', 'client ccfb' */
  why: string;
}

/** What a packet waiting in ReportTiming will be recorded under, by its slot. */
export interface TimingSlots {
  transportSeq: Int32Array;
  ssrc: Float64Array;
  rtpSeq: Int32Array;
  ecn: Uint8Array;
  /** the packet's copy in DropRepair (PacketCopies ref, -1: none) */
  copyRef: Int32Array;
  /** the engine's match key of the packet (0: none): a repair copy leaves under the same key */
  matchKey: Int32Array;
}

export function newTimingSlots(capacity: number): TimingSlots {
  return {
    transportSeq: new Int32Array(capacity),
    ssrc: new Float64Array(capacity),
    rtpSeq: new Int32Array(capacity),
    ecn: new Uint8Array(capacity),
    copyRef: new Int32Array(capacity).fill(-1),
    matchKey: new Int32Array(capacity),
  };
}

/** Most media SSRCs listed per transport (status only). */
export const MAX_MEDIA_SSRCS = 16;
/** Most events kept in a transport's history (the creation event stays). */
export const MAX_HISTORY = 16;

export class RtpTransport {
  readonly key: FlowKey; // downlink direction: server -> client
  readonly isIpv6: boolean;
  readonly state: TransportState;
  twcc: TwccRecorder | undefined;
  ccfb: CcfbRecorder | undefined;
  /** reportTiming 'departure': when each packet is reported, and what to record then (by slot) */
  timing: ReportTiming | undefined;
  timingSlots: TimingSlots | undefined;
  /** the canonical flow hash (the queue model's flow under queue.discipline fq) */
  readonly flowHash: number;
  mode: RtpTransportMode = 'passthrough';
  clientUsesCcfb = false;
  plaintextRtcp = false;
  /** an uplink packet of the client on this transport was seen (feedback is sent only then) */
  clientSeen = false;
  clientSenderSsrc: number;
  clientSsrcLearnt = false;
  /** transport-wide numbers a sender can have sent (a forged jump is not recorded) */
  readonly seqGuard = new SeqJumpGuard();
  mediaSsrc = -1;
  mediaSsrcLearnt = false;
  readonly mediaSsrcs: number[] = [];
  lastRecordUs = -Infinity;
  /** reportTiming 'arrival': the time the last recorded packet was reported at */
  lastReportedUs = -Infinity;
  lastBuildUs = -Infinity;
  /**
   * Header of our feedback datagrams: from the client's address:port to the server's, the IPv4 ID
   * (incremented per datagram from a seeded start) and the DSCP/ECN of the client's last RTCP.
   */
  readonly feedbackDatagram: UdpDatagram;
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
  /** flows.rtp.signal remb / both: the rate cap announced to the sender in REMBs (remb-cap.ts) */
  cap: RembCap | undefined;
  /** bytes of RTP that reached the AP since the last build (the cap's arrival rate) */
  arrivedBytes = 0;
  capLastUs = Number.NaN;
  rembSent = 0;
  readonly history: RtpTransportEvent[] = [];

  constructor(v: PacketView, state: TransportState, rng: Rng, flowHash = 0) {
    const k = flowKeyFromView(v);
    this.flowHash = flowHash;
    this.key = k;
    this.isIpv6 = v.l3 === 'ipv6';
    this.state = state;
    this.clientSenderSsrc = Math.floor(rng.next() * 0x100000000) >>> 0;
    const ipId = Math.floor(rng.next() * 0x10000) & 0xffff;
    // the key is server -> client: the feedback goes client -> server
    this.feedbackDatagram = {
      isIpv6: this.isIpv6,
      src0: k.dst0,
      src1: k.dst1,
      src2: k.dst2,
      src3: k.dst3,
      dst0: k.src0,
      dst1: k.src1,
      dst2: k.src2,
      dst3: k.src3,
      srcPort: k.dstPort,
      dstPort: k.srcPort,
      tos: 0,
      ipId,
    };
  }

  /** The mode what was seen calls for (see the file comment). */
  deriveMode(srtcpFallback: 'delay' | 'off'): RtpTransportMode {
    if (this.state.srtcp) return srtcpFallback === 'delay' ? 'srtcp-delay' : 'passthrough';
    if (this.clientUsesCcfb) return 'ccfb';
    if (this.state.twccExtId !== 0) return 'twcc';
    return 'passthrough';
  }

  /** Whether zhuge builds feedback in this mode (TWCC or CCFB). */
  get reportsFeedback(): boolean {
    return this.mode === 'twcc' || this.mode === 'ccfb';
  }

  /** Appends to the bounded history (the creation event is kept, the oldest other one dropped). */
  addEvent(e: RtpTransportEvent): void {
    if (this.history.length >= MAX_HISTORY) this.history.splice(1, 1);
    this.history.push(e);
  }
}
