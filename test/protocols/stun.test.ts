import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import { STUN_METHOD_BINDING, looksLikeStun, newStunView, parseStun } from '../../src/protocols/stun.js';
import { demuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('stun', () => {
  it('parses a hand-built Binding success response', () => {
    // type 0x0101, length 12, cookie, txid, XOR-MAPPED-ADDRESS (0x0020, 8 bytes)
    const b = hex('0101 000c 2112a442 b7e7a701bc34d686fa87dfae 0020 0008 0001a147e112a643');
    const v = newStunView();
    parseStun(b, 0, b.length, v);
    expect(v).toEqual({
      offset: 0,
      messageType: 0x0101,
      method: STUN_METHOD_BINDING,
      messageClass: 'success',
      length: 12,
      transactionIdOffset: 8,
      attributesOffset: 20,
    });
    expect(looksLikeStun(b)).toBe(true);
  });

  it.each([
    ['0001', 'request', 1],
    ['0011', 'indication', 1],
    ['0101', 'success', 1],
    ['0111', 'error', 1],
    ['0003', 'request', 3], // Allocate (TURN)
    ['0113', 'error', 3],
    ['3eef', 'request', 0xfff],
    ['3fff', 'error', 0xfff],
  ])('type %s -> %s method %i', (t, cls, method) => {
    const b = hex(`${t} 0000 2112a442 000000000000000000000000`);
    const v = newStunView();
    parseStun(b, 0, b.length, v);
    expect([v.messageClass, v.method]).toEqual([cls, method]);
  });

  it.each([
    ['short', '0001 0000 2112a442', 'truncated'],
    ['top bits set', '4001 0000 2112a442 000000000000000000000000', 'bad-header'],
    ['bad cookie', '0001 0000 2112a443 000000000000000000000000', 'bad-header'],
    ['length not aligned', '0001 0002 2112a442 000000000000000000000000 0000', 'bad-length'],
    ['length beyond datagram', '0001 0008 2112a442 000000000000000000000000 0000', 'truncated'],
  ])('rejects %s', (_n, h, reason) => {
    const b = hex(h);
    expect(() => parseStun(b, 0, b.length, newStunView())).toThrow(expect.objectContaining({ reason }));
    expect(looksLikeStun(b)).toBe(false);
  });

  it('random and mutated input: only ParseError, and looksLikeStun agrees with parseStun', () => {
    const v = newStunView();
    const base = hex('0001 0008 2112a442 b7e7a701bc34d686fa87dfae 00060004 61626364');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc
            .tuple(fc.integer({ min: 0, max: base.length }), fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }))
            .map(([cut, i, x]) => {
              const b = base.slice(0, cut);
              if (i < b.length) b[i] = x;
              return b;
            }),
        ),
        (b) => {
          let ok = true;
          try {
            parseStun(b, 0, b.length, v);
          } catch (e) {
            if (!(e instanceof ParseError)) throw e;
            ok = false;
          }
          expect(looksLikeStun(b)).toBe(ok);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('fixture: the 20 STUN datagrams are Binding requests/responses (10 each), matching tshark', () => {
    const v = newStunView();
    const t: Record<string, number> = {};
    for (const d of readUdpPayloads(fixturePath('chromium-plaintext-4s.pcap'))) {
      if (demuxClass(d.payload) !== 'stun') continue;
      parseStun(d.payload, 0, d.payload.length, v);
      expect(v.method).toBe(STUN_METHOD_BINDING);
      expect(v.offset + 20 + v.length).toBe(d.wireLength);
      t[v.messageClass] = (t[v.messageClass] ?? 0) + 1;
    }
    // tshark -Y stun -T fields -e stun.type: 10 x 0x0001, 10 x 0x0101
    expect(t).toEqual({ request: 10, success: 10 });
  });
});
