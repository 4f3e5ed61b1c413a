/**
 * DTLS record header (RFC 6347 §4.1 / RFC 9147 §4: DTLSPlaintext and the 1.2-style ciphertext).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | content type  |   version (0xFEFF 1.0, 0xFEFD 1.2)  |  epoch  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  ... epoch    |          sequence number (48 bits) ...        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               ... sequence number         |     length ...    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | ...length |  fragment (length bytes) ...
 *  +-+-+-+-+-+-+
 *
 * Content types: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data,
 * 24 heartbeat, 25 tls12_cid (RFC 9146). A datagram may carry several records back to back.
 * DTLS 1.3 encrypted records use the unified header (RFC 9147 §4), Chromium's default since ~M130:
 *
 *   0 1 2 3 4 5 6 7
 *  +-+-+-+-+-+-+-+-+
 *  |0|0|1|C|S|L|E E|   C: connection ID present (its length is not on the wire -> 'unsupported')
 *  +-+-+-+-+-+-+-+-+   S: sequence number is 16 (1) or 8 (0) bits; L: 16-bit length present
 *  | seq (8 or 16) |   EE: low 2 bits of the epoch
 *  +-+-+-+-+-+-+-+-+   The sequence number is encrypted (record number encryption): reported as -1.
 *  | length (16)   |   Without L the record runs to the end of the datagram.
 *  +-+-+-+-+-+-+-+-+
 */
import { ParseError } from './errors.js';

export const DTLS_RECORD_HEADER_LENGTH = 13;
export const DTLS_VERSION_1_0 = 0xfeff;
export const DTLS_VERSION_1_2 = 0xfefd;

export interface DtlsRecordView {
  offset: number;
  /** DTLS 1.3 unified header (then: version 0, epoch = low 2 bits, sequenceNumber -1). */
  unified: boolean;
  contentType: number;
  version: number;
  epoch: number;
  /** 48-bit sequence number (exact in a JS number). */
  sequenceNumber: number;
  /** Fragment length. */
  length: number;
  fragmentOffset: number;
  /** Offset just after this record (next record, or the datagram end). */
  nextOffset: number;
}

export function newDtlsRecordView(): DtlsRecordView {
  return { offset: 0, unified: false, contentType: 0, version: 0, epoch: 0, sequenceNumber: 0, length: 0, fragmentOffset: 0, nextOffset: 0 };
}

/** Parses one DTLS record header at `offset`; the fragment must fit before `end`. */
export function parseDtlsRecord(buf: Uint8Array, offset: number, end: number, out: DtlsRecordView): void {
  if (end > buf.length || offset < 0 || offset >= end) throw new ParseError('truncated', 'dtls');
  const ct = buf[offset]!;
  if (ct >= 32 && ct <= 63) {
    parseUnified(buf, offset, end, ct, out);
    return;
  }
  if (ct < 20 || ct > 25) throw new ParseError('bad-header', 'dtls');
  if (offset + DTLS_RECORD_HEADER_LENGTH > end) throw new ParseError('truncated', 'dtls');
  const version = (buf[offset + 1]! << 8) | buf[offset + 2]!;
  if (version !== DTLS_VERSION_1_0 && version !== DTLS_VERSION_1_2) throw new ParseError('bad-version', 'dtls');
  const len = (buf[offset + 11]! << 8) | buf[offset + 12]!;
  if (offset + DTLS_RECORD_HEADER_LENGTH + len > end) throw new ParseError('truncated', 'dtls');
  out.offset = offset;
  out.unified = false;
  out.contentType = ct;
  out.version = version;
  out.epoch = (buf[offset + 3]! << 8) | buf[offset + 4]!;
  out.sequenceNumber =
    ((buf[offset + 5]! << 8) | buf[offset + 6]!) * 2 ** 32 +
    (((buf[offset + 7]! << 24) | (buf[offset + 8]! << 16) | (buf[offset + 9]! << 8) | buf[offset + 10]!) >>> 0);
  out.length = len;
  out.fragmentOffset = offset + DTLS_RECORD_HEADER_LENGTH;
  out.nextOffset = out.fragmentOffset + len;
}

function parseUnified(buf: Uint8Array, offset: number, end: number, b0: number, out: DtlsRecordView): void {
  if (b0 & 0x10) throw new ParseError('unsupported', 'dtls'); // connection ID of unknown length
  const seqLen = b0 & 0x08 ? 2 : 1;
  const hasLen = (b0 & 0x04) !== 0;
  const hdr = 1 + seqLen + (hasLen ? 2 : 0);
  if (offset + hdr > end) throw new ParseError('truncated', 'dtls');
  const len = hasLen ? (buf[offset + 1 + seqLen]! << 8) | buf[offset + 2 + seqLen]! : end - offset - hdr;
  if (offset + hdr + len > end) throw new ParseError('truncated', 'dtls');
  out.offset = offset;
  out.unified = true;
  out.contentType = b0;
  out.version = 0;
  out.epoch = b0 & 0x03;
  out.sequenceNumber = -1;
  out.length = len;
  out.fragmentOffset = offset + hdr;
  out.nextOffset = offset + hdr + len;
}

const scratch = newDtlsRecordView();

/** Validates that buf[offset, end) is a sequence of whole DTLS records; returns how many. */
export function countDtlsRecords(buf: Uint8Array, offset: number, end: number): number {
  let n = 0;
  let o = offset;
  do {
    parseDtlsRecord(buf, o, end, scratch);
    o = scratch.nextOffset;
    n++;
  } while (o < end);
  return n;
}
