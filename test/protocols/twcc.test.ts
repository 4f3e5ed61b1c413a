import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/protocols/errors.js';
import type { TwccFeedback } from '../../src/protocols/feedback-types.js';
import {
  arrivalsUsFromTwcc,
  newTwccFeedback,
  parseTwcc,
  serializeTwcc,
  TwccSizeCounter,
  twccDeltasFromArrivalsUs,
  twccSerializedLength,
} from '../../src/protocols/rtcp/index.js';
import { buildRawIpPcap, readFixtureUdp, rtcpSubPackets } from './_twcc-fixture.js';
import { libwebrtcChunks } from './_twcc-libwebrtc-model.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function fb(deltas: Array<number | null>, over: Partial<TwccFeedback> = {}): TwccFeedback {
  return { senderSsrc: 1, mediaSsrc: 0x12345678, baseSeq: 100, referenceTime64ms: 0x10fb, fbPktCount: 7, deltas, ...over };
}
/** Chunk words of a serialized packet (header 20 bytes, then `n` chunks). */
function chunksOf(bytes: Uint8Array, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(((bytes[20 + 2 * i] ?? 0) << 8) | (bytes[21 + 2 * i] ?? 0));
  return out;
}

describe('twcc golden bytes (hand-built)', () => {
  const N = null;
  const cases: Array<{ name: string; fb: TwccFeedback; bytes: string }> = [
    {
      // 20 not received -> run-length chunk S=0 len 20 (0x0014); then 1 small -> run-length S=1 len 1
      name: 'run-length of not-received, then a run of one small delta, 3 bytes of padding',
      fb: fb([...Array<null>(20).fill(null), 5]),
      bytes: 'afcd0006 00000001 12345678 0064 0015 0010fb 07 | 0014 2001 | 05 | 000003',
    },
    {
      // symbols 1 0 1 1 0 0 1 1 1 1 1 1 1 1 -> 1-bit vector 0b10_10110011111111 = 0xacff
      name: 'one 1-bit status vector of 14 symbols',
      fb: fb([1, N, 2, 3, N, N, 4, 5, 6, 7, 8, 9, 10, 11]),
      bytes: 'afcd0008 00000001 12345678 0064 000e 0010fb 07 | acff | 0102030405060708090a0b | 000003',
    },
    {
      // symbols 1 2 0 2 (<= 7 mixed at the end) -> 2-bit vector 11 01 10 00 10 00 00 00 = 0xd880
      name: '2-bit status vector with a large negative delta (-4) and a large positive one (300)',
      fb: fb([10, -4, N, 300]),
      bytes: 'afcd0006 00000001 12345678 0064 0004 0010fb 07 | d880 | 0a fffc 012c | 01',
    },
    {
      name: 'exact 32-bit size: no padding, P=0 (negative reference time, wrapped seq)',
      fb: fb([1, 2], { baseSeq: 0xffff, referenceTime64ms: -2, fbPktCount: 255, senderSsrc: 0xfffffffe }),
      bytes: '8fcd0005 fffffffe 12345678 ffff 0002 fffffe ff | 2002 | 0102',
    },
  ];
  it.each(cases)('$name', ({ fb: f, bytes }) => {
    const expected = hex(bytes);
    const out = serializeTwcc(f);
    expect(toHex(out)).toBe(toHex(expected));
    expect(twccSerializedLength(f)).toBe(expected.length);
    expect(parseTwcc(expected, 0, expected.length)).toEqual(f);
  });

  it('parses foreign encodings: zero padding without P, vector symbols beyond the status count', () => {
    // 4 entries in a 1-bit vector (1 0 1 1) whose 10 unused symbols are set (0xac3f); 3 delta bytes,
    // then 3 zero alignment bytes without the P bit.
    const ok = hex('8fcd0006 00000001 00000002 0005 0004 000001 00 | ac3f | 010203 | 000000');
    expect(parseTwcc(ok, 0, ok.length).deltas).toEqual([1, null, 2, 3]);
    // a non-zero byte there is unexplained data, not padding
    const bad = hex('8fcd0006 00000001 00000002 0005 0004 000001 00 | ac3f | 010203 | 000100');
    expect(() => parseTwcc(bad, 0, bad.length)).toThrow(ParseError);
  });

  it.each([
    ['bad version', '4fcd0005 00000001 00000002 0000 0001 000000 00 2001 0100', 'bad-version'],
    ['not transport-cc (FMT 1, NACK)', '81cd0005 00000001 00000002 0000 0001 000000 00 2001 0100', 'unsupported'],
    ['status count 0', '8fcd0005 00000001 00000002 0000 0000 000000 00 2001 0100', 'bad-header'],
    ['run overshoots the status count', '8fcd0005 00000001 00000002 0000 0001 000000 00 2002 0100', 'bad-header'],
    ['reserved symbol 3 in a run', '8fcd0005 00000001 00000002 0000 0001 000000 00 6001 0100', 'bad-header'],
    ['reserved symbol 3 in a 2-bit vector', '8fcd0005 00000001 00000002 0000 0001 000000 00 f000 0100', 'bad-header'],
    ['missing delta', '8fcd0004 00000001 00000002 0000 0001 000000 00 2001 0000', 'truncated'],
    ['missing chunks', '8fcd0004 00000001 00000002 0000 0010 000000 00 2001 0000', 'truncated'],
    ['length field beyond the buffer', '8fcd0009 00000001 00000002 0000 0001 000000 00 2001 0100', 'truncated'],
    ['padding count 0', 'afcd0005 00000001 00000002 0000 0001 000000 00 2001 0100', 'bad-length'],
    ['4 unexplained trailing bytes', '8fcd0006 00000001 00000002 0000 0001 000000 00 2001 0100 00000000', 'bad-length'],
  ])('rejects %s', (_name, bytes, reason) => {
    const b = hex(bytes);
    try {
      parseTwcc(b, 0, b.length);
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      expect((e as ParseError).reason).toBe(reason);
    }
  });

  it('reuses the caller-provided object and parses at an offset inside a compound', () => {
    const a = serializeTwcc(fb([1, null, 300]));
    const c = serializeTwcc(fb([7], { baseSeq: 9 }));
    const compound = new Uint8Array(a.length + c.length + 3);
    compound.set(a, 3);
    compound.set(c, 3 + a.length);
    const into = newTwccFeedback();
    into.deltas.push(99, 98, 97, 96);
    const r1 = parseTwcc(compound, 3, compound.length - 3, into);
    expect(r1).toBe(into);
    expect(r1.deltas).toEqual([1, null, 300]);
    const r2 = parseTwcc(compound, 3 + a.length, c.length, into);
    expect(r2.baseSeq).toBe(9);
    expect(r2.deltas).toEqual([7]);
  });
});

