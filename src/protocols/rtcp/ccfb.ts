/**
 * RTP Congestion Control Feedback, RFC 8888 (RTCP RTPFB, PT 205, FMT 11 "CCFB"): parse, serialize,
 * and conversions between arrival times and 13-bit arrival time offsets.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P| FMT=11  |   PT = 205    |  length (32-bit words - 1)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 SSRC of RTCP packet sender                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  <- report block, repeated
 *  |                   SSRC of 1st RTP Stream                      |     once per RTP stream
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          begin_seq            |          num_reports          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |R|ECN|  Arrival time offset    | ...  one 16-bit metric block  .
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       per packet from begin_seq
 *  .                               | zero padding to 32 bits if odd|
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 Report Timestamp (32 bits)                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * R: received. ECN: the packet's 2-bit ECN codepoint. ATO: arrival time offset before the report
 * timestamp in 1/1024 s; 0x1FFE = more than 8189/1024 s, 0x1FFF = unavailable or after the report
 * timestamp. Report timestamp: the middle 32 bits of an NTP timestamp (16.16 s). There is no "SSRC
 * of media source" word (unlike other RTPFB messages).
 *
 * num_reports: RFC 8888 as published says both "packets from begin_seq to begin_seq+num_reports
 * inclusive" (count - 1) and "num_reports MAY be 0, indicating that there are no packet metric
 * blocks" (count). Verified errata EID 8166 resolves it as the number of metric blocks (count),
 * which is what libwebrtc (congestion_control_feedback.cc) and pion/rtcp (since PR #187) write. That
 * is the default here; `{ numReportsMinusOne: true }` reads/writes the older count - 1 form (old
 * pion/rtcp, which cannot express an empty block).
 */
import { isUint, readU32OrZero, writeU32 } from '../bytes.js';
import { ParseError } from '../errors.js';
import type { CcfbMetric, CcfbReport, CcfbStreamBlock } from '../feedback-types.js';
import { outputBuffer } from '../out-buffer.js';
import { RTCP_PT_RTPFB, RTPFB_FMT_CCFB, rtpfbContentEnd, writeRtcpHeader } from './header.js';

export const CCFB_FMT = RTPFB_FMT_CCFB;
/** RTCP header (4) + sender SSRC (4) + report timestamp (4). */
export const CCFB_OVERHEAD_BYTES = 12;
/** Per report block: SSRC (4) + begin_seq (2) + num_reports (2). */
export const CCFB_BLOCK_HEADER_BYTES = 8;
/** RFC 8888 3.1: a report block MUST NOT report on more than 16384 packets. */
export const CCFB_MAX_METRICS_PER_BLOCK = 16384;
export const CCFB_ATO_OVER_RANGE = 0x1ffe;
export const CCFB_ATO_UNAVAILABLE = 0x1fff;
/** Largest packet the 16-bit RTCP length field allows. */
export const CCFB_MAX_PACKET_BYTES = 0x10000 * 4;

const WHAT = 'ccfb';

export interface CcfbOptions {
  /** Legacy num_reports = count - 1 (pre-errata 8166 reading). Default false: num_reports = count. */
  numReportsMinusOne?: boolean;
}

export function newCcfbReport(): CcfbReport {
  return { senderSsrc: 0, streams: [], reportTimestampNtp32: 0 };
}

/** Bytes one report block of `metrics` packets takes (32-bit aligned). */
export function ccfbBlockBytes(metrics: number): number {
  return CCFB_BLOCK_HEADER_BYTES + 2 * metrics + (metrics % 2 === 1 ? 2 : 0);
}

/**
 * Parses one RTCP CCFB sub-packet at `offset`; `length` bytes of `buf` are available for it (its own
 * size comes from the length field and must fit). Pass `into` to reuse an object, its arrays and
 * metric objects; it is left partly overwritten if parsing throws. Throws only ParseError.
 */
