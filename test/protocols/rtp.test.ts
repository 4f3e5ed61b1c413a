import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import {
  RtpExtensionCursor,
  findExtension,
  forEachExtension,
  newRtpExtensionElement,
  newRtpView,
  parseRtp,
  parseRtpHeader,
  readCsrc,
  readTransportWideSeq,
} from '../../src/protocols/rtp.js';
import { buildRtp } from '../helpers/rtp-packets.js';
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

describe('rtp: golden bytes', () => {
  // V=2 X=1 CC=1, M=1 PT=96, seq 0x1234, ts 0xdeadbeef, SSRC 0x11223344, CSRC 0x55667788,
  // 0xBEDE ext of 2 words: id 4 len 2 (0x0102), id 2 len 3 (0xaabbcc), 1 padding byte; payload 'hi'
  const golden = hex('91 e0 1234 deadbeef 11223344 55667788 bede 0002 41 0102 22 aabbcc 00 6869');

  it('parses the fixed header, CSRC and extension block', () => {
    const v = newRtpView();
    parseRtp(golden, 0, golden.length, v);
    expect(v).toMatchObject({
      padding: false,
      extension: true,
      csrcCount: 1,
      marker: true,
      payloadType: 96,
      sequenceNumber: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x11223344,
      extProfile: 0xbede,
      extForm: 'one-byte',
      extOffset: 20,
      extLength: 8,
      payloadOffset: 28,
      payloadLength: 2,
      paddingLength: 0,
    });
    expect(readCsrc(golden, v, 0)).toBe(0x55667788);
    expect(() => readCsrc(golden, v, 1)).toThrow(ParseError);
  });

  it('finds elements, skips padding bytes, reads the transport-wide seq', () => {
    const v = newRtpView();
    parseRtpHeader(golden, 0, golden.length, v);
    const el = newRtpExtensionElement();
    expect(findExtension(golden, v, 2, el)).toBe(true);
    expect(el).toEqual({ id: 2, offset: 24, length: 3 });
    expect(findExtension(golden, v, 9, el)).toBe(false);
    expect(readTransportWideSeq(golden, v, 4)).toBe(0x0102);
    expect(readTransportWideSeq(golden, v, 2)).toBe(-1); // 3 bytes: not a TW seq
    expect(readTransportWideSeq(golden, v, 7)).toBe(-1);
    const seen: Array<[number, number, number]> = [];
    forEachExtension(golden, v, (id, off, len) => seen.push([id, off, len]));
    expect(seen).toEqual([
      [4, 21, 2],
      [2, 24, 3],
    ]);
  });

  it('two-byte form (0x100X) with an id above 14, a zero-length element and padding', () => {
    // 0x1005 appbits 5, 3 words: id 20 len 2 (0xbeef), padding 00, id 7 len 0, id 255 len 3, pad
    const b = hex('9000 0001 00000002 00000003 1005 0003 14 02 beef 00 07 00 ff 03 010203 00');
    const v = newRtpView();
    parseRtp(b, 0, b.length, v);
    expect(v.extForm).toBe('two-byte');
    expect(v.extProfile).toBe(0x1005);
    const c = new RtpExtensionCursor().reset(b, v);
    const got: Array<[number, number]> = [];
    while (c.next()) got.push([c.id, c.length]);
    expect(got).toEqual([
      [20, 2],
      [7, 0],
      [255, 3],
    ]);
    expect(readTransportWideSeq(b, v, 20)).toBe(0xbeef);
  });

  it('one-byte id 15 stops processing; other profiles yield no elements', () => {
    const b = hex('9000 0001 00000002 00000003 bede 0001 f0 41 0102');
    const v = newRtpView();
    parseRtp(b, 0, b.length, v);
    expect(readTransportWideSeq(b, v, 4)).toBe(-1);
    const o = hex('9000 0001 00000002 00000003 abcd 0001 41010200');
    parseRtp(o, 0, o.length, v);
    expect(v.extForm).toBe('other');
    expect(new RtpExtensionCursor().reset(o, v).next()).toBe(false);
  });

  it('padding: parseRtp strips it, parseRtpHeader ignores it', () => {
    const b = hex('a0 60 0001 00000002 00000003 aabbcc 000003');
    const v = newRtpView();
    parseRtp(b, 0, b.length, v);
    expect([v.payloadLength, v.paddingLength]).toEqual([3, 3]);
    parseRtpHeader(b, 0, b.length, v);
    expect([v.payloadLength, v.paddingLength]).toEqual([6, 0]);
  });

  it.each([
    ['empty', '', 'truncated'],
    ['11 bytes', '8060000100000002000000', 'truncated'],
    ['version 1', '4060000100000002 00000003', 'bad-version'],
    ['CSRC beyond end', '8260000100000002 00000003 00000004', 'truncated'],
    ['extension header missing', '9060000100000002 00000003 bede', 'truncated'],
    ['extension longer than packet', '9060000100000002 00000003 bede 0002 41010200', 'truncated'],
    ['padding count 0', 'a060000100000002 00000003 aa00', 'bad-length'],
    ['padding beyond payload', 'a060000100000002 00000003 aa05', 'bad-length'],
  ])('rejects %s', (_name, h, reason) => {
    const b = hex(h);
    expect(() => parseRtp(b, 0, b.length, newRtpView())).toThrow(expect.objectContaining({ reason }));
  });

  it('element overrunning the block throws ParseError from the cursor', () => {
    const b = hex('9000 0001 00000002 00000003 bede 0001 43 010203');
    const v = newRtpView();
    parseRtp(b, 0, b.length, v);
    const c = new RtpExtensionCursor().reset(b, v);
    expect(() => c.next()).toThrow(expect.objectContaining({ reason: 'bad-length' }));
  });
});

