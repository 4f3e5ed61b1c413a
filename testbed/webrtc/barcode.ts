/**
 * The frame clock: every sent frame carries the sender's Date.now() as a 48-block barcode in a
 * strip at the top of the picture, so the receiver can compute each frame's glass-to-glass delay
 * (both browsers run on the same machine: one wall clock).
 *
 *   strip = top 1/6 of the frame, 2 rows x 24 blocks, block = (W/24) x (H/12), black = 1, white = 0
 *
 *    row 0: | b0 | b1 | ............................................. | b23 |
 *    row 1: | b24| b25| ............................................. | b47 |
 *
 *   bits 0..31  = Date.now() mod 2^32 (ms, MSB first)
 *   bits 32..39 = frame sequence number mod 256
 *   bits 40..47 = CRC-8 (poly 0x07, init 0) over the five bytes above
 *
 * The receiver samples the inner half of each block (mean luma, threshold at mid grey) after
 * scaling the strip to STRIP_W x STRIP_H, so blocks stay readable when the encoder lowers the
 * resolution; a CRC mismatch marks the frame undecodable. The code is plain JavaScript (a string)
 * because it runs in the pages; `barcodeCodec()` evaluates the same text in Node for the tests.
 */

export const BARCODE_JS = String.raw`
var BC_COLS = 24, BC_ROWS = 2, BC_BITS = 48, STRIP_W = 240, STRIP_H = 20;
function bcCrc8(bytes) {
  var c = 0;
  for (var i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (var k = 0; k < 8; k++) c = (c & 0x80) ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}
// -> array of 48 bits (0/1)
function bcEncode(wallMs, seq) {
  var t = wallMs >>> 0;
  var bytes = [(t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff, seq & 0xff];
  bytes.push(bcCrc8(bytes));
  var bits = [];
  for (var i = 0; i < 6; i++) for (var k = 7; k >= 0; k--) bits.push((bytes[i] >> k) & 1);
  return bits;
}
// bits -> { t32, seq } or null (CRC mismatch)
function bcDecodeBits(bits) {
  var bytes = [];
  for (var i = 0; i < 6; i++) {
    var b = 0;
    for (var k = 0; k < 8; k++) b = (b << 1) | (bits[i * 8 + k] ? 1 : 0);
    bytes.push(b);
  }
  if (bcCrc8(bytes.slice(0, 5)) !== bytes[5]) return null;
  return { t32: ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0, seq: bytes[4] };
}
// draws the strip on a 2D context of a w x h frame
function bcDraw(ctx, w, h, bits) {
  var bw = w / BC_COLS, bh = h / 12;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, bh * BC_ROWS);
  ctx.fillStyle = '#000';
  for (var i = 0; i < BC_BITS; i++) {
    if (!bits[i]) continue;
    var x0 = Math.round((i % BC_COLS) * bw), y0 = Math.round(Math.floor(i / BC_COLS) * bh);
    ctx.fillRect(x0, y0, Math.round(((i % BC_COLS) + 1) * bw) - x0, Math.round((Math.floor(i / BC_COLS) + 1) * bh) - y0);
  }
}
// RGBA pixels of the strip scaled to STRIP_W x STRIP_H -> bits
function bcReadBits(rgba) {
  var bits = [], bw = STRIP_W / BC_COLS, bh = STRIP_H / BC_ROWS;
  for (var i = 0; i < BC_BITS; i++) {
    var cx = (i % BC_COLS) * bw, cy = Math.floor(i / BC_COLS) * bh, sum = 0, n = 0;
    for (var y = Math.floor(cy + bh / 4); y < Math.ceil(cy + (3 * bh) / 4); y++) {
      for (var x = Math.floor(cx + bw / 4); x < Math.ceil(cx + (3 * bw) / 4); x++) {
        var p = (y * STRIP_W + x) * 4;
        sum += 0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2];
        n++;
      }
    }
    bits.push(n > 0 && sum / n < 128 ? 1 : 0);
  }
  return bits;
}
// frame delay from a decoded 32-bit send time and the receiver's Date.now(); null if implausible
function bcDelayMs(t32, nowWallMs) {
  var d = ((nowWallMs >>> 0) - t32) >>> 0;
  return d < 600000 ? d : null;
}
`;

export interface BarcodeCodec {
  encode(wallMs: number, seq: number): number[];
  decodeBits(bits: readonly number[]): { t32: number; seq: number } | null;
  readBits(rgba: ArrayLike<number>): number[];
  delayMs(t32: number, nowWallMs: number): number | null;
  STRIP_W: number;
  STRIP_H: number;
}

/** The page's barcode functions, evaluated in Node (tests and offline decoding). */
export function barcodeCodec(): BarcodeCodec {
  const make = new Function(
    `${BARCODE_JS}\nreturn { encode: bcEncode, decodeBits: bcDecodeBits, readBits: bcReadBits, delayMs: bcDelayMs, STRIP_W: STRIP_W, STRIP_H: STRIP_H };`,
  ) as () => BarcodeCodec;
  return make();
}
