/**
 * RTCP report block (RFC 3550 §6.4.1), RC of them follow the sender info of an SR (PT 200) or
 * the sender SSRC of an RR (PT 201):
 *
 *  report block (24 bytes):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 SSRC of source being reported                 |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | fraction lost |   cumulative number of packets lost (s24)     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       extended highest sequence number received               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  interarrival jitter  |  last SR (LSR)  |  delay since last SR |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { readU32 } from '../bytes.js';
import { ParseError } from '../errors.js';
import { REPORT_BLOCK_LENGTH, type RtcpView } from './header.js';

export interface ReportBlockView {
  ssrc: number;
  fractionLost: number;
  /** Signed 24-bit cumulative number of packets lost. */
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export function newReportBlockView(): ReportBlockView {
  return { ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 };
}

/** Reads report block `i` of a parsed SR/RR. */
export function readReportBlock(buf: Uint8Array, view: RtcpView, i: number, out: ReportBlockView): void {
  if (view.reportBlocksOffset < 0 || i < 0 || i >= view.reportCount) throw new ParseError('bad-header', 'rtcp-report-block');
  const o = view.reportBlocksOffset + i * REPORT_BLOCK_LENGTH;
  if (o + REPORT_BLOCK_LENGTH > buf.length) throw new ParseError('truncated', 'rtcp-report-block');
  out.ssrc = readU32(buf, o);
  out.fractionLost = buf[o + 4]!;
  out.cumulativeLost = ((buf[o + 5]! << 24) | (buf[o + 6]! << 16) | (buf[o + 7]! << 8)) >> 8;
  out.extendedHighestSeq = readU32(buf, o + 8);
  out.jitter = readU32(buf, o + 12);
  out.lastSr = readU32(buf, o + 16);
  out.delaySinceLastSr = readU32(buf, o + 20);
}
