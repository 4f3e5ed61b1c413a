/**
 * The one allocation-free decoder of the hot path: link layer -> IPv4/IPv6 -> TCP/UDP, into a
 * caller-owned reusable PacketView.
 *
 *  link ('ethernet' | 'sll' | 'sll2' | 'raw-ip')
 *  +-------------------+------------------------+------------------+---------------------+
 *  | Ethernet [+VLANs] |  IPv4 header / IPv6    |  TCP or UDP      |  payload ...        |
 *  | or SLL / SLL2     |  header [+ ext headers]|  header          |  (maybe cut by snap)|
 *  +-------------------+------------------------+------------------+---------------------+
 *  ^0                  ^ipOffset                ^l4Offset          ^payloadOffset
 *
 * Rules: every header up to and including the L4 header must be in the buffer (else ParseError
 * 'truncated'); a buffer shorter than the IP total length (snap length) sets `truncated` and
 * `capturedPayloadLength` < `payloadLength`; an unknown EtherType gives l3 'other'; an unknown IP
 * protocol gives l4 'other' (payload = the IP payload); a non-first fragment gives l4 'fragment'
 * (payload = the fragment data). The first fragment of a fragmented datagram is decoded like any
 * packet (its L4 header is there) but `isFragment` is set. Only ParseError is ever thrown.
 *
 * Addresses: the layout of address-pair.ts (IPv4: src0/dst0 hold the addresses, words 1..3 are 0).
 */
import { copyAddressPair, setIpv4AddressPair, type AddressPair } from './address-pair.js';
import { ParseError } from './errors.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, newEthernetView, parseEthernet } from './ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP, newIpv4View, parseIpv4 } from './ipv4.js';
import { newIpv6View, parseIpv6 } from './ipv6.js';
import { newSllView, parseSll, parseSll2 } from './sll.js';
import { newTcpView, parseTcp } from './tcp.js';
import { newUdpView, parseUdp } from './udp.js';

export type LinkType = 'ethernet' | 'sll' | 'sll2' | 'raw-ip';
export type L3Kind = 'ipv4' | 'ipv6' | 'other';
export type L4Kind = 'tcp' | 'udp' | 'other' | 'fragment';

export const DLT_EN10MB = 1;
export const DLT_RAW = 101; // LINKTYPE_RAW
export const DLT_LINUX_SLL = 113;
export const DLT_IPV4 = 228;
export const DLT_IPV6 = 229;
export const DLT_LINUX_SLL2 = 276;

/** Maps a pcap LINKTYPE/DLT number to the decoder's link type; undefined when not supported. */
export function linkTypeFromDlt(dlt: number): LinkType | undefined {
  switch (dlt) {
    case DLT_EN10MB:
      return 'ethernet';
    case DLT_LINUX_SLL:
      return 'sll';
    case DLT_LINUX_SLL2:
      return 'sll2';
    case DLT_RAW:
    case 12: // DLT_RAW on most BSD-derived libpcaps
    case 14: // DLT_RAW on OpenBSD
    case DLT_IPV4:
    case DLT_IPV6:
      return 'raw-ip';
    default:
      return undefined;
  }
}

/** The pcap LINKTYPE number to write for a link type. */
export function dltFromLinkType(t: LinkType): number {
  switch (t) {
    case 'ethernet':
      return DLT_EN10MB;
    case 'sll':
      return DLT_LINUX_SLL;
    case 'sll2':
      return DLT_LINUX_SLL2;
    case 'raw-ip':
      return DLT_RAW;
  }
}

