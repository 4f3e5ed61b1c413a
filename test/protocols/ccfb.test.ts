import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ccfbArrivalUs,
  ccfbAtoUnits,
  ccfbBlockBytes,
  ccfbSerializedLength,
  ccfbStreamBlock,
  newCcfbReport,
  ntp32FromUs,
  parseCcfb,
  serializeCcfb,
  usFromNtp32,
} from '../../src/protocols/rtcp/index.js';
import { ParseError } from '../../src/protocols/errors.js';
import type { CcfbReport } from '../../src/protocols/feedback-types.js';
import { buildRawIpPcap } from './_twcc-fixture.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
const R = (ecn: number, atoUnits: number): { received: boolean; ecn: number; atoUnits: number } => ({ received: true, ecn, atoUnits });
const LOST = { received: false, ecn: 0, atoUnits: 0 };

describe('ccfb golden bytes (hand-built)', () => {
  const oneStream: CcfbReport = {
    senderSsrc: 0x11223344,
    streams: [{ ssrc: 0xaabbccdd, beginSeq: 0xfffe, metrics: [R(0, 10), LOST, R(3, 0x1fff)] }],
    reportTimestampNtp32: 0x12345678,
  };
  const twoStreams: CcfbReport = {
    senderSsrc: 1,
    streams: [
      { ssrc: 2, beginSeq: 5, metrics: [R(1, 0x1ffe), R(2, 1)] },
      { ssrc: 3, beginSeq: 0, metrics: [] },
    ],
    reportTimestampNtp32: 0,
  };
  it.each([
    {
      name: 'one block, odd count (3, seq wrapping) -> 2 bytes of block padding',
      report: oneStream,
      options: {},
      bytes: '8bcd0006 11223344 | aabbccdd fffe 0003 | 800a 0000 ffff | 0000 | 12345678',
    },
    {
      name: 'legacy num_reports = count - 1',
      report: oneStream,
      options: { numReportsMinusOne: true },
      bytes: '8bcd0006 11223344 | aabbccdd fffe 0002 | 800a 0000 ffff | 0000 | 12345678',
    },
    {
      name: 'two blocks, even count and an empty block (num_reports 0)',
      report: twoStreams,
      options: {},
      bytes: '8bcd0007 00000001 | 00000002 0005 0002 bffe c001 | 00000003 0000 0000 | 00000000',
    },
    {
      name: 'no blocks at all',
      report: { senderSsrc: 9, streams: [], reportTimestampNtp32: 0xffffffff },
      options: {},
      bytes: '8bcd0002 00000009 ffffffff',
    },
  ])('$name', ({ report, options, bytes }) => {
    const expected = hex(bytes);
    expect(toHex(serializeCcfb(report, undefined, 0, options))).toBe(toHex(expected));
    expect(ccfbSerializedLength(report, options)).toBe(expected.length);
    expect(parseCcfb(expected, 0, expected.length, undefined, options)).toEqual(report);
  });

  it('accepts RTCP padding (P bit) after the report timestamp', () => {
    const b = hex('abcd0003 00000009 01020304 00000004');
    expect(parseCcfb(b, 0, b.length)).toEqual({ senderSsrc: 9, streams: [], reportTimestampNtp32: 0x01020304 });
  });

  it.each([
    ['bad version', '4bcd0002 00000009 ffffffff', 'bad-version'],
    ['transport-cc, not CCFB', '8fcd0002 00000009 ffffffff', 'unsupported'],
    ['shorter than header + sender + timestamp', '8bcd0001 00000009', 'truncated'],
    ['length field beyond the buffer', '8bcd0004 00000009 ffffffff', 'truncated'],
    ['num_reports beyond the packet', '8bcd0005 00000001 00000002 0000 0003 8001 8002 00000000', 'truncated'],
    ['a block header cut by the timestamp', '8bcd0004 00000001 00000002 00000000', 'truncated'],
    ['non-zero block padding', '8bcd0005 00000001 00000002 0000 0001 8001 0001 00000000', 'bad-length'],
    ['padding count 0', 'abcd0003 00000009 01020304 00000000', 'bad-length'],
  ])('rejects %s', (_name, bytes, reason) => {
    const b = hex(bytes);
    try {
      parseCcfb(b, 0, b.length);
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      expect((e as ParseError).reason).toBe(reason);
    }
  });

  it('rejects a block of more than 16384 metrics (RFC 8888 3.1)', () => {
    const n = 16386;
    const b = new Uint8Array(12 + ccfbBlockBytes(n));
    const words = b.length / 4 - 1;
    b.set([0x8b, 205, words >> 8, words & 0xff], 0);
    b.set([0, 0, 0, 2, 0, 0, n >> 8, n & 0xff], 8);
    expect(() => parseCcfb(b, 0, b.length)).toThrow(ParseError);
    // 16384 is fine
    const okN = 16384;
    const ok = new Uint8Array(12 + ccfbBlockBytes(okN));
    const okWords = ok.length / 4 - 1;
    ok.set([0x8b, 205, okWords >> 8, okWords & 0xff], 0);
    ok.set([0, 0, 0, 2, 0, 0, okN >> 8, okN & 0xff], 8);
    expect(parseCcfb(ok, 0, ok.length).streams[0]?.metrics.length).toBe(okN);
  });

  it('reuses the caller-provided object (streams and metric objects) between packets', () => {
    const into = newCcfbReport();
    const a = serializeCcfb(oneStream);
    const b = serializeCcfb(twoStreams);
    parseCcfb(a, 0, a.length, into);
    const firstMetric = into.streams[0]?.metrics[0];
    const r = parseCcfb(b, 0, b.length, into);
    expect(r).toBe(into);
    expect(r).toEqual(twoStreams);
    expect(r.streams[0]?.metrics[0]).toBe(firstMetric);
  });

  it('serializes into a provided buffer at an offset', () => {
    const out = new Uint8Array(40).fill(0xee);
    const view = serializeCcfb(oneStream, out, 5);
    expect(toHex(view)).toBe(toHex(serializeCcfb(oneStream)));
    expect(out[4]).toBe(0xee);
    expect(out[5 + view.length]).toBe(0xee);
    expect(() => serializeCcfb(oneStream, new Uint8Array(10))).toThrow(RangeError);
  });

  it('refuses values the wire cannot carry', () => {
    expect(() => serializeCcfb({ ...oneStream, senderSsrc: -1 })).toThrow(RangeError);
    expect(() => serializeCcfb({ ...oneStream, streams: [{ ssrc: 1, beginSeq: 0, metrics: [R(4, 0)] }] })).toThrow(RangeError);
    expect(() => serializeCcfb({ ...oneStream, streams: [{ ssrc: 1, beginSeq: 0, metrics: [R(0, 0x2000)] }] })).toThrow(RangeError);
    expect(() => serializeCcfb(twoStreams, undefined, 0, { numReportsMinusOne: true })).toThrow(RangeError);
  });
});

