/**
 * Packet classification for operators' captures and the daemon: which class a decoded packet is,
 * with the per-transport state needed to tell QUIC short headers and transport-wide RTP apart.
 *
 *   TCP  ─┬─ pure ACK (ACK, no SYN/FIN/RST, no payload)
 *         ├─ control  (SYN / FIN / RST without payload)
 *         └─ data
 *   UDP  ─┬─ first byte 0..3      STUN            (RFC 7983)
 *         ├─ 20..63              DTLS
 *         ├─ 128..191, PT 192-223 RTCP ─┬─ plaintext: TWCC (RTPFB 15), CCFB (RTPFB 11), other
 *         │                              └─ SRTCP (trailer: E|index + auth tag)
 *         ├─ 128..191, other PT  RTP (with / without the transport-wide sequence number)
 *         ├─ QUIC long header of a known version; short header on a 5-tuple seen with a long one
 *         └─ other
 *   other IP protocols, non-IP      other
 *
 * QUIC is tested before the RFC 7983 ranges: a QUIC long header starts with 0xc0-0xff (demux
 * would call it RTP) and is only accepted with a known version and sane connection IDs, so a
 * real RTP packet (version field = bytes 1-4 of its header) does not pass for QUIC.
 * Pure: the caller owns the per-transport state objects and their lifetime.
 */
import { demuxClass } from './demux.js';
import { ParseError, type MalformedReason } from './errors.js';
import type { PacketView } from './packet.js';
import { looksLikeQuicShort, newQuicHeaderView, parseQuicLongHeader, isKnownQuicVersion } from './quic.js';
import { RtcpCompoundCursor, RTCP_PT_RTPFB, RTPFB_FMT_CCFB, RTPFB_FMT_TWCC } from './rtcp/index.js';
import { newRtpView, parseRtp, parseRtpHeader, readTransportWideSeq } from './rtp.js';
import { classifyRtcpSecurity, newSrtcpView } from './srtcp.js';
import { looksLikeStun } from './stun.js';
import { parseDtlsRecord, newDtlsRecordView } from './dtls.js';
import { TwccExtensionDetector } from './twcc-ext-detect.js';
import { parseTwcc, newTwccFeedback } from './rtcp/index.js';
import { parseCcfb, newCcfbReport } from './rtcp/index.js';

export const PACKET_CLASSES = [
  'tcp-pure-ack',
  'tcp-control',
  'tcp-data',
  'quic-long',
  'quic-short',
  'rtp-twcc-seq',
  'rtp',
  'rtcp-twcc',
  'rtcp-ccfb',
  'rtcp',
  'srtcp',
  'stun',
  'dtls',
  'udp-other',
  'other',
] as const;
export type PacketClass = (typeof PACKET_CLASSES)[number];

/** What one transport (5-tuple, either direction) has shown so far. */
export interface TransportState {
  quic: boolean;
  /** SCID length seen in long headers sent by the canonical-forward side / the other side */
  quicScidLenFwd: number;
  quicScidLenRev: number;
  rtp: boolean;
  /** configured or detected transport-wide extension id; 0 = unknown */
  twccExtId: number;
  detector: TwccExtensionDetector | undefined;
  srtcp: boolean;
}

export function newTransportState(): TransportState {
  return { quic: false, quicScidLenFwd: -1, quicScidLenRev: -1, rtp: false, twccExtId: 0, detector: undefined, srtcp: false };
}

export interface ClassifyResult {
  cls: PacketClass;
  /** number of TWCC / CCFB feedback sub-packets in an RTCP compound */
  twccFeedbacks: number;
  ccfbFeedbacks: number;
  /** transport-wide sequence number of an RTP packet, -1 if none */
  transportSeq: number;
  /** set when a part of the packet was malformed (the class says how far it got) */
  malformed: MalformedReason | undefined;
  malformedWhat: string;
}

export function newClassifyResult(): ClassifyResult {
  return { cls: 'other', twccFeedbacks: 0, ccfbFeedbacks: 0, transportSeq: -1, malformed: undefined, malformedWhat: '' };
}

export interface ClassifyOptions {
  /** check that every TWCC / CCFB feedback parses (cold path: replay) */
  validateFeedback?: boolean;
  /** feed RTP packets to the transport's extension-id detector (default true) */
  detectTwccExtension?: boolean;
}

const rtp = newRtpView();
const srtcp = newSrtcpView();
const quicHdr = newQuicHeaderView();
const dtls = newDtlsRecordView();
const cursor = new RtcpCompoundCursor();
const twccScratch = newTwccFeedback();
const ccfbScratch = newCcfbReport();

/**
 * Classifies a decoded packet. `forward`: the packet travels in the transport's canonical
 * direction (for QUIC connection-ID bookkeeping). Never throws: a malformed part is reported in
 * `out.malformed`.
 */
