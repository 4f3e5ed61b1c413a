/**
 * STUN message header (RFC 8489 §5), as used by ICE on a WebRTC 5-tuple.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0 0|     STUN Message Type     |         Message Length        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                   Magic Cookie (0x2112A442)                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                Transaction ID (96 bits) ...                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  attributes (Message Length bytes, 4-byte aligned TLVs)       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Message type bits: M11..M7 C1 M6..M4 C0 M3..M0 (class C1C0: 0 request, 1 indication,
 * 2 success response, 3 error response; method 0x001 = Binding).
 */
import { ParseError } from './errors.js';

export const STUN_HEADER_LENGTH = 20;
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_METHOD_BINDING = 0x001;

export type StunClass = 'request' | 'indication' | 'success' | 'error';
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

export interface StunView {
  offset: number;
  /** 14-bit message type. */
  messageType: number;
  method: number;
  messageClass: StunClass;
  /** Attribute bytes after the header. */
  length: number;
  /** Offset of the 12-byte transaction id. */
  transactionIdOffset: number;
  attributesOffset: number;
}

export function newStunView(): StunView {
  return { offset: 0, messageType: 0, method: 0, messageClass: 'request', length: 0, transactionIdOffset: 0, attributesOffset: 0 };
}

/** Validates and parses a STUN header; the message must fit in buf[offset, end). */
export function parseStun(buf: Uint8Array, offset: number, end: number, out: StunView): void {
  if (end > buf.length || offset < 0 || offset + STUN_HEADER_LENGTH > end) throw new ParseError('truncated', 'stun');
  const b0 = buf[offset]!;
  if (b0 & 0xc0) throw new ParseError('bad-header', 'stun');
  const type = (b0 << 8) | buf[offset + 1]!;
  const len = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  const cookie = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  if (cookie !== STUN_MAGIC_COOKIE) throw new ParseError('bad-header', 'stun');
  if (len % 4 !== 0) throw new ParseError('bad-length', 'stun');
  if (offset + STUN_HEADER_LENGTH + len > end) throw new ParseError('truncated', 'stun');
  out.offset = offset;
  out.messageType = type;
  out.method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  out.messageClass = CLASSES[((type >> 7) & 0x2) | ((type >> 4) & 0x1)]!;
  out.length = len;
  out.transactionIdOffset = offset + 8;
  out.attributesOffset = offset + STUN_HEADER_LENGTH;
}

/** Boolean form of parseStun() for classification (never throws). */
export function looksLikeStun(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  if (end > buf.length || offset < 0 || offset + STUN_HEADER_LENGTH > end) return false;
  if (buf[offset]! & 0xc0) return false;
  const len = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  return (
    buf[offset + 4] === 0x21 &&
    buf[offset + 5] === 0x12 &&
    buf[offset + 6] === 0xa4 &&
    buf[offset + 7] === 0x42 &&
    len % 4 === 0 &&
    offset + STUN_HEADER_LENGTH + len <= end
  );
}