describe('ccfb arrival time offsets', () => {
  const rts = 10_000_000;
  it.each([
    ['half a second before the report', rts - 500_000, 512],
    ['at the report time', rts, 0],
    ['1 ms before (1.024 units -> 1)', rts - 1000, 1],
    ['rounds to nearest (1.5 units -> 2)', rts - 1_000_000 * (1.5 / 1024), 2],
    ['exactly 8189/1024 s', rts - (8189 * 1_000_000) / 1024, 8189],
    ['just over 8189/1024 s -> over-range', rts - (8189.2 * 1_000_000) / 1024, 0x1ffe],
    ['minutes ago -> over-range', rts - 300_000_000 + 1, 0x1ffe],
    ['after the report time -> unavailable', rts + 1, 0x1fff],
    ['unknown -> unavailable', null, 0x1fff],
  ])('%s', (_name, arrival, ato) => {
    expect(ccfbAtoUnits(arrival, rts)).toBe(ato);
  });

  it('converts back within half a unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Math.floor((8189 * 1_000_000) / 1024) }), (offsetUs) => {
        const ato = ccfbAtoUnits(rts - offsetUs, rts);
        const back = ccfbArrivalUs(ato, rts);
        expect(back).not.toBeNull();
        expect(Math.abs((back ?? NaN) - (rts - offsetUs))).toBeLessThanOrEqual(1_000_000 / 2048 + 1e-6);
      }),
      { numRuns: 2000 },
    );
    expect(ccfbArrivalUs(0x1ffe, rts)).toBeNull();
    expect(ccfbArrivalUs(0x1fff, rts)).toBeNull();
  });

  it('builds a stream block from arrivals', () => {
    const block = ccfbStreamBlock(7, 65535, [{ tUs: rts - 250_000, ecn: 2 }, null, { tUs: rts + 5, ecn: 3 }], rts);
    expect(block).toEqual({ ssrc: 7, beginSeq: 65535, metrics: [R(2, 256), LOST, R(3, 0x1fff)] });
  });

  it('compact NTP timestamps (16.16 s)', () => {
    expect(ntp32FromUs(1_500_000)).toBe(0x00018000);
    expect(ntp32FromUs((65536 + 0.25) * 1_000_000)).toBe(0x00004000);
    expect(usFromNtp32(0x00018000)).toBe(1_500_000);
  });
});

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasTshark())('ccfb framing in tshark (skipped: tshark not installed)', () => {
  // tshark 4.0 has no RFC 8888 dissector (no rtcp.rtpfb.ccfb.* fields): check only the RTCP framing
  // it does read, inside a compound with a second packet after ours.
  it('tshark sees PT 205 / FMT 11, our sender SSRC and a consistent length', () => {
    const r = serializeCcfb({ senderSsrc: 0x0badcafe, streams: [{ ssrc: 5, beginSeq: 1, metrics: [R(0, 3), LOST, R(1, 2)] }], reportTimestampNtp32: 7 });
    const rr = hex('81c90007 00000001 00000005 00000000 00000000 00000000 00000000 00000000');
    const compound = new Uint8Array(r.length + rr.length);
    compound.set(r);
    compound.set(rr, r.length);
    const dir = mkdtempSync(join(tmpdir(), 'ccfb-tshark-'));
    try {
      const file = join(dir, 'ccfb.pcap');
      writeFileSync(file, buildRawIpPcap([compound], 40000, 40001));
      const out = execFileSync(
        'tshark',
        ['-r', file, '-d', 'udp.port==40001,rtcp', '-T', 'fields', '-E', 'separator=;', '-e', 'rtcp.pt', '-e', 'rtcp.rtpfb.fmt', '-e', 'rtcp.senderssrc', '-e', 'rtcp.length'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const [pt, fmt, ssrc, len] = out.trim().split(';');
      expect(pt).toBe('205,201');
      expect(fmt).toBe('11');
      expect((ssrc ?? '').split(',')[0]).toBe('0x0badcafe');
      expect(Number((len ?? '').split(',')[0])).toBe(r.length / 4 - 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ccfb properties', () => {
  const metric = fc.oneof(
    fc.record({ received: fc.constant(true), ecn: fc.integer({ min: 0, max: 3 }), atoUnits: fc.integer({ min: 0, max: 0x1fff }) }),
    fc.record({ received: fc.constant(false), ecn: fc.integer({ min: 0, max: 3 }), atoUnits: fc.integer({ min: 0, max: 0x1fff }) }),
  );
  const report = (minLen: number): fc.Arbitrary<CcfbReport> =>
    fc.record({
      senderSsrc: fc.integer({ min: 0, max: 0xffffffff }),
      streams: fc.array(
        fc.record({
          ssrc: fc.integer({ min: 0, max: 0xffffffff }),
          beginSeq: fc.integer({ min: 0, max: 0xffff }),
          metrics: fc.array(metric, { minLength: minLen, maxLength: 30 }),
        }),
        { maxLength: 4 },
      ),
      reportTimestampNtp32: fc.integer({ min: 0, max: 0xffffffff }),
    });

  it('serialize -> parse is the identity (both num_reports conventions)', () => {
    fc.assert(
      fc.property(report(0), (r) => {
        const b = serializeCcfb(r);
        expect(b.length % 4).toBe(0);
        expect(parseCcfb(b, 0, b.length)).toEqual(r);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(report(1), (r) => {
        const opt = { numReportsMinusOne: true };
        const b = serializeCcfb(r, undefined, 0, opt);
        expect(parseCcfb(b, 0, b.length, undefined, opt)).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  function onlyParseErrors(bytes: Uint8Array, minusOne: boolean): void {
    try {
      parseCcfb(bytes, 0, bytes.length, undefined, { numReportsMinusOne: minusOne });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }

  it('random buffers and random bodies behind a valid header throw only ParseError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (b, m) => onlyParseErrors(b, m)), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), fc.boolean(), (body, pad, m) => {
        const words = Math.floor(body.length / 4);
        const b = new Uint8Array(4 + words * 4);
        b.set([0x8b | (pad ? 0x20 : 0), 205, words >> 8, words & 0xff]);
        b.set(body.subarray(0, words * 4), 4);
        onlyParseErrors(b, m);
      }),
      { numRuns: 3000 },
    );
  });

  it('truncated and mutated valid packets throw only ParseError (truncation always caught)', () => {
    fc.assert(
      fc.property(report(0), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (r, cut, muts) => {
        const b = serializeCcfb(r);
        const short = b.subarray(0, cut % b.length);
        expect(() => parseCcfb(short, 0, short.length)).toThrow(ParseError);
        const m = Uint8Array.from(b);
        for (const [at, v] of muts) m[at % m.length] = v;
        onlyParseErrors(m, false);
      }),
      { numRuns: 2000 },
    );
  });
});
