/**
 * Ethernet II framing, with up to two 802.1Q / 802.1ad VLAN tags skipped.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                destination MAC (6 bytes) ...                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  ... dst MAC                  |   source MAC (6 bytes) ...    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       ... source MAC                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | EtherType / TPID (0x8100,     | [VLAN TCI: PCP(3) DEI(1)      |
 *  |   0x88a8, 0x9100 = VLAN tag)  |   VID(12)] ... repeated once  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | inner EtherType (after tags)  |  payload ...                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * EtherType values below 0x0600 are 802.3 lengths (LLC follows): reported with etherType < 0x600,
 * never an error. The frame check sequence is not present in Linux captures.
 */
import { ParseError } from './errors.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERNET_HEADER_LENGTH = 14;
/** Most VLAN tags skipped; a third tag is reported as 'unsupported'. */
export const MAX_VLAN_TAGS = 2;

export interface EthernetView {
  /** EtherType of the payload after VLAN tags (or an 802.3 length when < 0x600). */
  etherType: number;
  /** Offset of the L3 payload in the buffer. */
  payloadOffset: number;
  /** Number of VLAN tags skipped (0..2). */
  vlanCount: number;
  /** VID of the outermost tag, -1 when untagged. */
  vlanId: number;
}

export function newEthernetView(): EthernetView {
  return { etherType: 0, payloadOffset: 0, vlanCount: 0, vlanId: -1 };
}

export function isVlanTpid(etherType: number): boolean {
  return etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD;
}

/**
 * Skips VLAN tags starting at the EtherType field at `typeOffset` (as in Ethernet after the MACs,
 * or after an SLL header whose protocol is a TPID). Writes etherType/payloadOffset/vlanCount/vlanId.
 */
export function skipVlanTags(buf: Uint8Array, typeOffset: number, out: EthernetView, what: string): void {
  const len = buf.length;
  if (typeOffset + 2 > len) throw new ParseError('truncated', what);
  let off = typeOffset;
  let type = (buf[off]! << 8) | buf[off + 1]!;
  let tags = 0;
  let vid = -1;
  while (isVlanTpid(type)) {
    if (tags === MAX_VLAN_TAGS) throw new ParseError('unsupported', what);
    // TPID(2) already read; TCI(2) + next EtherType(2)
    if (off + 6 > len) throw new ParseError('truncated', what);
    if (tags === 0) vid = ((buf[off + 2]! << 8) | buf[off + 3]!) & 0x0fff;
    off += 4;
    type = (buf[off]! << 8) | buf[off + 1]!;
    tags++;
  }
  out.etherType = type;
  out.payloadOffset = off + 2;
  out.vlanCount = tags;
  out.vlanId = vid;
}

/** Parses an Ethernet II header at `offset` (normally 0). */
export function parseEthernet(buf: Uint8Array, offset: number, out: EthernetView): void {
  if (offset < 0 || offset + ETHERNET_HEADER_LENGTH > buf.length) throw new ParseError('truncated', 'ethernet');
  skipVlanTags(buf, offset + 12, out, 'ethernet');
}

/** Cold path: MAC address at `offset` as "aa:bb:cc:dd:ee:ff". */
export function formatMac(buf: Uint8Array, offset: number): string {
  if (offset < 0 || offset + 6 > buf.length) throw new ParseError('truncated', 'mac');
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(buf[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}
