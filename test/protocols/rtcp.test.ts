import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import {
  RtcpCompoundCursor,
  firEntryCount,
  forEachNackedSeq,
  isValidCompound,
  nackEntryCount,
  newRembView,
  newReportBlockView,
  newRtcpView,
  newSenderInfoView,
  parseRtcpPacket,
  readNackEntry,
  readRemb,
  readReportBlock,
  readSenderInfo,
  rewriteCompoundWithout,
  validateCompound,
  type RtcpKind,
} from '../../src/protocols/rtcp/index.js';
import { buildCompound, buildFeedback, buildNack, buildPli, buildRemb, buildRr, buildSr } from '../helpers/rtcp-packets.js';
import { demuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function onlyParseError(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
}

function kinds(buf: Uint8Array): RtcpKind[] {
  const c = new RtcpCompoundCursor().reset(buf, 0, buf.length);
  const out: RtcpKind[] = [];
  while (c.next()) out.push(c.view.kind);
  return out;
}

/** A TWCC FCI shell (base seq, status count, ref time, fb count, one run-length chunk, one delta). */
const TWCC_FCI = hex('0001 0001 000010 07 2001 04 00');

describe('rtcp: golden bytes', () => {
  it('RR with one report block (hand-built)', () => {
    // V=2 RC=1 PT=201 len=7 | SSRC 1 | block: SSRC 0x27a5aa6a, fraction 0x40, cum lost -2,
    // ext high seq 0x00010005, jitter 0x97, LSR 0x3a5479c7, DLSR 0x23e7
    const b = hex('81c9 0007 00000001 27a5aa6a 40 fffffe 00010005 00000097 3a5479c7 000023e7');
    const v = newRtcpView();
    parseRtcpPacket(b, 0, b.length, v);
    expect(v).toMatchObject({ kind: 'rr', byteLength: 32, count: 1, senderSsrc: 1, reportBlocksOffset: 8, reportCount: 1 });
    const rb = newReportBlockView();
    readReportBlock(b, v, 0, rb);
    expect(rb).toEqual({
      ssrc: 0x27a5aa6a,
      fractionLost: 0x40,
      cumulativeLost: -2,
      extendedHighestSeq: 0x00010005,
      jitter: 0x97,
      lastSr: 0x3a5479c7,
      delaySinceLastSr: 0x23e7,
    });
    expect(() => readReportBlock(b, v, 1, rb)).toThrow(ParseError);
    expect(buildRr(1, [rb])).toEqual(b);
  });

  it('SR sender info and builder', () => {
    const info = { ntpSeconds: 4004264531, ntpFraction: 1471236752, rtpTimestamp: 1596695312, packetCount: 35, octetCount: 31082 };
    const b = buildSr(0x27a5aa6a, info);
    expect(b.subarray(0, 8)).toEqual(hex('80c8 0006 27a5aa6a'));
    const v = newRtcpView();
    parseRtcpPacket(b, 0, b.length, v);
    expect(v.kind).toBe('sr');
    const si = newSenderInfoView();
    readSenderInfo(b, v, si);
    expect(si).toEqual(info);
  });

  it('generic NACK: PID/BLP packing and expansion', () => {
    const lost = [100, 101, 105, 116, 117, 200, 0xffff, 0];
    const b = buildNack(1, 0x27a5aa6a, lost);
    // 100 + BLP bits for 101 (bit0), 105 (bit4), 116 (bit15); 117 new entry; 200; 65535 + bit0 for 0
    expect(b).toEqual(hex('81cd 0006 00000001 27a5aa6a 0064 8011 0075 0000 00c8 0000 ffff 0001'));
    const v = newRtcpView();
    parseRtcpPacket(b, 0, b.length, v);
    expect(v).toMatchObject({ kind: 'nack', mediaSsrc: 0x27a5aa6a, fciOffset: 12, fciLength: 16 });
    expect(nackEntryCount(v)).toBe(4);
    expect(readNackEntry(b, v, 0)).toBe(0x00648011);
    const got: number[] = [];
    forEachNackedSeq(b, v, (s) => got.push(s));
    expect(got).toEqual(lost);
  });

  it('PLI, FIR, REMB, TWCC, CCFB, XR, SDES, BYE, APP, unknown PT', () => {
    const v = newRtcpView();
    const cases: Array<[Uint8Array, RtcpKind]> = [
      [buildPli(1, 2), 'pli'],
      [buildFeedback(206, 4, 1, 0, hex('00000002 07000000')), 'fir'],
      [buildRemb(1, 1_500_000, [0x27a5aa6a]), 'remb'],
      [buildFeedback(206, 15, 1, 0, hex('41424344 00000000')), 'psfb-other'],
      [buildFeedback(205, 15, 1, 2, TWCC_FCI), 'twcc'],
      [buildFeedback(205, 3, 1, 2, new Uint8Array(0)), 'rtpfb-other'],
      [hex('8bcd 0004 00000001 00000002 0001 0002 c000 8000 01020304'), 'ccfb'],
      [hex('80cf 0004 00000001 05000003 00000002 00000000'), 'xr'],
      [hex('81ca 0003 00000001 0102 6162 00000000'), 'sdes'],
      [hex('81cb 0001 00000001'), 'bye'],
      [hex('80cc 0003 00000001 6e616d65 00000000'), 'app'],
      [hex('80df 0001 00000001'), 'unknown'],
    ];
    for (const [b, k] of cases) {
      parseRtcpPacket(b, 0, b.length, v);
      expect(v.kind).toBe(k);
    }
    parseRtcpPacket(cases[1]![0], 0, 20, v);
    expect(firEntryCount(v)).toBe(1);
    const remb = cases[2]![0];
    parseRtcpPacket(remb, 0, remb.length, v);
    const r = newRembView();
    readRemb(remb, v, r);
    // 1_500_000 = 0x16e360 > 18 bits: mantissa 375000 x 2^2
    expect(r).toEqual({ bitrateBps: 1_500_000, ssrcCount: 1, ssrcsOffset: 20 });
    const twcc = cases[4]![0];
    parseRtcpPacket(twcc, 0, twcc.length, v);
    expect([v.fciOffset, v.fciLength, v.mediaSsrc]).toEqual([12, 12, 2]);
    const ccfb = cases[6]![0];
    parseRtcpPacket(ccfb, 0, ccfb.length, v);
    expect([v.fciOffset, v.fciLength, v.mediaSsrc]).toEqual([8, 12, -1]);
  });

  it('padding on the last sub-packet only; reduced-size rules', () => {
    const rr = buildRr(1);
    const padded = hex('a1cd 0004 00000001 00000002 00640000 00000004'); // NACK + 4 bytes padding
    const v = newRtcpView();
    parseRtcpPacket(padded, 0, padded.length, v);
    expect([v.kind, v.paddingLength, v.fciLength]).toEqual(['nack', 4, 4]);
    expect(validateCompound(buildCompound([rr, padded]), 0, rr.length + padded.length)).toBe(2);
    expect(isValidCompound(buildCompound([padded, rr]), 0, rr.length + padded.length)).toBe(false);
    const pli = buildPli(1, 2);
    expect(validateCompound(pli, 0, pli.length, true)).toBe(1); // RFC 5506
    expect(() => validateCompound(pli, 0, pli.length, false)).toThrow(expect.objectContaining({ reason: 'bad-header' }));
    expect(validateCompound(buildCompound([rr, pli]), 0, rr.length + pli.length, false)).toBe(2);
  });

  it.each([
    ['empty', '', 'truncated'],
    ['3 bytes', '80c900', 'truncated'],
    ['version 1', '40c9 0001 00000001', 'bad-version'],
    ['PT 100 (RTP range)', '8064 0001 00000001', 'bad-header'],
    ['length beyond datagram', '80c9 0002 00000001', 'truncated'],
    ['RR count 1 without block', '81c9 0001 00000001', 'bad-length'],
    ['padding count 0', 'a0c9 0001 00000000', 'bad-length'],
    ['padding larger than packet', 'a0c9 0001 000000ff', 'bad-length'],
    ['NACK without FCI', '81cd 0002 00000001 00000002', 'bad-length'],
    ['FIR with half an entry', '84ce 0003 00000001 00000000 00000002', 'bad-length'],
  ])('rejects %s', (_n, h, reason) => {
    const b = hex(h);
    expect(() => parseRtcpPacket(b, 0, b.length, newRtcpView())).toThrow(expect.objectContaining({ reason }));
  });

  it('trailing garbage after the chain is an error for validateCompound', () => {
    const b = buildCompound([buildRr(1), hex('0000')]);
    expect(() => validateCompound(b, 0, b.length)).toThrow(ParseError);
  });
});

describe('rtcp: rewriteCompoundWithout', () => {
  const sr = buildSr(9, { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, [{ ssrc: 7 }]);
  const twcc = buildFeedback(205, 15, 1, 2, TWCC_FCI);
  const nack = buildNack(1, 2, [5]);
  const rr = buildRr(1, [{ ssrc: 2, jitter: 3 }]);

  it.each([
    ['SR+TWCC+NACK', [sr, twcc, nack], [sr, nack]],
    ['TWCC+RR+TWCC', [twcc, rr, twcc], [rr]],
    ['TWCC alone', [twcc], []],
    ['no TWCC', [rr, nack], [rr, nack]],
  ])('in place: %s', (_n, parts, kept) => {
    const b = buildCompound(parts);
    const n = rewriteCompoundWithout(b, 0, b.length, (v) => v.kind === 'twcc');
    expect(n).toBe(kept.reduce((s, p) => s + p.length, 0));
    expect(b.subarray(0, n)).toEqual(buildCompound(kept));
    if (n > 0) expect(validateCompound(b, 0, n)).toBe(kept.length);
  });

  it('into another buffer at an offset, leaving the source untouched', () => {
    const b = buildCompound([rr, twcc, nack]);
    const copy = b.slice();
    const out = new Uint8Array(100).fill(0xee);
    const n = rewriteCompoundWithout(b, 0, b.length, (v) => v.kind === 'twcc', out, 10);
    expect(out.subarray(10, 10 + n)).toEqual(buildCompound([rr, nack]));
    expect(out[9]).toBe(0xee);
    expect(b).toEqual(copy);
  });

  it('a malformed compound throws before writing anything', () => {
    const b = buildCompound([twcc, rr, hex('80c9 0005')]);
    const copy = b.slice();
    expect(() => rewriteCompoundWithout(b, 0, b.length, (v) => v.kind === 'twcc')).toThrow(ParseError);
    expect(b).toEqual(copy);
  });

  it('property: kept sub-packets come out in order, byte-identical', () => {
    const pool = [sr, twcc, nack, rr, buildPli(3, 4), buildRemb(1, 300_000, [2])];
    fc.assert(
      fc.property(fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 63 }), (idx, mask) => {
        const parts = idx.map((i) => pool[i]!);
        const b = buildCompound(parts);
        const dropIdx = (i: number): boolean => ((mask >> (i % 6)) & 1) === 1;
        let k = 0;
        const n = rewriteCompoundWithout(b, 0, b.length, () => dropIdx(k++));
        expect(b.subarray(0, n)).toEqual(buildCompound(parts.filter((_, i) => !dropIdx(i))));
      }),
      { numRuns: 500 },
    );
  });
});