export function classifyPacket(
  buf: Uint8Array,
  v: PacketView,
  state: TransportState | undefined,
  forward: boolean,
  out: ClassifyResult,
  opts: ClassifyOptions = {},
): ClassifyResult {
  out.twccFeedbacks = 0;
  out.ccfbFeedbacks = 0;
  out.transportSeq = -1;
  out.malformed = undefined;
  out.malformedWhat = '';
  if (v.l4 === 'tcp') {
    const ctl = (v.tcpFlags & 0x07) !== 0; // FIN | SYN | RST
    out.cls = v.payloadLength > 0 ? 'tcp-data' : ctl ? 'tcp-control' : (v.tcpFlags & 0x10) !== 0 ? 'tcp-pure-ack' : 'tcp-control';
    return out;
  }
  if (v.l4 !== 'udp') {
    out.cls = 'other';
    return out;
  }
  const start = v.payloadOffset;
  const end = start + v.capturedPayloadLength;
  if (end <= start) {
    out.cls = 'udp-other';
    return out;
  }
  try {
    return classifyUdp(buf, start, end, v.capturedPayloadLength < v.payloadLength, state, forward, out, opts);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.malformed = err.reason;
    out.malformedWhat = err.what;
    return out;
  }
}

function classifyUdp(
  buf: Uint8Array,
  start: number,
  end: number,
  /** the capture's snap length cut the datagram: only headers can be checked */
  cut: boolean,
  state: TransportState | undefined,
  forward: boolean,
  out: ClassifyResult,
  opts: ClassifyOptions,
): ClassifyResult {
  const b0 = buf[start]!;
  // QUIC long header (known version only)
  if ((b0 & 0x80) !== 0 && end - start >= 7) {
    const version = ((buf[start + 1]! << 24) | (buf[start + 2]! << 16) | (buf[start + 3]! << 8) | buf[start + 4]!) >>> 0;
    if (isKnownQuicVersion(version) || (version === 0 && state?.quic === true)) {
      out.cls = 'quic-long';
      parseQuicLongHeader(buf, start, end, quicHdr);
      if (state !== undefined) {
        state.quic = true;
        if (quicHdr.scidLength >= 0) {
          if (forward) state.quicScidLenFwd = quicHdr.scidLength;
          else state.quicScidLenRev = quicHdr.scidLength;
        }
      }
      return out;
    }
  }
  if (state?.quic === true && (b0 & 0x80) === 0) {
    // a short header's DCID is the connection ID the peer chose: the other side's SCID
    const dcidLen = forward ? state.quicScidLenRev : state.quicScidLenFwd;
    if (looksLikeQuicShort(buf, dcidLen >= 0 ? dcidLen : 8, start, end)) {
      out.cls = 'quic-short';
      return out;
    }
  }
  switch (demuxClass(buf, start, end)) {
    case 'stun':
      out.cls = looksLikeStun(buf, start, end) ? 'stun' : 'udp-other';
      return out;
    case 'dtls':
      // a cut datagram holds the first record header at most: check only what is there
      if (!cut) parseDtlsRecord(buf, start, end, dtls);
      out.cls = 'dtls';
      return out;
    case 'rtcp':
      return classifyRtcp(buf, start, end, state, out, opts);
    case 'rtp': {
      // the padding count is the datagram's last byte: not in a cut capture
      if (cut) parseRtpHeader(buf, start, end, rtp);
      else parseRtp(buf, start, end, rtp);
      if (state !== undefined) {
        state.rtp = true;
        if (opts.detectTwccExtension !== false && state.twccExtId === 0) {
          state.detector ??= new TwccExtensionDetector();
          state.detector.observe(buf, rtp);
          const r = state.detector.result();
          if (r !== null) state.twccExtId = r.extId;
        }
        if (state.twccExtId !== 0) out.transportSeq = readTransportWideSeq(buf, rtp, state.twccExtId);
      }
      out.cls = out.transportSeq >= 0 ? 'rtp-twcc-seq' : 'rtp';
      return out;
    }
    default:
      out.cls = 'udp-other';
      return out;
  }
}

function classifyRtcp(
  buf: Uint8Array,
  start: number,
  end: number,
  state: TransportState | undefined,
  out: ClassifyResult,
  opts: ClassifyOptions,
): ClassifyResult {
  const sec = classifyRtcpSecurity(buf, start, end, srtcp);
  if (sec === 'srtcp') {
    if (state !== undefined) state.srtcp = true;
    out.cls = 'srtcp';
    return out;
  }
  if (sec === 'malformed') {
    out.cls = 'rtcp';
    throw new ParseError('bad-length', 'rtcp');
  }
  out.cls = 'rtcp';
  const c = cursor.reset(buf, start, end);
  while (c.next()) {
    const s = c.view;
    if (s.packetType !== RTCP_PT_RTPFB) continue;
    if (s.count === RTPFB_FMT_TWCC) {
      out.twccFeedbacks++;
      if (opts.validateFeedback === true) parseTwcc(buf, s.offset, s.byteLength, twccScratch);
    } else if (s.count === RTPFB_FMT_CCFB) {
      out.ccfbFeedbacks++;
      if (opts.validateFeedback === true) parseCcfb(buf, s.offset, s.byteLength, ccfbScratch);
    }
  }
  if (out.twccFeedbacks > 0) out.cls = 'rtcp-twcc';
  else if (out.ccfbFeedbacks > 0) out.cls = 'rtcp-ccfb';
  return out;
}