export function parseCcfb(
  buf: Uint8Array,
  offset: number,
  length: number,
  into?: CcfbReport,
  options: CcfbOptions = {},
): CcfbReport {
  const end = rtpfbContentEnd(buf, offset, length, CCFB_FMT, WHAT, true);
  if (end - offset < CCFB_OVERHEAD_BYTES) throw new ParseError('truncated', WHAT);
  const report = into ?? newCcfbReport();
  report.senderSsrc = readU32OrZero(buf, offset + 4);
  const tsPos = end - 4;
  report.reportTimestampNtp32 = readU32OrZero(buf, tsPos);
  const minusOne = options.numReportsMinusOne === true;

  const streams = report.streams;
  let nStreams = 0;
  let pos = offset + 8;
  while (pos < tsPos) {
    if (pos + CCFB_BLOCK_HEADER_BYTES > tsPos) throw new ParseError('truncated', WHAT);
    const field = ((buf[pos + 6] ?? 0) << 8) | (buf[pos + 7] ?? 0);
    const n = minusOne ? field + 1 : field;
    if (n > CCFB_MAX_METRICS_PER_BLOCK) throw new ParseError('bad-header', WHAT);
    const bytes = ccfbBlockBytes(n);
    if (pos + bytes > tsPos) throw new ParseError('truncated', WHAT);
    if (n % 2 === 1 && ((buf[pos + bytes - 2] ?? 0) !== 0 || (buf[pos + bytes - 1] ?? 0) !== 0)) {
      throw new ParseError('bad-length', WHAT);
    }
    let block = streams[nStreams];
    if (block === undefined) {
      block = { ssrc: 0, beginSeq: 0, metrics: [] };
      streams[nStreams] = block;
    }
    nStreams++;
    block.ssrc = readU32OrZero(buf, pos);
    block.beginSeq = ((buf[pos + 4] ?? 0) << 8) | (buf[pos + 5] ?? 0);
    const metrics = block.metrics;
    if (metrics.length > n) metrics.length = n;
    let m = pos + CCFB_BLOCK_HEADER_BYTES;
    for (let i = 0; i < n; i++, m += 2) {
      const v = ((buf[m] ?? 0) << 8) | (buf[m + 1] ?? 0);
      let metric = metrics[i];
      if (metric === undefined) {
        metric = { received: false, ecn: 0, atoUnits: 0 };
        metrics[i] = metric;
      }
      metric.received = (v & 0x8000) !== 0;
      metric.ecn = (v >> 13) & 3;
      metric.atoUnits = v & 0x1fff;
    }
    pos += bytes;
  }
  streams.length = nStreams;
  return report;
}

function validate(report: CcfbReport, minusOne: boolean): number {
  if (!isUint(report.senderSsrc, 0xffffffff)) throw new RangeError('ccfb: senderSsrc');
  if (!isUint(report.reportTimestampNtp32, 0xffffffff)) throw new RangeError('ccfb: reportTimestampNtp32');
  let size = CCFB_OVERHEAD_BYTES;
  for (const s of report.streams) {
    if (!isUint(s.ssrc, 0xffffffff)) throw new RangeError('ccfb: stream ssrc');
    if (!isUint(s.beginSeq, 0xffff)) throw new RangeError('ccfb: beginSeq');
    const n = s.metrics.length;
    if (n > CCFB_MAX_METRICS_PER_BLOCK) throw new RangeError(`ccfb: ${n} metrics in one block (max 16384)`);
    if (minusOne && n === 0) throw new RangeError('ccfb: an empty block cannot be written with numReportsMinusOne');
    for (const m of s.metrics) {
      if (!isUint(m.ecn, 3) || !isUint(m.atoUnits, 0x1fff)) throw new RangeError('ccfb: metric ecn/atoUnits');
    }
    size += ccfbBlockBytes(n);
  }
  if (size > CCFB_MAX_PACKET_BYTES) throw new RangeError(`ccfb: ${size} bytes exceed the RTCP length field`);
  return size;
}

/** Bytes serializeCcfb() writes for `report`. Throws RangeError on values the wire cannot carry. */
export function ccfbSerializedLength(report: CcfbReport, options: CcfbOptions = {}): number {
  return validate(report, options.numReportsMinusOne === true);
}

/**
 * Serializes `report` (never with RTCP padding: the format is 32-bit aligned by construction).
 * Writes into `out` at `outOffset` when given and returns the written subarray, else a new array.
 * Throws RangeError on invalid values or a too small `out`.
 */
