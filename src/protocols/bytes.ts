/**
 * Big-endian reads shared by the codecs. The caller has checked the bounds (these use `!`, not a
 * fallback: an out-of-bounds read would be a codec bug, not bad input).
 */

/** The unsigned 32-bit big-endian word at `o`. */
export function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

/** The unsigned 16-bit big-endian word at `o`. */
export function readU16(buf: Uint8Array, o: number): number {
  return (buf[o]! << 8) | buf[o + 1]!;
}

/** Writes the low 16 bits of `x` big-endian at `o`. */
export function writeU16(buf: Uint8Array, o: number, x: number): void {
  buf[o] = (x >>> 8) & 0xff;
  buf[o + 1] = x & 0xff;
}

/** Writes the low 32 bits of `x` big-endian at `o`. */
export function writeU32(buf: Uint8Array, o: number, x: number): void {
  buf[o] = (x >>> 24) & 0xff;
  buf[o + 1] = (x >>> 16) & 0xff;
  buf[o + 2] = (x >>> 8) & 0xff;
  buf[o + 3] = x & 0xff;
}