/**
 * Cases from libwebrtc's transport_feedback_unittest.cc, re-expressed as arrival times (seq numbers
 * relative to the first received one): expected packet sizes there, chunk words worked out by hand
 * from its LastChunk rules.
 */
describe('twcc chunking matches libwebrtc', () => {
  const MS = 1000;
  function arrivals(received: number[], timesUs: number[]): Array<number | null> {
    const base = received[0] ?? 0;
    const out: Array<number | null> = Array<number | null>((received.at(-1) ?? 0) - base + 1).fill(null);
    received.forEach((s, i) => (out[s - base] = timesUs[i] ?? 0));
    return out;
  }
  const perSeq = (received: number[], stepUs: number): number[] => received.map((s) => s * stepUs);
  const cases: Array<{ name: string; received: number[]; times: number[]; size: number; chunks?: number[] }> = [
    { name: 'OneBitVector', received: [1, 2, 7, 8, 9, 10, 13], times: perSeq([1, 2, 7, 8, 9, 10, 13], MS), size: 32 },
    { name: 'FullOneBitVector', received: [1, 2, 7, 8, 9, 10, 13, 14], times: perSeq([1, 2, 7, 8, 9, 10, 13, 14], MS), size: 32 },
    { name: 'TwoBitVector', received: [1, 2, 6, 7], times: perSeq([1, 2, 6, 7], 64 * MS), size: 32 },
    { name: 'TwoBitVectorFull', received: [1, 2, 6, 7, 8], times: perSeq([1, 2, 6, 7, 8], 64 * MS), size: 36 },
    {
      name: 'LargeAndNegativeDeltas',
      received: [1, 2, 6, 7, 8],
      times: [2 * MS, 1 * MS, 4 * MS, 3 * MS, 3 * MS + 64 * MS],
      size: 32,
      // deltas 8, -4, (3 lost), 12, -4, 256 -> symbols 1 2 0 0 0 1 2 | 2: a full 2-bit vector, then a run
      chunks: [0xc000 | (1 << 12) | (2 << 10) | (1 << 2) | 2, 0x4001],
    },
    { name: 'MaxRle', received: [0, 8191 + 14], times: [1 * MS, 2 * MS], size: 28, chunks: [0xa000, 0x1fff, 0x2001] },
    { name: 'MinRle', received: [0, 29], times: [1 * MS, 2 * MS], size: 28, chunks: [0xa000, 0x000f, 0x2001] },
    { name: 'OneToTwoBitVector', received: [0, 6], times: [0, 64 * MS], size: 28, chunks: [0xc000 | (1 << 12) | 2] },
    { name: 'OneToTwoBitVectorSimpleSplit', received: [0, 7], times: [0, 64 * MS], size: 28, chunks: [0xd000, 0x4001] },
  ];
  it.each(cases)('$name', ({ received, times, size, chunks }) => {
    const a = arrivals(received, times);
    const r = twccDeltasFromArrivalsUs(a);
    expect(r.consumed).toBe(a.length);
    const f = fb(r.deltas, { referenceTime64ms: r.referenceTime64ms });
    const bytes = serializeTwcc(f);
    expect(bytes.length).toBe(size);
    if (chunks) expect(chunksOf(bytes, chunks.length)).toEqual(chunks);
    // receive times survive to within half a tick (rounding never accumulates)
    const back = arrivalsUsFromTwcc(parseTwcc(bytes, 0, bytes.length));
    a.forEach((t, i) => {
      if (t === null) expect(back[i]).toBeNull();
      else expect(Math.abs((back[i] ?? NaN) - t)).toBeLessThanOrEqual(125);
    });
  });

  it('OneToTwoBitVectorSplit: SSSSSSSSLSSSSSSSSSSSSS', () => {
    const times = [MS];
    for (let i = 1; i < 22; i++) times.push((times[i - 1] ?? 0) + (i === 8 ? 64 * MS : MS));
    const r = twccDeltasFromArrivalsUs(times);
    const bytes = serializeTwcc(fb(r.deltas, { referenceTime64ms: r.referenceTime64ms }));
    // The 8 uniform S are still a run when the L arrives -> run-length S x 8; the pending L then takes
    // 6 S (a 2-bit vector holds 7), the 7 S left form a final run. (libwebrtc's test comment describes
    // an older encoder; its expected size, 52 bytes, holds.)
    expect(bytes.length).toBe(52);
    expect(chunksOf(bytes, 3)).toEqual([0x2008, 0xc000 | (2 << 12) | 0x555, 0x2007]);
  });

  it('Aliasing: 100 packets 83 us apart, accumulated error stays within half a tick', () => {
    const a = Array.from({ length: 100 }, (_, i) => Math.floor((i * 250) / 3));
    const r = twccDeltasFromArrivalsUs(a);
    const back = arrivalsUsFromTwcc({ ...fb(r.deltas), referenceTime64ms: r.referenceTime64ms });
    a.forEach((t, i) => expect(Math.abs((back[i] ?? NaN) - (t ?? 0))).toBeLessThanOrEqual(125));
  });
  it('random feedback: same chunks as a model of libwebrtc AddMissingPackets/AddDeltaSize', () => {
    const entry = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 0, max: 255 }).map((d) => [d] as Array<number | null>) },
      { weight: 1, arbitrary: fc.integer({ min: -0x8000, max: 0x7fff }).map((d) => [d] as Array<number | null>) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => Array<number | null>(n).fill(null)) },
      { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 2, max: 40 })).map(([d, n]) => Array<number | null>(n).fill(d)) },
      // rare long losses: whole 8191-long runs plus a partial one
      { weight: 1, arbitrary: fc.integer({ min: 8185, max: 16400 }).map((n) => Array<number | null>(n).fill(null)) },
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 10 }), fc.integer({ min: 0, max: 255 }), (parts, lastDelta) => {
        const deltas = [...parts.flat().slice(0, 60_000), lastDelta];
        const expected = libwebrtcChunks(deltas);
        const bytes = serializeTwcc(fb(deltas));
        const deltaBytes = deltas.reduce<number>((n, d) => n + (d === null ? 0 : d >= 0 && d <= 255 ? 1 : 2), 0);
        expect(bytes.length).toBe((20 + 2 * expected.length + deltaBytes + 3) & ~3);
        expect(chunksOf(bytes, expected.length)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });
});

