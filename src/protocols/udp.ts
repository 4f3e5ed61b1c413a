/**
 * UDP header (RFC 768).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |            Length             |           Checksum            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         payload ...                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Length (header + payload) must be >= 8 and fit in the IP payload; trailing IP payload bytes
 * beyond it are ignored. Length 0 (IPv6 jumbograms, RFC 2675) is 'unsupported'. Checksum 0 means
 * "none" over IPv4 (see checksum.ts).
 */
import { ParseError } from './errors.js';

export const UDP_HEADER_LENGTH = 8;

export interface UdpView {
  offset: number;
  srcPort: number;
  dstPort: number;
  /** Length field (header + payload). */
  length: number;
  checksum: number;
  payloadOffset: number;
  /** length - 8. */
  payloadLength: number;
}

export function newUdpView(): UdpView {
  return { offset: 0, srcPort: 0, dstPort: 0, length: 0, checksum: 0, payloadOffset: 0, payloadLength: 0 };
}

/** Parses a UDP header at `offset`; `ipPayloadLength` is the room the IP layer gives it. */
export function parseUdp(buf: Uint8Array, offset: number, ipPayloadLength: number, out: UdpView): void {
  if (offset < 0 || offset + UDP_HEADER_LENGTH > buf.length) throw new ParseError('truncated', 'udp');
  const length = (buf[offset + 4]! << 8) | buf[offset + 5]!;
  if (length === 0) throw new ParseError('unsupported', 'udp');
  if (length < UDP_HEADER_LENGTH || length > ipPayloadLength) throw new ParseError('bad-length', 'udp');
  out.offset = offset;
  out.srcPort = (buf[offset]! << 8) | buf[offset + 1]!;
  out.dstPort = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  out.length = length;
  out.checksum = (buf[offset + 6]! << 8) | buf[offset + 7]!;
  out.payloadOffset = offset + UDP_HEADER_LENGTH;
  out.payloadLength = length - UDP_HEADER_LENGTH;
}
