import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import {
  QUIC_VERSION_1,
  QUIC_VERSION_2,
  QUIC_VERSION_DRAFT_29,
  looksLikeQuicLong,
  looksLikeQuicShort,
  newQuicHeaderView,
  parseQuicLongHeader,
  parseQuicShortHeader,
} from '../../src/protocols/quic.js';
import { buildQuicInitialHeader } from '../helpers/quic-packets.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// RFC 9001 Appendix A.2: the client Initial's unprotected header (PN 2, 4-byte PN, Length 0x449e)
const RFC9001_A2_HEADER = hex('c300000001088394c8f03e5157080000449e00000002');
// ... and the same header after header protection (A.2, first 22 bytes of the protected packet)
const RFC9001_A2_PROTECTED = hex('c000000001088394c8f03e5157080000449e7b9aec34');

describe('quic long header', () => {
  it('RFC 9001 A.2 client Initial header (unprotected and protected)', () => {
    for (const b of [RFC9001_A2_HEADER, RFC9001_A2_PROTECTED]) {
      const v = newQuicHeaderView();
      parseQuicLongHeader(b, 0, b.length, v);
      expect(v).toMatchObject({
        form: 'long',
        fixedBit: true,
        longType: 'initial',
        version: QUIC_VERSION_1,
        dcidLength: 8,
        dcidOffset: 6,
        scidLength: 0,
        scidOffset: 15,
        tokenOffset: 16,
        tokenLength: 0,
        payloadLength: 1182, // varint 0x449e
        pnOffset: 18,
        packetEnd: b.length, // clamped: only the header is here
      });
      expect(Buffer.from(b.subarray(v.dcidOffset, v.dcidOffset + v.dcidLength)).toString('hex')).toBe('8394c8f03e515708');
      expect(looksLikeQuicLong(b)).toBe(true);
    }
  });

  it('hand-built Initial header equals the RFC bytes', () => {
    const b = buildQuicInitialHeader({
      version: QUIC_VERSION_1,
      dcid: hex('8394c8f03e515708'),
      scid: new Uint8Array(0),
      length: 1182,
      packetNumber: 2,
      pnLength: 4,
    });
    expect(b).toEqual(RFC9001_A2_HEADER);
  });

  it.each([
    ['v1 Initial', QUIC_VERSION_1, 0xc0, 'initial'],
    ['v1 0-RTT', QUIC_VERSION_1, 0xd0, '0rtt'],
    ['v1 Handshake', QUIC_VERSION_1, 0xe0, 'handshake'],
    ['draft-29 Handshake', QUIC_VERSION_DRAFT_29, 0xe0, 'handshake'],
    ['v2 Initial (type bits 01)', QUIC_VERSION_2, 0xd0, 'initial'],
    ['v2 0-RTT (10)', QUIC_VERSION_2, 0xe0, '0rtt'],
    ['v2 Handshake (11)', QUIC_VERSION_2, 0xf0, 'handshake'],
  ])('%s', (_n, version, b0, type) => {
    const isInitial = type === 'initial';
    const vb = [(version >>> 24) & 0xff, (version >>> 16) & 0xff, (version >>> 8) & 0xff, version & 0xff];
    // DCID 4 bytes, SCID 2 bytes, [token len 1, token 0xaa], Length 3 (1-byte varint), PN 1 + 2 bytes
    const b = Uint8Array.from([b0, ...vb, 4, 1, 2, 3, 4, 2, 9, 9, ...(isInitial ? [1, 0xaa] : []), 3, 0, 0xee, 0xee, 0xff]);
    const v = newQuicHeaderView();
    parseQuicLongHeader(b, 0, b.length, v);
    expect(v.longType).toBe(type);
    expect([v.dcidLength, v.scidLength, v.scidOffset, v.payloadLength]).toEqual([4, 2, 11, 3]);
    expect(v.tokenLength).toBe(isInitial ? 1 : 0);
    expect(v.packetEnd).toBe(b.length - 1); // coalesced: one byte of the next packet follows
  });

  it('v2 Initial built by the builder uses type bits 01', () => {
    const b = buildQuicInitialHeader({ version: QUIC_VERSION_2, dcid: hex('0102'), scid: hex('03'), token: hex('abcd'), length: 1, packetNumber: 0, pnLength: 1 });
    expect(b[0]).toBe(0xd0);
    const v = newQuicHeaderView();
    parseQuicLongHeader(b, 0, b.length, v);
    expect([v.longType, v.tokenLength, v.payloadLength]).toEqual(['initial', 2, 1]);
  });

  it('Retry and Version Negotiation', () => {
    const v = newQuicHeaderView();
    const retry = Uint8Array.from([0xf0, 0, 0, 0, 1, 1, 7, 1, 8, 0x11, 0x22, ...new Array<number>(16).fill(0xcc)]);
    parseQuicLongHeader(retry, 0, retry.length, v);
    expect([v.longType, v.tokenOffset, v.tokenLength]).toEqual(['retry', 9, 2]);
    const vn = hex('80 00000000 01 aa 01 bb 00000001 6b3343cf');
    parseQuicLongHeader(vn, 0, vn.length, v);
    expect([v.longType, v.pnOffset]).toEqual(['version-negotiation', 9]);
    expect(looksLikeQuicLong(vn)).toBe(true);
  });

  it('accepts a long header with the fixed bit cleared (grease_quic_bit, RFC 9287; ngtcp2 sends 0x8f)', () => {
    const b = hex('8f 00000001 00 00 00 01 00');
    const v = newQuicHeaderView();
    parseQuicLongHeader(b, 0, b.length, v);
    expect(v).toMatchObject({ form: 'long', fixedBit: false, longType: 'initial' });
    expect(looksLikeQuicLong(b)).toBe(true);
  });

  it.each([
    ['short header form', '40 00000001 00 00 00 01 00', 'bad-header'],
    ['unknown version', 'c0 0a0a0a0a 00 00 00 01 00', 'unsupported'],
    ['DCID of 21 bytes', `c0 00000001 15 ${'00'.repeat(21)} 00 00 01 00`, 'bad-length'],
    ['DCID beyond datagram', 'c0 00000001 08 0102', 'truncated'],
    ['token beyond datagram', 'c0 00000001 00 00 05 01', 'truncated'],
    ['zero Length', 'c0 00000001 00 00 00 00 00', 'bad-length'],
    ['4-byte varint cut', 'c0 00000001 00 00 00 80 00', 'truncated'],
    ['VN with a partial version', '80 00000000 00 00 000001', 'bad-length'],
    ['Retry without integrity tag', 'f0 00000001 00 00 0102', 'truncated'],
  ])('rejects %s', (_n, h, reason) => {
    const b = hex(h);
    expect(() => parseQuicLongHeader(b, 0, b.length, newQuicHeaderView())).toThrow(expect.objectContaining({ reason }));
    expect(looksLikeQuicLong(b)).toBe(false);
  });
});

