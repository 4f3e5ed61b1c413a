/**
 * Internet checksum (RFC 1071), IPv4 header checksum, TCP/UDP checksums with the IPv4 (RFC 793 /
 * 768) and IPv6 (RFC 8200 §8.1) pseudo-headers, and incremental update (RFC 1624).
 *
 * IPv4 pseudo-header (12 bytes)          IPv6 pseudo-header (40 bytes)
 *  +--------+--------+--------+--------+  +-----------------------------------+
 *  |          source address           |  |     source address (16 bytes)    |
 *  +--------+--------+--------+--------+  +-----------------------------------+
 *  |       destination address         |  |  destination address (16 bytes)  |
 *  +--------+--------+--------+--------+  +-----------------------------------+
 *  |  zero  |  proto | upper-layer len |  |    upper-layer length (32 bits)   |
 *  +--------+--------+--------+--------+  +--------------------------+--------+
 *                                         |      zero (24 bits)      | next h |
 *                                         +--------------------------+--------+
 *
 * Sums are kept as plain JS numbers of 16-bit words (no overflow below 2^53, i.e. for any packet)
 * and folded at the end. A checksum is the one's complement of the folded sum. UDP: a computed 0
 * is sent as 0xffff; a received 0 over IPv4 means "no checksum" and verifies; over IPv6 it is
 * invalid. The IPv6 pseudo-header uses the destination in the fixed header (a routing header's
 * final destination is not looked up).
 */
import { readU16, writeU16 } from './bytes.js';
import { ParseError } from './errors.js';
import { IPPROTO_TCP, IPPROTO_UDP, newIpv4View, parseIpv4 } from './ipv4.js';
import { newIpv6View, parseIpv6 } from './ipv6.js';

/** Unfolded sum of the 16-bit big-endian words of buf[start, end) (odd tail padded with zero), plus `initial`. */
export function onesSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  if (start < 0 || end > buf.length || start > end) throw new ParseError('truncated', 'checksum range');
  let sum = initial;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += readU16(buf, i);
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** RFC 1071 checksum of buf[start, end): ~fold(sum) & 0xffff. */
export function internetChecksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return ~foldSum(onesSum(buf, start, end, initial)) & 0xffff;
}


function ipv4HeaderLength(buf: Uint8Array, ipOffset: number): number {
  if (ipOffset < 0 || ipOffset + 20 > buf.length) throw new ParseError('truncated', 'ipv4');
  const b0 = buf[ipOffset]!;
  if (b0 >> 4 !== 4) throw new ParseError('bad-version', 'ipv4');
  const hl = (b0 & 15) * 4;
  if (hl < 20) throw new ParseError('bad-length', 'ipv4');
  if (ipOffset + hl > buf.length) throw new ParseError('truncated', 'ipv4');
  return hl;
}

/** IPv4 header checksum computed with the checksum field taken as zero. */
export function ipv4HeaderChecksum(buf: Uint8Array, ipOffset: number): number {
  const hl = ipv4HeaderLength(buf, ipOffset);
  const sum = onesSum(buf, ipOffset, ipOffset + hl) - readU16(buf, ipOffset + 10);
  return ~foldSum(sum) & 0xffff;
}

/** True when the IPv4 header checksum verifies (the header sums to 0xffff). */
export function verifyIpv4HeaderChecksum(buf: Uint8Array, ipOffset: number): boolean {
  const hl = ipv4HeaderLength(buf, ipOffset);
  return foldSum(onesSum(buf, ipOffset, ipOffset + hl)) === 0xffff;
}

/** Recomputes and writes the IPv4 header checksum in place; returns it. */
export function fixIpv4HeaderChecksum(buf: Uint8Array, ipOffset: number): number {
  const c = ipv4HeaderChecksum(buf, ipOffset);
  writeU16(buf, ipOffset + 10, c);
  return c;
}

/** Where a whole IP packet's TCP/UDP checksum lives and what its pseudo-header sums to. */
export interface L4ChecksumInfo {
  protocol: number;
  l4Offset: number;
  l4Length: number;
  checksumOffset: number;
  /** Unfolded pseudo-header sum. */
  pseudoSum: number;
  isIpv6: boolean;
}

const v4 = newIpv4View();
const v6 = newIpv6View();

/**
 * Locates the TCP/UDP header of the whole IP packet at `ipOffset` (IPv4 or IPv6) and sums its
 * pseudo-header. Throws ParseError when the packet is not complete in the buffer, is a fragment,
 * or carries neither TCP nor UDP ('unsupported').
 */