describe('rtcp: robustness (only ParseError)', () => {
  const valid = buildCompound([
    buildSr(9, { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, [{ ssrc: 7 }]),
    buildNack(1, 2, [5, 6, 30]),
    buildRemb(1, 300_000, [2]),
    buildFeedback(205, 15, 1, 2, TWCC_FCI),
  ]);
  const exercise = (b: Uint8Array): void => {
    const c = new RtcpCompoundCursor().reset(b, 0, b.length);
    const rb = newReportBlockView();
    const r = newRembView();
    onlyParseError(() => {
      while (c.next()) {
        const v = c.view;
        for (let i = 0; i < v.reportCount; i++) readReportBlock(b, v, i, rb);
        if (v.kind === 'nack') forEachNackedSeq(b, v, () => undefined);
        if (v.kind === 'remb') readRemb(b, v, r);
      }
    });
    onlyParseError(() => rewriteCompoundWithout(b, 0, b.length, (v) => v.kind === 'twcc'));
  };
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), exercise), { numRuns: 3000 });
  });
  it('random bytes with an RTCP-looking first word', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 192, max: 223 }), fc.uint8Array({ maxLength: 100 }), (a, pt, rest) =>
        exercise(Uint8Array.from([a, pt, 0, rest.length >> 2, ...rest])),
      ),
      { numRuns: 3000 },
    );
  });
  it('truncated / mutated valid compounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length }),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (cut, muts) => {
          const b = valid.slice(0, cut);
          for (const [i, x] of muts) if (i < b.length) b[i] = x;
          exercise(b);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('rtcp: chromium-plaintext-4s.pcap', () => {
  const dgrams = readUdpPayloads(fixturePath('chromium-plaintext-4s.pcap'));
  const rtcp = dgrams.filter((d) => demuxClass(d.payload) === 'rtcp');

  it('every RTCP datagram is a complete, valid compound; sub-packet counts match tshark', () => {
    // tshark -r chromium-plaintext-4s.pcap -d udp.port==35281,rtp -Y rtcp -T fields -e rtcp.pt
    //   -e rtcp.rtpfb.fmt -E occurrence=a | sort | uniq -c:
    //   8 x SR+SDES, 4 x SR+SDES+XR, 4 x RR+XR, 60 x RTPFB FMT 15 (76 compounds)
    expect(rtcp.length).toBe(76);
    const count = new Map<string, number>();
    const shapes = new Map<string, number>();
    for (const d of rtcp) {
      expect(d.payload.length).toBe(d.wireLength); // RTCP is not truncated by the snap length
      validateCompound(d.payload, 0, d.payload.length, true);
      const ks = kinds(d.payload);
      shapes.set(ks.join('+'), (shapes.get(ks.join('+')) ?? 0) + 1);
      for (const k of ks) count.set(k, (count.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(count)).toEqual({ sr: 12, sdes: 12, xr: 8, rr: 4, twcc: 60 });
    expect(Object.fromEntries(shapes)).toEqual({ 'sr+sdes': 8, 'sr+sdes+xr': 4, 'rr+xr': 4, twcc: 60 });
  });

  it('TWCC feedback is reduced-size (alone) and comes from the receiver; RR blocks match tshark', () => {
    const v = newRtcpView();
    const rb = newReportBlockView();
    const rrs: string[] = [];
    for (const d of rtcp) {
      const c = new RtcpCompoundCursor().reset(d.payload, 0, d.payload.length);
      while (c.next()) {
        if (c.view.kind === 'twcc') {
          expect(isValidCompound(d.payload, 0, d.payload.length, false)).toBe(false);
          expect(d.src).toBe('10.78.2.1');
          expect(c.view.fciLength).toBeGreaterThanOrEqual(8);
        }
        if (c.view.kind === 'rr') {
          Object.assign(v, c.view);
          for (let i = 0; i < v.reportCount; i++) {
            readReportBlock(d.payload, v, i, rb);
            rrs.push(`${d.frame}:${rb.ssrc.toString(16)}:${rb.extendedHighestSeq}:${rb.jitter}:${rb.lastSr}:${rb.delaySinceLastSr}`);
          }
        }
      }
    }
    // tshark ... -Y 'rtcp.pt==201' -T fields -e frame.number -e rtcp.ssrc.identifier -e rtcp.ssrc.high_seq
    //   -e rtcp.ssrc.jitter -e rtcp.ssrc.lsr -e rtcp.ssrc.dlsr
    expect(rrs).toEqual([
      '48:6bb4bce5:31516:149:0:0',
      '48:27a5aa6a:4449:469:0:0',
      '312:6bb4bce5:31516:149:978620423:9191',
      '312:27a5aa6a:4681:97:978620423:9191',
      '461:6bb4bce5:31516:149:978666502:7126',
      '461:27a5aa6a:4812:78:978666502:7126',
      '675:6bb4bce5:31516:149:978728240:5828',
      '675:27a5aa6a:5007:87:978728240:5828',
    ]);
  });

  it('first SR sender info matches tshark (frame 54)', () => {
    const d = rtcp.find((x) => x.frame === 54)!;
    const v = newRtcpView();
    parseRtcpPacket(d.payload, 0, d.payload.length, v);
    const si = newSenderInfoView();
    readSenderInfo(d.payload, v, si);
    // tshark: rtcp.senderssrc 0x27a5aa6a, ntp msw 4004264531, lsw 1471236752, rtp ts 1596695312, 35 pkts, 31082 octets
    expect([v.senderSsrc, si.ntpSeconds, si.ntpFraction, si.rtpTimestamp, si.packetCount, si.octetCount]).toEqual([
      0x27a5aa6a, 4004264531, 1471236752, 1596695312, 35, 31082,
    ]);
  });

  it('stripping TWCC from every compound leaves exactly the 16 SR/RR compounds, still valid', () => {
    let kept = 0;
    let bytes = 0;
    for (const d of rtcp) {
      const b = d.payload.slice();
      const n = rewriteCompoundWithout(b, 0, b.length, (v) => v.kind === 'twcc');
      if (n > 0) {
        kept++;
        validateCompound(b, 0, n, false);
        expect(b.subarray(0, n)).toEqual(d.payload);
        bytes += n;
      }
    }
    expect(kept).toBe(16);
    expect(bytes).toBeGreaterThan(0);
  });
});