describe('twcc arrival-time helpers', () => {
  it('reference time is the first received packet floored to 64 ms; leading losses allowed', () => {
    const r = twccDeltasFromArrivalsUs([null, null, 130_100, 130_300, null]);
    expect(r.referenceTime64ms).toBe(2); // 128 ms
    expect(r.deltas).toEqual([null, null, 8, 1]); // 2100 us -> 8.4 -> 8; 130300 - 130000 = 300 -> 1
    expect(r.consumed).toBe(4); // trailing loss left for the next packet
  });

  it('rounds half away from zero and carries the rounding', () => {
    // 125 us -> 0.5 tick -> 1 (reconstructed 64250); 64375 is 125 us past that -> 1 again
    const r = twccDeltasFromArrivalsUs([64_000, 64_125, 64_375, 64_000 - 125]);
    expect(r.deltas).toEqual([0, 1, 1, -3]); // last: 63875 - 64500 = -625 -> -2.5 -> -3
  });

  it('stops before a delta that does not fit an int16 (> 8.19 s)', () => {
    const r = twccDeltasFromArrivalsUs([0, 1000, 1000 + 32768 * 250, 1000 + 32768 * 250 + 10]);
    expect(r.consumed).toBe(2);
    expect(r.deltas).toEqual([0, 4]);
    const next = twccDeltasFromArrivalsUs([1000 + 32768 * 250, 1000 + 32768 * 250 + 10]);
    expect(next.consumed).toBe(2);
  });

  it('wraps the reference time into signed 24 bits', () => {
    const wrap = 64_000 * 0x1000000;
    expect(twccDeltasFromArrivalsUs([wrap + 64_000 * 5]).referenceTime64ms).toBe(5);
    expect(twccDeltasFromArrivalsUs([wrap - 64_000]).referenceTime64ms).toBe(-1);
    expect(twccDeltasFromArrivalsUs([-1]).referenceTime64ms).toBe(-1);
  });

  it('returns nothing to send when nothing was received', () => {
    expect(twccDeltasFromArrivalsUs([null, null])).toEqual({ referenceTime64ms: 0, deltas: [], consumed: 0 });
  });

  it('splits long feedback into packets within a byte budget, covering every entry exactly once', () => {
    // 3000 packets, 10% lost, 1 ms apart with some large gaps
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let t = 5_000_000;
    const all: Array<number | null> = Array.from({ length: 3000 }, (_, i) => {
      t += i % 97 === 0 ? 80_000 : 1000 + Math.floor(rnd() * 200);
      return rnd() < 0.1 ? null : t;
    });
    all[all.length - 1] = t + 1000;
    let start = 0;
    let packets = 0;
    const rebuilt: Array<number | null> = [];
    while (start < all.length) {
      const r = twccDeltasFromArrivalsUs(all.slice(start), { maxBytes: 200 });
      expect(r.consumed).toBeGreaterThan(0);
      const bytes = serializeTwcc(fb(r.deltas, { baseSeq: start & 0xffff, referenceTime64ms: r.referenceTime64ms }));
      expect(bytes.length).toBeLessThanOrEqual(200);
      const back = arrivalsUsFromTwcc(parseTwcc(bytes, 0, bytes.length));
      rebuilt.push(...back);
      start += r.consumed;
      packets++;
    }
    // ~3000 entries at ~1.1 bytes each in 200-byte packets
    expect(packets).toBeGreaterThan(15);
    expect(rebuilt.length).toBe(all.length);
    all.forEach((v, i) => {
      if (v === null) expect(rebuilt[i]).toBeNull();
      else expect(Math.abs((rebuilt[i] ?? NaN) - v)).toBeLessThanOrEqual(125);
    });
  });

  it('TwccSizeCounter agrees with the serializer entry by entry', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -400, max: 400 }), { freq: 3 }), { minLength: 1, maxLength: 120 }), (ds) => {
        const c = new TwccSizeCounter();
        const acc: Array<number | null> = [];
        for (const d of ds) {
          expect(c.tryAdd(0, d)).toBe(true);
          acc.push(d);
          expect(c.packetBytes).toBe(twccSerializedLength(fb(acc)));
        }
        expect(c.count).toBe(ds.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('twcc fixture round trip (Chromium, chromium-plaintext-4s.pcap)', () => {
  const subs = rtcpSubPackets(readFixtureUdp()).filter((s) => s.pt === 205 && s.fmt === 15);
  it('holds the 60 transport-cc packets tshark counts', () => {
    // tshark -r chromium-plaintext-4s.pcap -d udp.port==43313,rtp -Y 'rtcp.pt==205 && rtcp.rtpfb.fmt==15' | wc -l -> 60
    expect(subs.length).toBe(60);
  });
  it('every packet parses and re-serializes to the same bytes', () => {
    let seqNext = -1;
    for (const s of subs) {
      const f = parseTwcc(s.bytes, 0, s.bytes.length);
      expect(toHex(serializeTwcc(f))).toBe(toHex(s.bytes));
      // consecutive feedback covers consecutive sequence numbers
      if (seqNext >= 0) expect(f.baseSeq).toBe(seqNext);
      seqNext = (f.baseSeq + f.deltas.length) & 0xffff;
    }
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

describe.skipIf(!hasTshark())('twcc packets we build decode in tshark (skipped: tshark not installed)', () => {
  it('tshark reads base seq, count, reference time, fb count, chunks and deltas', () => {
    const built: TwccFeedback[] = [
      fb([...Array<null>(20).fill(null), 5]),
      fb([1, null, 2, 3, null, null, 4, 5, 6, 7, 8, 9, 10, 11, 12, null, 300, -4], { baseSeq: 65530 }),
      fb([10, -4, null, 300], { referenceTime64ms: -5 }),
      fb(Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? null : i)), { fbPktCount: 200 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'twcc-tshark-'));
    try {
      const file = join(dir, 'built.pcap');
      writeFileSync(file, buildRawIpPcap(built.map((f) => serializeTwcc(f)), 40000, 40001));
      const fields = ['baseseq', 'statuscount', 'reftime', 'pktcount', 'pktchunk', 'recv_delta'];
      const out = execFileSync(
        'tshark',
        ['-r', file, '-d', 'udp.port==40001,rtcp', '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', `rtcp.rtpfb.transportcc.${f}`])],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const lines = out.trim().split('\n');
      expect(lines.length).toBe(built.length);
      lines.forEach((line, i) => {
        const f = built[i] as TwccFeedback;
        const [base, count, ref, pkt, chunks, deltas] = line.split(';');
        expect(Number(base)).toBe(f.baseSeq);
        expect(Number(count)).toBe(f.deltas.length);
        expect(Number(ref)).toBe(f.referenceTime64ms);
        expect(Number(pkt)).toBe(f.fbPktCount);
        const bytes = serializeTwcc(f);
        const nChunks = (chunks ?? '').split(',').length;
        expect((chunks ?? '').split(',').map(Number)).toEqual(chunksOf(bytes, nChunks));
        // tshark prints each recv delta as its raw field value: small as unsigned byte, large as 16 bits
        const received = f.deltas.filter((d): d is number => d !== null);
        expect((deltas ?? '').split(',').map(Number)).toEqual(received.map((d) => (d >= 0 && d <= 255 ? d : d & 0xffff)));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('twcc properties', () => {
  const delta = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }) },
    { weight: 1, arbitrary: fc.integer({ min: -0x8000, max: 0x7fff }) },
  );
  const feedback = fc.record({
    senderSsrc: fc.integer({ min: 0, max: 0xffffffff }),
    mediaSsrc: fc.integer({ min: 0, max: 0xffffffff }),
    baseSeq: fc.integer({ min: 0, max: 0xffff }),
    referenceTime64ms: fc.integer({ min: -0x800000, max: 0x7fffff }),
    fbPktCount: fc.integer({ min: 0, max: 255 }),
    deltas: fc.oneof(
      fc.array(fc.option(delta, { freq: 4 }), { minLength: 1, maxLength: 60 }),
      // long runs of one kind (run-length chunks, run breaks)
      fc
        .array(fc.tuple(fc.option(delta, { freq: 2 }), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 8 })
        .map((runs) => runs.flatMap(([d, n]) => Array<number | null>(n).fill(d))),
    ),
  });

  it('serialize -> parse is the identity', () => {
    fc.assert(
      fc.property(feedback, (f) => {
        const bytes = serializeTwcc(f);
        expect(bytes.length % 4).toBe(0);
        expect(parseTwcc(bytes, 0, bytes.length)).toEqual(f);
      }),
      { numRuns: 2000 },
    );
  });

  it('serialize into a provided buffer at an offset writes the same bytes', () => {
    fc.assert(
      fc.property(feedback, fc.integer({ min: 0, max: 16 }), (f, off) => {
        const alone = serializeTwcc(f);
        const out = new Uint8Array(off + alone.length + 5).fill(0xee);
        const view = serializeTwcc(f, out, off);
        expect(toHex(view)).toBe(toHex(alone));
        expect(out[off + alone.length]).toBe(0xee);
      }),
      { numRuns: 300 },
    );
  });

  function onlyParseErrors(bytes: Uint8Array): void {
    try {
      parseTwcc(bytes, 0, bytes.length);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }

  it('random buffers throw only ParseError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => onlyParseErrors(b)), { numRuns: 3000 });
  });

  it('random bodies behind a valid header throw only ParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 60 }), fc.boolean(), (body, pad) => {
        const words = Math.floor((16 + body.length) / 4);
        const b = new Uint8Array(4 + words * 4);
        b[0] = 0x8f | (pad ? 0x20 : 0);
        b[1] = 205;
        b[2] = words >> 8;
        b[3] = words & 0xff;
        b.set(body.subarray(0, b.length - 4), 4);
        onlyParseErrors(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('truncated and mutated valid packets throw only ParseError (and truncation is always caught)', () => {
    fc.assert(
      fc.property(feedback, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (f, cut, muts) => {
        const bytes = serializeTwcc(f);
        const short = bytes.subarray(0, cut % bytes.length);
        expect(() => parseTwcc(short, 0, short.length)).toThrow(ParseError);
        const m = Uint8Array.from(bytes);
        for (const [at, v] of muts) m[at % m.length] = v;
        onlyParseErrors(m);
      }),
      { numRuns: 2000 },
    );
  });
});
