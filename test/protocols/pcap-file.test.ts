import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/protocols/errors.js';
import { detectCaptureFormat, pcapWriter, readCapture, type CaptureRecord } from '../../src/protocols/pcap-file.js';
import { golden, onlyParseError } from './packet.helpers.js';

const FIXTURES = new URL('../../../shared/fixtures/webrtc/', import.meta.url);

// ---- hand-built files, laid out from the pcap / pcapng specifications (draft-ietf-opsawg-pcap, -pcapng) ----
class Bytes {
  readonly a: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this {
    this.a.push(v & 255);
    return this;
  }
  u16(v: number): this {
    const b = [(v >>> 8) & 255, v & 255];
    this.a.push(...(this.le ? b.reverse() : b));
    return this;
  }
  u32(v: number): this {
    const b = [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    this.a.push(...(this.le ? b.reverse() : b));
    return this;
  }
  bytes(d: ArrayLike<number>): this {
    for (let i = 0; i < d.length; i++) this.a.push(d[i]!);
    return this;
  }
  pad(): this {
    while (this.a.length % 4 !== 0) this.a.push(0);
    return this;
  }
}

function block(le: boolean, type: number, body: number[]): number[] {
  const total = 12 + body.length;
  return new Bytes(le).u32(type).u32(total).bytes(body).u32(total).a;
}
function shb(le: boolean): number[] {
  return block(le, 0x0a0d0d0a, new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).a);
}
function idb(le: boolean, linkType: number, tsresol?: number, tsoffsetS?: number): number[] {
  const b = new Bytes(le).u16(linkType).u16(0).u32(0);
  if (tsresol !== undefined) b.u16(9).u16(1).u8(tsresol).pad();
  if (tsoffsetS !== undefined) {
    b.u16(14).u16(8);
    if (le) b.u32(tsoffsetS).u32(0);
    else b.u32(0).u32(tsoffsetS);
  }
  b.u16(0).u16(0);
  return block(le, 1, b.a);
}
function epb(le: boolean, ifId: number, ticks: bigint, data: Uint8Array, origLen = data.length): number[] {
  const b = new Bytes(le)
    .u32(ifId)
    .u32(Number(ticks >> 32n))
    .u32(Number(ticks & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .bytes(data)
    .pad();
  return block(le, 6, b.a);
}
function spb(le: boolean, data: Uint8Array): number[] {
  return block(le, 3, new Bytes(le).u32(data.length).bytes(data).pad().a);
}

const FRAME_A = golden('eth_vlan_ipv4_udp');
const FRAME_B = golden('sll_ipv4_tcp_ack');

function strip(r: CaptureRecord): Omit<CaptureRecord, 'data'> & { data: number[] } {
  return { ...r, data: [...r.data] };
}

describe('pcapng reader', () => {
  it.each([true, false])('little-endian=%s: IDBs with resolutions, EPB, SPB, unknown block skipped', (le) => {
    const file = Uint8Array.from([
      ...shb(le),
      ...idb(le, 1), // default µs
      ...idb(le, 113, 9), // ns
      ...idb(le, 276, 0x80 | 10, 100), // 2^-10 s ticks, +100 s offset
      ...block(le, 0x00000bad, [1, 2, 3, 4]), // unknown: skipped
      ...epb(le, 0, 1_700_000_000_123_456n, FRAME_A),
      ...epb(le, 1, 1_700_000_000_123_456_789n, FRAME_B, 1500),
      ...epb(le, 2, 3n * 1024n + 512n, FRAME_A), // 3.5 s + 100 s
      ...spb(le, FRAME_B),
    ]);
    expect(detectCaptureFormat(file)).toBe('pcapng');
    const recs = [...readCapture(file)].map(strip);
    expect(recs).toEqual([
      { tUs: 1_700_000_000_123_456, linkType: 1, data: [...FRAME_A], origLen: FRAME_A.length, ifIndex: 0 },
      { tUs: 1_700_000_000_123_456, linkType: 113, data: [...FRAME_B], origLen: 1500, ifIndex: 1 },
      { tUs: 103_500_000, linkType: 276, data: [...FRAME_A], origLen: FRAME_A.length, ifIndex: 2 },
      { tUs: 103_500_000, linkType: 1, data: [...FRAME_B], origLen: FRAME_B.length, ifIndex: 0 }, // SPB: interface 0, previous time
    ]);
  });

  it('a new section resets interfaces and may switch byte order', () => {
    const file = Uint8Array.from([...shb(true), ...idb(true, 1), ...epb(true, 0, 5n, FRAME_A), ...shb(false), ...idb(false, 101), ...epb(false, 0, 7n, FRAME_B)]);
    const recs = [...readCapture(file)];
    expect(recs.map((r) => [r.linkType, r.tUs, r.data.length])).toEqual([
      [1, 5, FRAME_A.length],
      [101, 7, FRAME_B.length],
    ]);
  });

  it('records are views into the file buffer, not copies', () => {
    const file = Uint8Array.from([...shb(true), ...idb(true, 1), ...epb(true, 0, 5n, FRAME_A)]);
    const [r] = [...readCapture(file)];
    expect(r?.data.buffer).toBe(file.buffer);
  });

  const bad: Array<{ what: string; file: () => number[]; reason: string }> = [
    { what: 'EPB for an undeclared interface', file: () => [...shb(true), ...epb(true, 0, 1n, FRAME_A)], reason: 'bad-header' },
    { what: 'block before any SHB', file: () => [...idb(true, 1)], reason: 'unsupported' },
    { what: 'trailing partial block', file: () => [...shb(true), ...idb(true, 1), 6, 0, 0, 0], reason: 'truncated' },
    {
      what: 'mismatched trailing length',
      file: () => {
        const b = [...shb(true), ...idb(true, 1)];
        b[b.length - 4] = 99;
        return b;
      },
      reason: 'bad-length',
    },
    { what: 'bad byte-order magic', file: () => block(true, 0x0a0d0d0a, new Bytes(true).u32(0x12345678).u16(1).u16(0).u32(0).u32(0).a), reason: 'bad-header' },
  ];
  it.each(bad)('rejects $what ($reason)', ({ file, reason }) => {
    expect(() => [...readCapture(Uint8Array.from(file()))]).toThrow(expect.objectContaining({ name: 'ParseError', reason }));
  });

  it('throws only ParseError on truncated and mutated files', () => {
    const base = Uint8Array.from([...shb(true), ...idb(true, 1, 9), ...epb(true, 0, 99n, FRAME_A), ...spb(true, FRAME_B), ...epb(true, 0, 100n, FRAME_B)]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), fc.nat(base.length), (flips, cut) => {
        const b = Uint8Array.from(base);
        for (const [i, x] of flips) b[i] = x;
        const view = b.subarray(0, cut);
        onlyParseError(() => {
          for (const r of readCapture(view)) {
            expect(r.data.byteOffset + r.data.length).toBeLessThanOrEqual(view.byteOffset + view.length);
          }
        });
      }),
      { numRuns: 5000 },
    );
  });
});

