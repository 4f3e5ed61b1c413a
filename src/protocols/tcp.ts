/**
 * TCP header (RFC 9293) with the options walked for SACK (RFC 2018), window scale and timestamps
 * (RFC 7323).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                        Sequence Number                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Acknowledgment Number                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  |       |       |R|E|G|K|H|T|N|N|                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           Checksum            |         Urgent Pointer        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Options: kind(1) [len(1) data]; 0 = end, 1 = NOP, 4 = SACK-  |
 *  |  permitted, 5 = SACK blocks, 3 = window scale, 8 = timestamps |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  window scale (SYN only):  | 3 | 3 | shift |     timestamps:  | 8 | 10 | TSval(4) | TSecr(4) |
 *
 * The whole header (data offset * 4 bytes) must be in the buffer; the payload may be cut by the
 * capture's snap length. The segment length comes from the IP layer.
 */
import { readU32 } from './bytes.js';
import { rewrite16 } from './checksum.js';
import { ParseError } from './errors.js';

export const TCP_MIN_HEADER_LENGTH = 20;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCP_OPT_END = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WSCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMP = 8;

export interface TcpView {
  offset: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes (data offset * 4). */
  headerLength: number;
  /** The 8 flag bits CWR..FIN (TCP_* constants). */
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  /** A SACK option (kind 5) is present. */
  hasSack: boolean;
  /** A SACK-permitted option (kind 4) is present. */
  sackPermitted: boolean;
  /** Offset of the timestamp option's TSval, -1 when absent. */
  timestampOffset: number;
  /** The window-scale option's shift count (kind 3, SYN segments only), -1 when absent. */
  wscale: number;
  payloadOffset: number;
  /** Payload length according to the IP layer. */
  payloadLength: number;
}

export function newTcpView(): TcpView {
  return {
    offset: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    headerLength: 0,
    flags: 0,
    window: 0,
    checksum: 0,
    urgentPointer: 0,
    hasSack: false,
    sackPermitted: false,
    timestampOffset: -1,
    wscale: -1,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Parses a TCP header at `offset`; `segmentLength` is the TCP header + payload length given by
 * the IP layer (it may extend past the buffer in a snap-length-cut capture).
 */
export function parseTcp(buf: Uint8Array, offset: number, segmentLength: number, out: TcpView): void {
  const len = buf.length;
  if (segmentLength < TCP_MIN_HEADER_LENGTH) throw new ParseError('bad-length', 'tcp');
  if (offset < 0 || offset + TCP_MIN_HEADER_LENGTH > len) throw new ParseError('truncated', 'tcp');
  const hl = (buf[offset + 12]! >> 4) * 4;
  if (hl < TCP_MIN_HEADER_LENGTH || hl > segmentLength) throw new ParseError('bad-length', 'tcp');
  if (offset + hl > len) throw new ParseError('truncated', 'tcp');
  out.offset = offset;
  out.srcPort = (buf[offset]! << 8) | buf[offset + 1]!;
  out.dstPort = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  out.seq = readU32(buf, offset + 4);
  out.ack = readU32(buf, offset + 8);
  out.headerLength = hl;
  out.flags = buf[offset + 13]!;
  out.window = (buf[offset + 14]! << 8) | buf[offset + 15]!;
  out.checksum = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  out.urgentPointer = (buf[offset + 18]! << 8) | buf[offset + 19]!;
  out.payloadOffset = offset + hl;
  out.payloadLength = segmentLength - hl;
  let sack = false;
  let sackOk = false;
  let ts = -1;
  let ws = -1;
  const end = offset + hl;
  let o = offset + TCP_MIN_HEADER_LENGTH;
  while (o < end) {
    const kind = buf[o]!;
    if (kind === TCP_OPT_END) break;
    if (kind === TCP_OPT_NOP) {
      o++;
      continue;
    }
    if (o + 2 > end) throw new ParseError('bad-length', 'tcp option');
    const ol = buf[o + 1]!;
    if (ol < 2 || o + ol > end) throw new ParseError('bad-length', 'tcp option');
    if (kind === TCP_OPT_SACK) sack = true;
    else if (kind === TCP_OPT_SACK_PERMITTED) sackOk = true;
    else if (kind === TCP_OPT_TIMESTAMP && ol === 10) ts = o + 2;
    // RFC 7323 2.3: a shift above 14 is used as 14
    else if (kind === TCP_OPT_WSCALE && ol === 3) ws = Math.min(buf[o + 2]!, 14);
    o += ol;
  }
  out.hasSack = sack;
  out.sackPermitted = sackOk;
  out.timestampOffset = ts;
  out.wscale = ws;
}

/** TSval of a timestamp option whose TSval starts at `tsOffset` (TcpView.timestampOffset). */
export function tcpTsVal(buf: Uint8Array, tsOffset: number): number {
  return readU32(buf, tsOffset);
}

/** TSecr of a timestamp option whose TSval starts at `tsOffset` (TcpView.timestampOffset). */
export function tcpTsEcr(buf: Uint8Array, tsOffset: number): number {
  return readU32(buf, tsOffset + 4);
}

/**
 * Replaces the window field of the TCP header at `offset` in place, its checksum updated
 * incrementally (RFC 1624: the rest of the segment is not read, so a capture cut after the
 * header still works). Throws ParseError('truncated') if the header is not in `buf`.
 */
export function setTcpWindow(buf: Uint8Array, offset: number, window: number): void {
  rewrite16(buf, offset + 14, window, offset + 16);
}

/** ACK set, no SYN/FIN/RST, no payload. */
export function isPureAck(flags: number, payloadLength: number): boolean {
  return (flags & TCP_ACK) !== 0 && (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && payloadLength === 0;
}

/** Cold path: flags as e.g. "SYN,ACK". */
export function formatTcpFlags(flags: number): string {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
  const out: string[] = [];
  for (let i = 0; i < 8; i++) if ((flags & (1 << i)) !== 0) out.push(names[i]!);
  return out.join(',');
}
