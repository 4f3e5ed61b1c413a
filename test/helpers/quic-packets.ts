/** QUIC Initial header builder for tests (cold path). zhuge never builds QUIC packets. */
import { ParseError } from '../../src/protocols/errors.js';
import { QUIC_VERSION_2 } from '../../src/protocols/quic.js';

function writeVarint(v: number): number[] {
  if (v < 0x40) return [v];
  if (v < 0x4000) return [0x40 | (v >> 8), v & 0xff];
  if (v < 0x40000000) return [0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  throw new ParseError('unsupported', 'quic-build');
}

/**
 * Unprotected Initial header (v1 / v2 / draft-29 type encoding) up to and including the packet
 * number. `length` is the Length field (packet number + payload bytes).
 */
export function buildQuicInitialHeader(o: {
  version: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
  length: number;
  packetNumber: number;
  pnLength: 1 | 2 | 3 | 4;
}): Uint8Array {
  if (o.dcid.length > 255 || o.scid.length > 255) throw new ParseError('bad-length', 'quic-build');
  const token = o.token ?? new Uint8Array(0);
  const tbits = o.version === QUIC_VERSION_2 ? 1 : 0;
  const bytes: number[] = [0xc0 | (tbits << 4) | (o.pnLength - 1)];
  bytes.push((o.version >>> 24) & 0xff, (o.version >>> 16) & 0xff, (o.version >>> 8) & 0xff, o.version & 0xff);
  bytes.push(o.dcid.length, ...o.dcid, o.scid.length, ...o.scid);
  bytes.push(...writeVarint(token.length), ...token);
  // Length is always written as a 2-byte varint when it fits (as common stacks do), else minimal.
  if (o.length < 0x4000) bytes.push(0x40 | (o.length >> 8), o.length & 0xff);
  else bytes.push(...writeVarint(o.length));
  for (let i = o.pnLength - 1; i >= 0; i--) bytes.push(Math.floor(o.packetNumber / 2 ** (8 * i)) & 0xff);
  return Uint8Array.from(bytes);
}
