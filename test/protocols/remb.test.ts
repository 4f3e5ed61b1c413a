import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { newRembView, newRtcpView, parseRtcpPacket, readRemb, REMB_UNLIMITED_BPS, serializeRemb } from '../../src/protocols/rtcp/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(b: Uint8Array): { bitrateBps: number; ssrcs: number[] } {
  const v = newRtcpView();
  parseRtcpPacket(b, 0, b.length, v);
  expect(v.kind).toBe('remb');
  const r = newRembView();
  readRemb(b, v, r);
  const ssrcs: number[] = [];
  for (let i = 0; i < r.ssrcCount; i++) ssrcs.push(Buffer.from(b).readUInt32BE(r.ssrcsOffset + 4 * i));
  return { bitrateBps: r.bitrateBps, ssrcs };
}

describe('serializeRemb', () => {
  // golden bytes worked out by hand from draft-alvestrand-rmcat-remb-03 (mantissa halved until it fits 18 bits)
  it.each([
    ['412345 bit/s, one SSRC', 0x11223344, 412_345, [0xaabbccdd], '8fce0005112233440000000052454d420107255caabbccdd'],
    ['30 kbit/s fits the mantissa', 1, 30_000, [2], '8fce0005000000010000000052454d420100753000000002'],
    ['no SSRC, the largest mantissa', 7, 262_143, [], '8fce0004000000070000000052454d420003ffff'],
    ['two SSRCs, 2 Mbit/s (x 2^3)', 9, 2_000_000, [3, 4], '8fce0006000000090000000052454d42020fd0900000000300000004'],
  ] as const)('%s', (_name, sender, bps, ssrcs, golden) => {
    const b = serializeRemb(sender, bps, ssrcs);
    expect(hex(b)).toBe(golden);
    const r = roundTrip(b);
    expect(r.ssrcs).toEqual(ssrcs);
    expect(r.bitrateBps).toBeLessThanOrEqual(bps);
  });

  it('never announces more than asked, and loses at most one part in 2^17', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 8 }), (bps, ssrcs) => {
        const r = roundTrip(serializeRemb(0xdeadbeef, bps, ssrcs));
        expect(r.bitrateBps).toBeLessThanOrEqual(bps);
        expect(r.bitrateBps).toBeGreaterThanOrEqual(bps * (1 - 2 ** -17) - 1);
        expect(r.ssrcs).toEqual(ssrcs);
      }),
    );
  });

  it('"no limit" reads back as more than any link', () => {
    expect(roundTrip(serializeRemb(1, REMB_UNLIMITED_BPS, [1])).bitrateBps).toBe(REMB_UNLIMITED_BPS);
  });

  it('writes into a caller buffer at an offset, and refuses what does not fit or cannot be said', () => {
    const out = new Uint8Array(40);
    const b = serializeRemb(1, 500_000, [5], out, 8);
    expect(b.length).toBe(24);
    expect(hex(out.subarray(8, 32))).toBe(hex(serializeRemb(1, 500_000, [5])));
    expect(() => serializeRemb(1, 500_000, [5], out, 20)).toThrow(RangeError);
    expect(() => serializeRemb(1, -1, [])).toThrow(RangeError);
    expect(() => serializeRemb(1, Number.POSITIVE_INFINITY, [])).toThrow(RangeError);
    expect(() => serializeRemb(1, 1, new Array<number>(256).fill(1))).toThrow(RangeError);
  });
});