export interface PacketView extends AddressPair {
  /** Bytes in the buffer (captured length). */
  capLength: number;
  /** SLL packet type (0 host .. 4 outgoing) when the link is SLL/SLL2, else -1. */
  sllPacketType: number;
  /** SLL2 interface index, else 0. */
  sllIfIndex: number;
  /** EtherType / SLL protocol after VLAN tags; 0x0800 / 0x86dd synthesized for raw IP. */
  etherType: number;
  vlanCount: number;
  l3: L3Kind;
  ipOffset: number;
  /** IPv4 header length, or 40 + extension headers for IPv6 (= l4Offset - ipOffset). */
  ipHeaderLength: number;
  /** IPv4 Total Length, or 40 + Payload Length for IPv6 (from the header, not the buffer). */
  ipTotalLength: number;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  /** TTL / hop limit. */
  ttl: number;
  /** IPv4 Identification; IPv6 fragment Identification (0 when not a fragment). */
  ipId: number;
  /** IPv4 DSCP<<2|ECN, IPv6 traffic class. */
  tos: number;
  /** Any fragment (first or not). */
  isFragment: boolean;
  /** Fragment offset in bytes. */
  fragmentOffset: number;
  l4: L4Kind;
  l4Offset: number;
  srcPort: number;
  dstPort: number;
  /** TCP or UDP checksum field. */
  l4Checksum: number;
  tcpSeq: number;
  tcpAck: number;
  tcpFlags: number;
  tcpWindow: number;
  tcpHeaderLength: number;
  tcpHasSack: boolean;
  tcpSackPermitted: boolean;
  /** Offset of the TCP timestamp option's TSval in the buffer, -1 when absent. */
  tcpTsOffset: number;
  /** The TCP window-scale option's shift count (SYN segments), -1 when absent. */
  tcpWscale: number;
  udpLength: number;
  payloadOffset: number;
  /** Payload length according to the headers. */
  payloadLength: number;
  /** Payload bytes actually in the buffer (<= payloadLength). */
  capturedPayloadLength: number;
  /** The buffer holds fewer bytes than the IP total length (snap length). */
  truncated: boolean;
}

export function newPacketView(): PacketView {
  const v: PacketView = {
    capLength: 0,
    sllPacketType: -1,
    sllIfIndex: 0,
    etherType: 0,
    vlanCount: 0,
    l3: 'other',
    ipOffset: 0,
    ipHeaderLength: 0,
    ipTotalLength: 0,
    protocol: 0,
    ttl: 0,
    ipId: 0,
    tos: 0,
    isFragment: false,
    fragmentOffset: 0,
    src0: 0,
    src1: 0,
    src2: 0,
    src3: 0,
    dst0: 0,
    dst1: 0,
    dst2: 0,
    dst3: 0,
    l4: 'other',
    l4Offset: 0,
    srcPort: 0,
    dstPort: 0,
    l4Checksum: 0,
    tcpSeq: 0,
    tcpAck: 0,
    tcpFlags: 0,
    tcpWindow: 0,
    tcpHeaderLength: 0,
    tcpHasSack: false,
    tcpSackPermitted: false,
    tcpTsOffset: -1,
    tcpWscale: -1,
    udpLength: 0,
    payloadOffset: 0,
    payloadLength: 0,
    capturedPayloadLength: 0,
    truncated: false,
  };
  return v;
}

// scratch views: the decoder is synchronous, so one set per module is enough
const eth = newEthernetView();
const sll = newSllView();
const ip4 = newIpv4View();
const ip6 = newIpv6View();
const tcp = newTcpView();
const udp = newUdpView();

function resetL4(out: PacketView): void {
  out.srcPort = 0;
  out.dstPort = 0;
  out.l4Checksum = 0;
  out.tcpSeq = 0;
  out.tcpAck = 0;
  out.tcpFlags = 0;
  out.tcpWindow = 0;
  out.tcpHeaderLength = 0;
  out.tcpHasSack = false;
  out.tcpSackPermitted = false;
  out.tcpTsOffset = -1;
  out.tcpWscale = -1;
  out.udpLength = 0;
}

function setPayload(out: PacketView, offset: number, length: number, capLength: number): void {
  out.payloadOffset = offset;
  out.payloadLength = length;
  const avail = capLength - offset;
  out.capturedPayloadLength = avail <= 0 ? 0 : avail < length ? avail : length;
}

