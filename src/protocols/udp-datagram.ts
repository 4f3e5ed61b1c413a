/**
 * A whole IP datagram around a UDP payload, as a raw socket sends it: IPv4 or IPv6 header, UDP
 * header, lengths and checksums. The codec only builds bytes; who sends what, and with which
 * identification, is the caller's policy.
 *
 * IPv4 (20 bytes, no options)                       IPv6 (40 bytes, no extension headers)
 *  +----+----+---------+----------------+            +----+--------+---------------------+
 *  |0x45|tos | total length             |            |0x6 | class  |  flow label 0       |
 *  +----+----+---------+----------------+            +----+--------+------+------+-------+
 *  | identification    |0x40 (DF) | 0   |            | payload length      | 17   | 64    |
 *  +---------+---------+----------------+            +---------------------+------+-------+
 *  | TTL 64  | 17      | header checksum|            |  source address (16 bytes)         |
 *  +---------+---------+----------------+            +------------------------------------+
 *  |          source address            |            |  destination address (16 bytes)    |
 *  +------------------------------------+            +------------------------------------+
 *  |        destination address         |
 *  +------------------------------------+
 *  then UDP: source port | destination port | length | checksum (pseudo-header included)
 *
 * `finishUdpDatagram` sets the lengths and checksums of a datagram whose payload changed size
 * (it keeps any IPv4 options or IPv6 extension headers in front of the UDP header).
 */
import { writeU16, writeU32 } from './bytes.js';
import { fixIpPacketChecksums } from './checksum.js';
import type { AddressPair } from './address-pair.js';
import { IPPROTO_UDP } from './ipv4.js';
import { IPV6_HEADER_LENGTH } from './ipv6.js';
import { UDP_HEADER_LENGTH } from './udp.js';

/** IPv4 TTL / IPv6 hop limit of a built datagram. */
export const UDP_DATAGRAM_TTL = 64;

/** The header fields of a datagram to build (addresses as in a FlowKey: IPv4 in word 0). */
export interface UdpDatagram extends AddressPair {
  isIpv6: boolean;
  srcPort: number;
  dstPort: number;
  /** IPv4 TOS / IPv6 traffic class byte (DSCP and ECN) */
  tos: number;
  /** IPv4 identification (unused for IPv6) */
  ipId: number;
}

export function newUdpDatagram(): UdpDatagram {
  return { isIpv6: false, src0: 0, src1: 0, src2: 0, src3: 0, dst0: 0, dst1: 0, dst2: 0, dst3: 0, srcPort: 0, dstPort: 0, tos: 0, ipId: 0 };
}

const IPV4_HEADER_LENGTH = 20;

/** A new datagram: IP header (DF set on IPv4, TTL / hop limit 64), UDP header, `payload`, checksums. */
export function buildUdpDatagram(d: UdpDatagram, payload: Uint8Array): Uint8Array {
  const ipLen = d.isIpv6 ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH;
  const p = new Uint8Array(ipLen + UDP_HEADER_LENGTH + payload.length);
  if (d.isIpv6) {
    const tc = d.tos & 0xff;
    p[0] = 0x60 | (tc >>> 4);
    p[1] = (tc & 0x0f) << 4;
    p[6] = IPPROTO_UDP;
    p[7] = UDP_DATAGRAM_TTL;
    writeU32(p, 8, d.src0);
    writeU32(p, 12, d.src1);
    writeU32(p, 16, d.src2);
    writeU32(p, 20, d.src3);
    writeU32(p, 24, d.dst0);
    writeU32(p, 28, d.dst1);
    writeU32(p, 32, d.dst2);
    writeU32(p, 36, d.dst3);
  } else {
    p[0] = 0x45;
    p[1] = d.tos & 0xff;
    writeU16(p, 4, d.ipId);
    p[6] = 0x40; // DF
    p[8] = UDP_DATAGRAM_TTL;
    p[9] = IPPROTO_UDP;
    writeU32(p, 12, d.src0);
    writeU32(p, 16, d.dst0);
  }
  writeU16(p, ipLen, d.srcPort);
  writeU16(p, ipLen + 2, d.dstPort);
  p.set(payload, ipLen + UDP_HEADER_LENGTH);
  finishUdpDatagram(p, ipLen);
  return p;
}

/**
 * Sets the IPv4 total length / IPv6 payload length and the UDP length of the whole datagram in
 * `pkt` (IP header at 0, UDP header at `udpOffset`, payload up to the end of `pkt`), then the IPv4
 * header and UDP checksums. Throws ParseError when the packet does not parse as IP + UDP.
 */
export function finishUdpDatagram(pkt: Uint8Array, udpOffset: number): void {
  const total = pkt.length;
  if (pkt[0]! >> 4 === 6) writeU16(pkt, 4, total - IPV6_HEADER_LENGTH);
  else writeU16(pkt, 2, total);
  writeU16(pkt, udpOffset + 4, total - udpOffset);
  fixIpPacketChecksums(pkt, 0);
}