export function serializeCcfb(report: CcfbReport, out?: Uint8Array, outOffset = 0, options: CcfbOptions = {}): Uint8Array {
  const minusOne = options.numReportsMinusOne === true;
  const size = validate(report, minusOne);
  const { buf, offset: o } = outputBuffer('ccfb', size, out, outOffset);
  let pos = writeRtcpHeader(buf, o, false, CCFB_FMT, RTCP_PT_RTPFB, size);
  pos = writeU32(buf, pos, report.senderSsrc);
  for (const s of report.streams) {
    pos = writeU32(buf, pos, s.ssrc);
    buf[pos++] = s.beginSeq >>> 8;
    buf[pos++] = s.beginSeq & 0xff;
    const n = s.metrics.length;
    const field = minusOne ? n - 1 : n;
    buf[pos++] = field >>> 8;
    buf[pos++] = field & 0xff;
    for (const m of s.metrics) {
      const v = (m.received ? 0x8000 : 0) | (m.ecn << 13) | m.atoUnits;
      buf[pos++] = v >>> 8;
      buf[pos++] = v & 0xff;
    }
    if (n % 2 === 1) {
      buf[pos++] = 0;
      buf[pos++] = 0;
    }
  }
  writeU32(buf, pos, report.reportTimestampNtp32);
  return buf.subarray(o, o + size);
}

/**
 * ATO of a packet that arrived at `arrivalUs`, reported at `reportUs` (same clock): the offset in
 * 1/1024 s, rounded to nearest; 0x1FFF when the arrival is unknown (null) or after the report time;
 * 0x1FFE when the offset is more than 8189/1024 s (RFC 8888 3.1). (libwebrtc truncates instead of
 * rounding; either is within the format's resolution.)
 */
export function ccfbAtoUnits(arrivalUs: number | null, reportUs: number): number {
  if (arrivalUs === null || !Number.isFinite(arrivalUs) || !Number.isFinite(reportUs)) return CCFB_ATO_UNAVAILABLE;
  const offsetUs = reportUs - arrivalUs;
  if (offsetUs < 0) return CCFB_ATO_UNAVAILABLE;
  if (offsetUs * 1024 > 8189 * 1_000_000) return CCFB_ATO_OVER_RANGE;
  return Math.min(Math.round((offsetUs * 1024) / 1_000_000), 0x1ffd);
}

/** Arrival time (us, report's clock) an ATO states; null for 0x1FFE / 0x1FFF (no usable time). */
export function ccfbArrivalUs(atoUnits: number, reportUs: number): number | null {
  if (atoUnits >= CCFB_ATO_OVER_RANGE) return null;
  return reportUs - (atoUnits * 1_000_000) / 1024;
}

/** A metric block for one packet: null arrival = not received (R=0, ECN and ATO zero). */
export function ccfbMetric(arrivalUs: number | null, ecn: number, reportUs: number): CcfbMetric {
  if (arrivalUs === null) return { received: false, ecn: 0, atoUnits: 0 };
  return { received: true, ecn: ecn & 3, atoUnits: ccfbAtoUnits(arrivalUs, reportUs) };
}

/**
 * Builds a stream block from arrivals (one per sequence number from `beginSeq`; null = lost), each
 * `{ tUs, ecn }`. At most 16384 entries (RangeError beyond).
 */
export function ccfbStreamBlock(
  ssrc: number,
  beginSeq: number,
  arrivals: ReadonlyArray<{ tUs: number; ecn: number } | null>,
  reportUs: number,
): CcfbStreamBlock {
  if (arrivals.length > CCFB_MAX_METRICS_PER_BLOCK) throw new RangeError('ccfb: more than 16384 packets in a block');
  return {
    ssrc,
    beginSeq,
    metrics: arrivals.map((a) => (a === null ? ccfbMetric(null, 0, reportUs) : ccfbMetric(a.tUs, a.ecn, reportUs))),
  };
}

/**
 * The middle 32 bits of the NTP timestamp for `ntpUs` microseconds since the NTP epoch (or any
 * epoch the receiver uses consistently): seconds mod 65536 in the high 16 bits, 1/65536 s below.
 */
export function ntp32FromUs(ntpUs: number): number {
  const units = Math.floor((ntpUs * 65536) / 1_000_000);
  return ((units % 0x100000000) + 0x100000000) % 0x100000000;
}

/** Microseconds (modulo 65536 s) a compact NTP timestamp stands for. */
export function usFromNtp32(ntp32: number): number {
  return (ntp32 * 1_000_000) / 65536;
}