describe('quic short header', () => {
  it('reads the spin bit and the DCID the caller knows the length of', () => {
    const v = newQuicHeaderView();
    const b = Uint8Array.from([0x61, 1, 2, 3, 4, 5, 6, 7, 8, 0x99, ...new Array<number>(20).fill(0)]);
    parseQuicShortHeader(b, 0, b.length, 8, v);
    expect(v).toMatchObject({ form: 'short', fixedBit: true, spinBit: true, dcidOffset: 1, dcidLength: 8, pnOffset: 9 });
    b[0] = 0x41;
    parseQuicShortHeader(b, 0, b.length, 8, v);
    expect(v.spinBit).toBe(false);
    expect(looksLikeQuicShort(b, 8)).toBe(true);
    expect(looksLikeQuicShort(b.subarray(0, 20), 8)).toBe(false); // no room for the AEAD tag
    expect(looksLikeQuicShort(Uint8Array.of(0x01, ...b.subarray(1)), 8)).toBe(false); // fixed bit clear
    expect(looksLikeQuicShort(Uint8Array.of(0xc1, ...b.subarray(1)), 8)).toBe(false); // long form
    expect(() => parseQuicShortHeader(b, 0, b.length, 21, v)).toThrow(ParseError);
    expect(() => parseQuicShortHeader(b, 0, 5, 8, v)).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });

  it('RFC 9001 A.5 ChaCha20 short-header packet (empty DCID)', () => {
    const b = hex('4cfe4189655e5cd55c41f69080575d7999c25a5bfb');
    const v = newQuicHeaderView();
    parseQuicShortHeader(b, 0, b.length, 0, v);
    expect([v.form, v.fixedBit, v.spinBit, v.pnOffset]).toEqual(['short', true, false, 1]);
    expect(looksLikeQuicShort(b, 0)).toBe(true);
    expect(looksLikeQuicLong(b)).toBe(false);
  });
});

describe('quic robustness', () => {
  it('random and mutated input: only ParseError; looksLike* never throw', () => {
    const v = newQuicHeaderView();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 60 }),
          fc
            .tuple(fc.constantFrom(0x80, 0xc0, 0xd0, 0xe0, 0xf0), fc.constantFrom(0, 1, 0x6b3343cf, 0xff00001d, 7), fc.uint8Array({ maxLength: 40 }))
            .map(([b0, ver, rest]) => Uint8Array.from([b0, ver >>> 24, (ver >>> 16) & 0xff, (ver >>> 8) & 0xff, ver & 0xff, ...rest])),
          fc.tuple(fc.integer({ min: 0, max: 22 }), fc.nat(21), fc.integer({ min: 0, max: 255 })).map(([cut, i, x]) => {
            const b = RFC9001_A2_HEADER.slice(0, cut);
            if (i < b.length) b[i] = x;
            return b;
          }),
        ),
        fc.integer({ min: 0, max: 20 }),
        (b, dl) => {
          for (const f of [() => parseQuicLongHeader(b, 0, b.length, v), () => parseQuicShortHeader(b, 0, b.length, dl, v)]) {
            try {
              f();
            } catch (e) {
              if (!(e instanceof ParseError)) throw e;
            }
          }
          // the pre-checked fast path agrees with the full parser
          let parsed = false;
          try {
            parseQuicLongHeader(b, 0, b.length, v);
            parsed = v.dcidLength <= 20 && v.scidLength <= 20;
          } catch (e) {
            if (!(e instanceof ParseError)) throw e;
          }
          expect(looksLikeQuicLong(b)).toBe(parsed);
          looksLikeQuicShort(b, dl);
        },
      ),
      { numRuns: 4000 },
    );
  });
});
