/**
 * The one layout of IP addresses in views and flow keys: a source and a destination address as
 * four unsigned 32-bit words each, word 0 the most significant (network order).
 *
 *  +-----------+-----------+-----------+-----------+
 *  | src0      | src1      | src2      | src3      |   IPv6: the 128-bit address
 *  +-----------+-----------+-----------+-----------+   IPv4: word 0 is the address, words 1..3
 *  | dst0      | dst1      | dst2      | dst3      |         are 0 (the family tells it from an
 *  +-----------+-----------+-----------+-----------+         IPv6 address; no IPv4-mapped form)
 *
 * Plain number fields (not arrays) so a view is filled and compared without allocating. The text
 * forms (cold path) are here too: formatAddressWords, formatIpv6, parseIpv6Address.
 */
import { readU32 } from './bytes.js';
import { formatIpv4 } from './ipv4.js';

export interface AddressPair {
  src0: number;
  src1: number;
  src2: number;
  src3: number;
  dst0: number;
  dst1: number;
  dst2: number;
  dst3: number;
}

/** Reads the 32 bytes at `o` (source then destination address, as in an IPv6 header) into `out`. */
export function readAddressPair(buf: Uint8Array, o: number, out: AddressPair): void {
  out.src0 = readU32(buf, o);
  out.src1 = readU32(buf, o + 4);
  out.src2 = readU32(buf, o + 8);
  out.src3 = readU32(buf, o + 12);
  out.dst0 = readU32(buf, o + 16);
  out.dst1 = readU32(buf, o + 20);
  out.dst2 = readU32(buf, o + 24);
  out.dst3 = readU32(buf, o + 28);
}

/** Sets `out` to IPv4 addresses `src` and `dst` (words 1..3 zero); 0, 0 clears it. */
export function setIpv4AddressPair(out: AddressPair, src: number, dst: number): void {
  out.src0 = src;
  out.src1 = 0;
  out.src2 = 0;
  out.src3 = 0;
  out.dst0 = dst;
  out.dst1 = 0;
  out.dst2 = 0;
  out.dst3 = 0;
}

/** Copies the addresses of `from` into `out`. */
export function copyAddressPair(from: AddressPair, out: AddressPair): void {
  out.src0 = from.src0;
  out.src1 = from.src1;
  out.src2 = from.src2;
  out.src3 = from.src3;
  out.dst0 = from.dst0;
  out.dst1 = from.dst1;
  out.dst2 = from.dst2;
  out.dst3 = from.dst3;
}

/** Copies the addresses of `from` into `out` with source and destination swapped (`out` may be `from`). */
export function copyAddressPairReversed(from: AddressPair, out: AddressPair): void {
  const s0 = from.src0, s1 = from.src1, s2 = from.src2, s3 = from.src3; // prettier-ignore
  out.src0 = from.dst0;
  out.src1 = from.dst1;
  out.src2 = from.dst2;
  out.src3 = from.dst3;
  out.dst0 = s0;
  out.dst1 = s1;
  out.dst2 = s2;
  out.dst3 = s3;
}

/** Same source and same destination address. */
export function addressPairEquals(a: AddressPair, b: AddressPair): boolean {
  return (
    a.src0 === b.src0 &&
    a.src1 === b.src1 &&
    a.src2 === b.src2 &&
    a.src3 === b.src3 &&
    a.dst0 === b.dst0 &&
    a.dst1 === b.dst1 &&
    a.dst2 === b.dst2 &&
    a.dst3 === b.dst3
  );
}

/** Cold path: text of one address of the layout (family 4 or 6; '?' otherwise). */
export function formatAddressWords(family: number, w0: number, w1: number, w2: number, w3: number): string {
  if (family === 4) return formatIpv4(w0);
  if (family === 6) return formatIpv6(w0, w1, w2, w3);
  return '?';
}

/** Cold path: RFC 5952-style text (lower case, longest zero run compressed) of four 32-bit words. */
export function formatIpv6(w0: number, w1: number, w2: number, w3: number): string {
  const g: number[] = [];
  for (const w of [w0, w1, w2, w3]) g.push((w >>> 16) & 0xffff, w & 0xffff);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Cold path: parses IPv6 text into four 32-bit words; undefined when invalid. No embedded IPv4 form. */
export function parseIpv6Address(s: string): [number, number, number, number] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const out: number[] = [];
    for (const h of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  const w = (i: number): number => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return [w(0), w(1), w(2), w(3)];
}
