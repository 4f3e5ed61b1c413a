/**
 * Linux "cooked" capture headers, as produced by libpcap on the `any` device.
 *
 * SLL v1 (LINKTYPE_LINUX_SLL = 113), 16 bytes:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          packet type          |        ARPHRD type            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  link-layer address length    |  link-layer address (8) ...   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  ... link-layer address ...                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  ... link-layer address       |      protocol (EtherType)     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * SLL v2 (LINKTYPE_LINUX_SLL2 = 276), 20 bytes:
 *
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      protocol (EtherType)     |       reserved (MBZ)          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       interface index                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          ARPHRD type          |  packet type  | ll addr len   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 link-layer address (8 bytes)                  |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Packet type (linux/if_packet.h): 0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing
 * (others exist — loopback 5, user 6, kernel 7 — and are reported as-is). The protocol is an
 * EtherType for Ethernet-like devices; 0x0001/0x0004 mean 802.3/802.2 frames (reported, not an error).
 * If the protocol is a VLAN TPID the tag(s) follow the cooked header and are skipped.
 */
import { ParseError } from './errors.js';
import { isVlanTpid } from './ethernet.js';

export const SLL_HEADER_LENGTH = 16;
export const SLL2_HEADER_LENGTH = 20;

export const SLL_PACKET_HOST = 0;
export const SLL_PACKET_BROADCAST = 1;
export const SLL_PACKET_MULTICAST = 2;
export const SLL_PACKET_OTHERHOST = 3;
export const SLL_PACKET_OUTGOING = 4;

export type SllPacketTypeName = 'host' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing' | 'other';

export interface SllView {
  /** Packet type, 0..4 for host/broadcast/multicast/otherhost/outgoing. */
  packetType: number;
  /** ARPHRD_* of the device (1 = Ethernet). */
  arphrdType: number;
  /** Protocol after VLAN tags (an EtherType for Ethernet-like devices). */
  protocol: number;
  /** Interface index (SLL2 only; 0 for SLL v1). */
  ifIndex: number;
  /** Offset of the link-layer address field and its stated length (capped at 8 by the format). */
  addrOffset: number;
  addrLength: number;
  payloadOffset: number;
  vlanCount: number;
}

export function newSllView(): SllView {
  return { packetType: 0, arphrdType: 0, protocol: 0, ifIndex: 0, addrOffset: 0, addrLength: 0, payloadOffset: 0, vlanCount: 0 };
}

export function sllPacketTypeName(t: number): SllPacketTypeName {
  switch (t) {
    case 0:
      return 'host';
    case 1:
      return 'broadcast';
    case 2:
      return 'multicast';
    case 3:
      return 'otherhost';
    case 4:
      return 'outgoing';
    default:
      return 'other';
  }
}

/**
 * Reads the protocol at `protoOffset`; when it is a VLAN TPID, the tag's TCI and the next
 * EtherType follow the cooked header at `headerEnd` (up to two tags).
 */
function readProtocol(buf: Uint8Array, protoOffset: number, headerEnd: number, out: SllView, what: string): void {
  let type = (buf[protoOffset]! << 8) | buf[protoOffset + 1]!;
  let off = headerEnd;
  let tags = 0;
  while (isVlanTpid(type)) {
    if (tags === 2) throw new ParseError('unsupported', what);
    // TCI(2) + EtherType(2)
    if (off + 4 > buf.length) throw new ParseError('truncated', what);
    type = (buf[off + 2]! << 8) | buf[off + 3]!;
    off += 4;
    tags++;
  }
  out.protocol = type;
  out.vlanCount = tags;
  out.payloadOffset = off;
}

/** Parses an SLL v1 header at `offset`. */
export function parseSll(buf: Uint8Array, offset: number, out: SllView): void {
  if (offset < 0 || offset + SLL_HEADER_LENGTH > buf.length) throw new ParseError('truncated', 'sll');
  out.packetType = (buf[offset]! << 8) | buf[offset + 1]!;
  out.arphrdType = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  out.addrLength = (buf[offset + 4]! << 8) | buf[offset + 5]!;
  out.addrOffset = offset + 6;
  out.ifIndex = 0;
  readProtocol(buf, offset + 14, offset + SLL_HEADER_LENGTH, out, 'sll');
}

/** Parses an SLL v2 header at `offset`. */
export function parseSll2(buf: Uint8Array, offset: number, out: SllView): void {
  if (offset < 0 || offset + SLL2_HEADER_LENGTH > buf.length) throw new ParseError('truncated', 'sll2');
  out.ifIndex = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  out.arphrdType = (buf[offset + 8]! << 8) | buf[offset + 9]!;
  out.packetType = buf[offset + 10]!;
  out.addrLength = buf[offset + 11]!;
  out.addrOffset = offset + 12;
  readProtocol(buf, offset, offset + SLL2_HEADER_LENGTH, out, 'sll2');
}