describe('rtp: writer round trip', () => {
  it('buildRtp -> parseRtp restores every field (one-byte and two-byte)', () => {
    fc.assert(
      fc.property(
        fc.record({
          payloadType: fc.integer({ min: 0, max: 127 }),
          sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
          timestamp: fc.integer({ min: 0, max: 0xffffffff }),
          ssrc: fc.integer({ min: 0, max: 0xffffffff }),
          marker: fc.boolean(),
          csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
          twoByte: fc.boolean(),
          exts: fc.uniqueArray(
            fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
            { selector: (e) => e.id, maxLength: 5 },
          ),
          payload: fc.uint8Array({ maxLength: 40 }),
          padding: fc.integer({ min: 0, max: 8 }),
        }),
        (o) => {
          const b = buildRtp({ ...o, extensions: o.exts, extensionForm: o.twoByte ? 'two-byte' : 'one-byte' });
          const v = newRtpView();
          parseRtp(b, 0, b.length, v);
          expect([v.payloadType, v.sequenceNumber, v.timestamp, v.ssrc, v.marker]).toEqual([
            o.payloadType,
            o.sequenceNumber,
            o.timestamp,
            o.ssrc,
            o.marker,
          ]);
          expect(o.csrcs.map((_, i) => readCsrc(b, v, i))).toEqual(o.csrcs);
          expect(v.extForm).toBe(o.exts.length === 0 ? 'none' : o.twoByte ? 'two-byte' : 'one-byte');
          const el = newRtpExtensionElement();
          for (const e of o.exts) {
            expect(findExtension(b, v, e.id, el)).toBe(true);
            expect(b.subarray(el.offset, el.offset + el.length)).toEqual(e.data);
          }
          expect(b.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)).toEqual(o.payload);
          expect(v.paddingLength).toBe(o.padding);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('rtp: robustness (only ParseError)', () => {
  it('random bytes', () => {
    const v = newRtpView();
    const c = new RtpExtensionCursor();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (b, id) => {
        onlyParseError(() => {
          parseRtp(b, 0, b.length, v);
          readTransportWideSeq(b, v, id);
          c.reset(b, v);
          while (c.next());
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('truncated and mutated valid packets', () => {
    const v = newRtpView();
    const base = buildRtp({
      payloadType: 96,
      sequenceNumber: 1,
      timestamp: 2,
      ssrc: 3,
      csrcs: [7],
      extensions: [
        { id: 4, data: Uint8Array.of(1, 2) },
        { id: 2, data: Uint8Array.of(1, 2, 3) },
      ],
      payload: new Uint8Array(10),
      padding: 2,
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length }),
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (cut, muts) => {
          const b = base.slice(0, cut);
          for (const [i, x] of muts) if (i < b.length) b[i] = x;
          onlyParseError(() => {
            parseRtp(b, 0, b.length, v);
            readTransportWideSeq(b, v, 4);
          });
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('rtp: chromium-plaintext-4s.pcap', () => {
  const dgrams = readUdpPayloads(fixturePath('chromium-plaintext-4s.pcap'));
  const rtp = dgrams.filter((d) => demuxClass(d.payload) === 'rtp');

  it('every RTP datagram parses (header only: payloads are snap-length truncated)', () => {
    // tshark -r chromium-plaintext-4s.pcap -d udp.port==35281,rtp -Y rtp : 694 RTP frames
    expect(rtp.length).toBe(694);
    const v = newRtpView();
    const pts = new Map<string, number>();
    for (const d of rtp) {
      parseRtpHeader(d.payload, 0, d.payload.length, v);
      const k = `${v.payloadType}/${v.ssrc.toString(16)}`;
      pts.set(k, (pts.get(k) ?? 0) + 1);
    }
    // tshark ... -T fields -e rtp.p_type -e rtp.ssrc | sort | uniq -c
    expect(Object.fromEntries(pts)).toEqual({ '118/27a5aa6a': 687, '119/6bb4bce5': 4, '97/6bb4bce5': 3 });
  });

  it('ext id 4 carries a transport-wide counter that rises by one across both SSRCs', () => {
    const v = newRtpView();
    const seqs: number[] = [];
    for (const d of rtp) {
      parseRtpHeader(d.payload, 0, d.payload.length, v);
      seqs.push(readTransportWideSeq(d.payload, v, 4));
    }
    expect(seqs.every((s) => s >= 0)).toBe(true);
    // one sender: every packet is exactly the previous + 1 (no loss before the AP)
    const steps = seqs.slice(1).map((s, i) => (s - seqs[i]!) & 0xffff);
    expect(new Set(steps)).toEqual(new Set([1]));
    // abs-send-time (id 2) is 3 bytes: never a TW seq
    parseRtpHeader(rtp[0]!.payload, 0, rtp[0]!.payload.length, v);
    expect(readTransportWideSeq(rtp[0]!.payload, v, 2)).toBe(-1);
  });
});
