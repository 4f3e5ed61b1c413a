/**
 * Big-endian reads shared by the codecs. The caller has checked the bounds (these use `!`, not a
 * fallback: an out-of-bounds read would be a codec bug, not bad input).
 */

/** The unsigned 32-bit big-endian word at `o`. */
export function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}
