/**
 * IPv4 header (RFC 791).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |    DSCP   |ECN|          Total Length         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Identification        |0|D|M|      Fragment Offset    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       Source Address                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Destination Address                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Options (IHL > 5) ...                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The whole header must be in the buffer. The Total Length may exceed the buffer (a capture cut by
 * its snap length): that is flagged `truncated`, not an error. Bytes past Total Length (Ethernet
 * padding) are ignored. A fragment with a non-zero offset carries no L4 header.
 */
import { ParseError } from './errors.js';

export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const IPV4_FLAG_DF = 0x2;
export const IPV4_FLAG_MF = 0x1;

export interface Ipv4View {
  /** Offset of the IPv4 header in the buffer. */
  offset: number;
  /** Header length in bytes (IHL * 4). */
  headerLength: number;
  totalLength: number;
  dscp: number;
  ecn: number;
  id: number;
  /** The 3 flag bits (bit 1 = DF, bit 0 = MF). */
  flags: number;
  /** Fragment offset in bytes (the field times 8). */
  fragmentOffset: number;
  /** True for any fragment (MF set or offset non-zero). */
  isFragment: boolean;
  ttl: number;
  protocol: number;
  checksum: number;
  /** Addresses as unsigned 32-bit numbers (network order: 10.0.0.1 = 0x0a000001). */
  src: number;
  dst: number;
  payloadOffset: number;
  /** Payload length according to the header (totalLength - headerLength). */
  payloadLength: number;
  /** True when the buffer holds fewer bytes than totalLength. */
  truncated: boolean;
}

export function newIpv4View(): Ipv4View {
  return {
    offset: 0,
    headerLength: 0,
    totalLength: 0,
    dscp: 0,
    ecn: 0,
    id: 0,
    flags: 0,
    fragmentOffset: 0,
    isFragment: false,
    ttl: 0,
    protocol: 0,
    checksum: 0,
    src: 0,
    dst: 0,
    payloadOffset: 0,
    payloadLength: 0,
    truncated: false,
  };
}

export function parseIpv4(buf: Uint8Array, offset: number, out: Ipv4View): void {
  const len = buf.length;
  if (offset < 0 || offset + IPV4_MIN_HEADER_LENGTH > len) throw new ParseError('truncated', 'ipv4');
  const b0 = buf[offset]!;
  if (b0 >> 4 !== 4) throw new ParseError('bad-version', 'ipv4');
  const hl = (b0 & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER_LENGTH) throw new ParseError('bad-length', 'ipv4');
  if (offset + hl > len) throw new ParseError('truncated', 'ipv4');
  const total = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  if (total < hl) throw new ParseError('bad-length', 'ipv4');
  const ff = (buf[offset + 6]! << 8) | buf[offset + 7]!;
  const flags = ff >> 13;
  const fragOff = (ff & 0x1fff) * 8;
  out.offset = offset;
  out.headerLength = hl;
  out.totalLength = total;
  out.dscp = buf[offset + 1]! >> 2;
  out.ecn = buf[offset + 1]! & 3;
  out.id = (buf[offset + 4]! << 8) | buf[offset + 5]!;
  out.flags = flags;
  out.fragmentOffset = fragOff;
  out.isFragment = fragOff !== 0 || (flags & IPV4_FLAG_MF) !== 0;
  out.ttl = buf[offset + 8]!;
  out.protocol = buf[offset + 9]!;
  out.checksum = (buf[offset + 10]! << 8) | buf[offset + 11]!;
  out.src = ((buf[offset + 12]! << 24) | (buf[offset + 13]! << 16) | (buf[offset + 14]! << 8) | buf[offset + 15]!) >>> 0;
  out.dst = ((buf[offset + 16]! << 24) | (buf[offset + 17]! << 16) | (buf[offset + 18]! << 8) | buf[offset + 19]!) >>> 0;
  out.payloadOffset = offset + hl;
  out.payloadLength = total - hl;
  out.truncated = offset + total > len;
}

/** Cold path: "a.b.c.d" for an address held as an unsigned 32-bit number. */
export function formatIpv4(addr: number): string {
  return `${(addr >>> 24) & 255}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Cold path: parses "a.b.c.d"; returns undefined when it is not a dotted quad. */
export function parseIpv4Address(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v;
}
