/**
 * Big-endian (network order) reads and writes shared by the codecs, plus the explicit-order reads
 * of capture files. The checked readers assume the caller has checked the bounds (they use `!`, not
 * a fallback: an out-of-bounds read would be a codec bug, not bad input); readU32OrZero is the one
 * that reads missing bytes as 0, for codecs written that way.
 */

/** The unsigned 16-bit big-endian word at `o`. */
export function readU16(buf: Uint8Array, o: number): number {
  return (buf[o]! << 8) | buf[o + 1]!;
}

/** The unsigned 32-bit big-endian word at `o`. */
export function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

/** readU32(), but a byte past the end of `buf` reads as 0 (never undefined / NaN). */
export function readU32OrZero(buf: Uint8Array, o: number): number {
  return (((buf[o] ?? 0) << 24) | ((buf[o + 1] ?? 0) << 16) | ((buf[o + 2] ?? 0) << 8) | (buf[o + 3] ?? 0)) >>> 0;
}

/** Writes the low 16 bits of `v` big-endian at `o`. */
export function writeU16(buf: Uint8Array, o: number, v: number): void {
  buf[o] = (v >>> 8) & 0xff;
  buf[o + 1] = v & 0xff;
}

/** Writes `v` as a 32-bit big-endian word at `o`; returns o + 4. */
export function writeU32(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v >>> 24;
  buf[o + 1] = (v >>> 16) & 0xff;
  buf[o + 2] = (v >>> 8) & 0xff;
  buf[o + 3] = v & 0xff;
  return o + 4;
}

/** The unsigned 16-bit word at `o`, little-endian when `littleEndian`, else big-endian. */
export function readU16Order(buf: Uint8Array, o: number, littleEndian: boolean): number {
  return littleEndian ? buf[o]! | (buf[o + 1]! << 8) : readU16(buf, o);
}

/** The unsigned 32-bit word at `o`, little-endian when `littleEndian`, else big-endian. */
export function readU32Order(buf: Uint8Array, o: number, littleEndian: boolean): number {
  return littleEndian ? (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0 : readU32(buf, o);
}

/** Whether `v` is an integer in 0..max (a value an unsigned wire field of that range can carry). */
export function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}