describe('classic pcap', () => {
  it('writer output reads back (µs, little-endian)', () => {
    const w = pcapWriter(1);
    const parts = [w.header(), w.record(1_700_000_000_654_321, FRAME_A), w.record(1_700_000_001_000_000, FRAME_B, 1514)];
    const file = Buffer.concat(parts);
    expect(detectCaptureFormat(file)).toBe('pcap');
    expect([...file.subarray(0, 4)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    expect([...readCapture(file)].map(strip)).toEqual([
      { tUs: 1_700_000_000_654_321, linkType: 1, data: [...FRAME_A], origLen: FRAME_A.length, ifIndex: 0 },
      { tUs: 1_700_000_001_000_000, linkType: 1, data: [...FRAME_B], origLen: 1514, ifIndex: 0 },
    ]);
  });

  it('writer honours the snap length', () => {
    const w = pcapWriter(101, 10);
    const [r] = [...readCapture(Buffer.concat([w.header(), w.record(0, FRAME_A)]))];
    expect([r?.data.length, r?.origLen]).toEqual([10, FRAME_A.length]);
  });

  it.each([
    { le: false, magic: 0xa1b2c3d4, frac: 654_321, tUs: 1_700_000_000_654_321 },
    { le: false, magic: 0xa1b23c4d, frac: 654_321_987, tUs: 1_700_000_000_654_321 },
    { le: true, magic: 0xa1b23c4d, frac: 999, tUs: 1_700_000_000_000_000 },
  ])('reads magic $magic little-endian=$le', ({ le, magic, frac, tUs }) => {
    const b = new Bytes(le).u32(magic).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(0x10000000 | 113); // FCS bits above the link type
    b.u32(1_700_000_000).u32(frac).u32(FRAME_B.length).u32(FRAME_B.length).bytes(FRAME_B);
    const recs = [...readCapture(Uint8Array.from(b.a))];
    expect(recs.map((r) => [r.tUs, r.linkType, r.data.length])).toEqual([[tUs, 113, FRAME_B.length]]);
  });

  it('rejects a record running past the end and an unknown magic', () => {
    const w = pcapWriter(1);
    const file = Buffer.concat([w.header(), w.record(0, FRAME_A)]);
    expect(() => [...readCapture(file.subarray(0, file.length - 1))]).toThrow(expect.objectContaining({ reason: 'truncated' }));
    expect(() => [...readCapture(Uint8Array.of(1, 2, 3, 4, 5))]).toThrow(ParseError);
    expect(detectCaptureFormat(Uint8Array.of(1, 2, 3, 4))).toBe('unknown');
  });
});

describe('the Chromium WebRTC fixtures (pcapng, Ethernet, µs)', () => {
  // golden values from capinfos/tshark: frame.time_epoch, frame.len, frame.cap_len (snap length 300)
  it.each([
    { file: 'chromium-plaintext-4s.pcap', count: 790, first: [1795275730790904, 138, 138], hundredth: [1795275731621776, 1017, 300], last: 1795275734776094 },
    { file: 'chromium-srtp-4s.pcap', count: 397, first: [1795275705293926, 138, 138], hundredth: [1795275706359526, 84, 84], last: 1795275709276400 },
  ])('$file', ({ file, count, first, hundredth, last }) => {
    const buf = readFileSync(new URL(file, FIXTURES));
    expect(detectCaptureFormat(buf)).toBe('pcapng');
    const recs = [...readCapture(buf)];
    expect(recs.length).toBe(count);
    const row = (r: CaptureRecord | undefined): number[] => (r === undefined ? [] : [r.tUs, r.origLen, r.data.length]);
    expect(row(recs[0])).toEqual(first);
    expect(row(recs[99])).toEqual(hundredth);
    expect(recs.at(-1)?.tUs).toBe(last);
    expect(recs.every((r, i) => r.linkType === 1 && r.ifIndex === 0 && r.data.length <= 300 && (i === 0 || r.tUs >= recs[i - 1]!.tUs))).toBe(true);
  });

  it('re-saved as classic pcap, reads back identically', () => {
    const buf = readFileSync(new URL('chromium-srtp-4s.pcap', FIXTURES));
    const w = pcapWriter(1);
    const recs = [...readCapture(buf)];
    const again = [...readCapture(Buffer.concat([w.header(), ...recs.map((r) => w.record(r.tUs, r.data, r.origLen))]))];
    expect(again.map(strip)).toEqual(recs.map(strip));
  });
});