/** Decodes `buf` (one captured frame / one raw IP packet) into `out`. Throws only ParseError. */
export function decodePacket(buf: Uint8Array, linkType: LinkType, out: PacketView): void {
  const cap = buf.length;
  out.capLength = cap;
  out.sllPacketType = -1;
  out.sllIfIndex = 0;
  out.vlanCount = 0;
  let l3Offset: number;
  let etherType: number;
  switch (linkType) {
    case 'ethernet':
      parseEthernet(buf, 0, eth);
      l3Offset = eth.payloadOffset;
      etherType = eth.etherType;
      out.vlanCount = eth.vlanCount;
      break;
    case 'sll':
    case 'sll2':
      if (linkType === 'sll') parseSll(buf, 0, sll);
      else parseSll2(buf, 0, sll);
      l3Offset = sll.payloadOffset;
      etherType = sll.protocol;
      out.sllPacketType = sll.packetType;
      out.sllIfIndex = sll.ifIndex;
      out.vlanCount = sll.vlanCount;
      break;
    case 'raw-ip': {
      if (cap < 1) throw new ParseError('truncated', 'raw ip');
      const ver = buf[0]! >> 4;
      if (ver === 4) etherType = ETHERTYPE_IPV4;
      else if (ver === 6) etherType = ETHERTYPE_IPV6;
      else throw new ParseError('bad-version', 'raw ip');
      l3Offset = 0;
      break;
    }
    default:
      throw new ParseError('unsupported', 'link type');
  }
  out.etherType = etherType;
  out.ipOffset = l3Offset;
  resetL4(out);

  let l4Offset: number;
  let l4Length: number;
  let nonFirstFragment: boolean;
  if (etherType === ETHERTYPE_IPV4) {
    parseIpv4(buf, l3Offset, ip4);
    out.l3 = 'ipv4';
    out.ipHeaderLength = ip4.headerLength;
    out.ipTotalLength = ip4.totalLength;
    out.protocol = ip4.protocol;
    out.ttl = ip4.ttl;
    out.ipId = ip4.id;
    out.tos = (ip4.dscp << 2) | ip4.ecn;
    out.isFragment = ip4.isFragment;
    out.fragmentOffset = ip4.fragmentOffset;
    setIpv4AddressPair(out, ip4.src, ip4.dst);
    out.truncated = ip4.truncated;
    l4Offset = ip4.payloadOffset;
    l4Length = ip4.payloadLength;
    nonFirstFragment = ip4.fragmentOffset !== 0;
  } else if (etherType === ETHERTYPE_IPV6) {
    parseIpv6(buf, l3Offset, ip6);
    out.l3 = 'ipv6';
    out.ipHeaderLength = ip6.l4Offset - l3Offset;
    out.ipTotalLength = ip6.totalLength;
    out.protocol = ip6.protocol;
    out.ttl = ip6.hopLimit;
    out.ipId = ip6.fragmentId;
    out.tos = ip6.trafficClass;
    out.isFragment = ip6.isFragment;
    out.fragmentOffset = ip6.fragmentOffset;
    copyAddressPair(ip6, out);
    out.truncated = ip6.truncated;
    l4Offset = ip6.l4Offset;
    l4Length = ip6.l4Length;
    nonFirstFragment = ip6.fragmentOffset !== 0;
  } else {
    out.l3 = 'other';
    out.ipHeaderLength = 0;
    out.ipTotalLength = 0;
    out.protocol = 0;
    out.ttl = 0;
    out.ipId = 0;
    out.tos = 0;
    out.isFragment = false;
    out.fragmentOffset = 0;
    setIpv4AddressPair(out, 0, 0);
    out.truncated = false;
    out.l4 = 'other';
    out.l4Offset = l3Offset;
    setPayload(out, l3Offset, cap > l3Offset ? cap - l3Offset : 0, cap);
    return;
  }

  out.l4Offset = l4Offset;
  if (nonFirstFragment) {
    out.l4 = 'fragment';
    setPayload(out, l4Offset, l4Length, cap);
    return;
  }
  const proto = out.protocol;
  if (proto === IPPROTO_TCP) {
    parseTcp(buf, l4Offset, l4Length, tcp);
    out.l4 = 'tcp';
    out.srcPort = tcp.srcPort;
    out.dstPort = tcp.dstPort;
    out.l4Checksum = tcp.checksum;
    out.tcpSeq = tcp.seq;
    out.tcpAck = tcp.ack;
    out.tcpFlags = tcp.flags;
    out.tcpWindow = tcp.window;
    out.tcpHeaderLength = tcp.headerLength;
    out.tcpHasSack = tcp.hasSack;
    out.tcpSackPermitted = tcp.sackPermitted;
    out.tcpTsOffset = tcp.timestampOffset;
    out.tcpWscale = tcp.wscale;
    setPayload(out, tcp.payloadOffset, tcp.payloadLength, cap);
  } else if (proto === IPPROTO_UDP) {
    // a first fragment's UDP length covers the whole datagram, not just this fragment
    if (l4Length < 8) throw new ParseError('bad-length', 'udp');
    parseUdp(buf, l4Offset, out.isFragment ? 0xffff : l4Length, udp);
    out.l4 = 'udp';
    out.srcPort = udp.srcPort;
    out.dstPort = udp.dstPort;
    out.l4Checksum = udp.checksum;
    out.udpLength = udp.length;
    const inThisPacket = l4Length - 8;
    setPayload(out, udp.payloadOffset, udp.payloadLength < inThisPacket ? udp.payloadLength : inThisPacket, cap);
  } else {
    out.l4 = 'other';
    setPayload(out, l4Offset, l4Length, cap);
  }
}