export function l4ChecksumInfo(buf: Uint8Array, ipOffset: number): L4ChecksumInfo {
  if (ipOffset < 0 || ipOffset >= buf.length) throw new ParseError('truncated', 'ip');
  const ver = buf[ipOffset]! >> 4;
  let protocol: number;
  let l4Offset: number;
  let l4Length: number;
  let pseudo: number;
  let isIpv6: boolean;
  if (ver === 4) {
    parseIpv4(buf, ipOffset, v4);
    if (v4.truncated) throw new ParseError('truncated', 'ipv4');
    if (v4.isFragment) throw new ParseError('unsupported', 'ipv4 fragment');
    protocol = v4.protocol;
    l4Offset = v4.payloadOffset;
    l4Length = v4.payloadLength;
    pseudo = onesSum(buf, ipOffset + 12, ipOffset + 20) + protocol + l4Length;
    isIpv6 = false;
  } else if (ver === 6) {
    parseIpv6(buf, ipOffset, v6);
    if (v6.truncated) throw new ParseError('truncated', 'ipv6');
    if (v6.isFragment) throw new ParseError('unsupported', 'ipv6 fragment');
    protocol = v6.protocol;
    l4Offset = v6.l4Offset;
    l4Length = v6.l4Length;
    pseudo = onesSum(buf, ipOffset + 8, ipOffset + 40) + Math.floor(l4Length / 0x10000) + (l4Length & 0xffff) + protocol;
    isIpv6 = true;
  } else {
    throw new ParseError('bad-version', 'ip');
  }
  let checksumOffset: number;
  if (protocol === IPPROTO_TCP) {
    if (l4Length < 20) throw new ParseError('bad-length', 'tcp');
    checksumOffset = l4Offset + 16;
  } else if (protocol === IPPROTO_UDP) {
    if (l4Length < 8) throw new ParseError('bad-length', 'udp');
    checksumOffset = l4Offset + 6;
  } else {
    throw new ParseError('unsupported', 'l4 checksum');
  }
  return { protocol, l4Offset, l4Length, checksumOffset, pseudoSum: pseudo, isIpv6 };
}

/** The TCP/UDP checksum the whole IP packet at `ipOffset` should carry (UDP: 0 sent as 0xffff). */
export function l4Checksum(buf: Uint8Array, ipOffset: number): number {
  const info = l4ChecksumInfo(buf, ipOffset);
  const sum = onesSum(buf, info.l4Offset, info.l4Offset + info.l4Length, info.pseudoSum) - readU16(buf, info.checksumOffset);
  const c = ~foldSum(sum) & 0xffff;
  return info.protocol === IPPROTO_UDP && c === 0 ? 0xffff : c;
}

/** True when the TCP/UDP checksum verifies (UDP over IPv4 with checksum 0 = none = true). */
export function verifyL4Checksum(buf: Uint8Array, ipOffset: number): boolean {
  const info = l4ChecksumInfo(buf, ipOffset);
  if (info.protocol === IPPROTO_UDP && readU16(buf, info.checksumOffset) === 0) return !info.isIpv6;
  return foldSum(onesSum(buf, info.l4Offset, info.l4Offset + info.l4Length, info.pseudoSum)) === 0xffff;
}

/** Recomputes and writes the TCP/UDP checksum of the whole IP packet in place; returns it. */
export function fixL4Checksum(buf: Uint8Array, ipOffset: number): number {
  const c = l4Checksum(buf, ipOffset);
  writeU16(buf, l4ChecksumInfo(buf, ipOffset).checksumOffset, c);
  return c;
}

/** Fixes the IPv4 header checksum (if IPv4) and the TCP/UDP checksum of the whole IP packet. */
export function fixIpPacketChecksums(buf: Uint8Array, ipOffset: number): void {
  if (ipOffset >= 0 && ipOffset < buf.length && buf[ipOffset]! >> 4 === 4) fixIpv4HeaderChecksum(buf, ipOffset);
  fixL4Checksum(buf, ipOffset);
}

/**
 * RFC 1624 eqn. 3: the new checksum after a 16-bit word covered by checksum `hc` changes from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m').
 */
export function incrementalChecksum16(hc: number, oldWord: number, newWord: number): number {
  const sum = (~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** RFC 1624 for a 32-bit field change (two 16-bit words at once). */
export function incrementalChecksum32(hc: number, oldValue: number, newValue: number): number {
  const sum =
    (~hc & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/**
 * Writes `value` into the 16-bit big-endian field at `fieldOffset` and updates the checksum at
 * `checksumOffset` incrementally (RFC 1624). The field must be word-aligned relative to the
 * checksummed data (true for every IP/TCP/UDP header field). With `udp`, a checksum of 0 ("none"
 * over IPv4) is left at 0, and a result of 0 is written as 0xffff.
 */
export function rewrite16(buf: Uint8Array, fieldOffset: number, value: number, checksumOffset: number, udp = false): void {
  if (fieldOffset < 0 || fieldOffset + 2 > buf.length || checksumOffset < 0 || checksumOffset + 2 > buf.length) {
    throw new ParseError('truncated', 'rewrite16');
  }
  const old = readU16(buf, fieldOffset);
  const hc = readU16(buf, checksumOffset);
  writeU16(buf, fieldOffset, value & 0xffff);
  if (udp && hc === 0) return;
  const c = incrementalChecksum16(hc, old, value);
  writeU16(buf, checksumOffset, udp && c === 0 ? 0xffff : c);
}
