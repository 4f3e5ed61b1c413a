/**
 * Where a serializer writes: a new array of exactly `size` bytes, or the caller's `out` from
 * `outOffset` after checking it fits (RangeError naming the codec otherwise).
 */
export function outputBuffer(what: string, size: number, out: Uint8Array | undefined, outOffset: number): { buf: Uint8Array; offset: number } {
  if (out === undefined) return { buf: new Uint8Array(size), offset: 0 };
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + size > out.length) {
    throw new RangeError(`${what}: output buffer too small (${size} bytes needed)`);
  }
  return { buf: out, offset: outOffset };
}
