import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import { countDtlsRecords, newDtlsRecordView, parseDtlsRecord } from '../../src/protocols/dtls.js';
import { demuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('dtls record header', () => {
  it('parses a hand-built ChangeCipherSpec + encrypted Finished datagram', () => {
    const b = hex('14 fefd 0000 000000000005 0001 01   16 fefd 0001 000000000000 0004 deadbeef');
    const v = newDtlsRecordView();
    parseDtlsRecord(b, 0, b.length, v);
    expect(v).toEqual({ offset: 0, unified: false, contentType: 20, version: 0xfefd, epoch: 0, sequenceNumber: 5, length: 1, fragmentOffset: 13, nextOffset: 14 });
    parseDtlsRecord(b, 14, b.length, v);
    expect([v.contentType, v.epoch, v.sequenceNumber, v.length]).toEqual([22, 1, 0, 4]);
    expect(countDtlsRecords(b, 0, b.length)).toBe(2);
  });

  it('DTLS 1.3 unified header: 8/16-bit seq, with and without length', () => {
    const v = newDtlsRecordView();
    const b = hex('2e 1715 0003 aabbcc  22 07 0102');
    parseDtlsRecord(b, 0, b.length, v);
    expect(v).toMatchObject({ unified: true, epoch: 2, sequenceNumber: -1, length: 3, fragmentOffset: 5, nextOffset: 8 });
    parseDtlsRecord(b, 8, b.length, v); // S=0 L=0: 8-bit seq, runs to the end
    expect(v).toMatchObject({ unified: true, epoch: 2, length: 2, fragmentOffset: 10, nextOffset: 12 });
    expect(countDtlsRecords(b, 0, b.length)).toBe(2);
  });

  it('48-bit sequence numbers are exact', () => {
    const b = hex('17 fefd 0003 ffffffffffff 0000');
    const v = newDtlsRecordView();
    parseDtlsRecord(b, 0, b.length, v);
    expect(v.sequenceNumber).toBe(2 ** 48 - 1);
  });

  it.each([
    ['empty', '', 'truncated'],
    ['content type 19', '13 fefd 0000 000000000000 0000', 'bad-header'],
    ['DTLS 1.3 unified header with CID', '3f 0000 0000', 'unsupported'],
    ['DTLS 1.3 unified header, length beyond datagram', '2f 0000 0004 00', 'truncated'],
    ['DTLS 1.3 unified header, 2 bytes', '2f00', 'truncated'],
    ['TLS version', '16 0303 0000 000000000000 0000', 'bad-version'],
    ['12 bytes', '16 fefd 0000 000000000000 00', 'truncated'],
    ['fragment beyond datagram', '16 fefd 0000 000000000000 0002 00', 'truncated'],
  ])('rejects %s', (_n, h, reason) => {
    const b = hex(h);
    expect(() => parseDtlsRecord(b, 0, b.length, newDtlsRecordView())).toThrow(expect.objectContaining({ reason }));
  });

  it('random input: only ParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        try {
          countDtlsRecords(b, 0, b.length);
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('fixture chromium-srtp-4s.pcap: 3 DTLSPlaintext datagrams match tshark, then 3 DTLS 1.3 unified-header ones', () => {
    const v = newDtlsRecordView();
    const got: string[] = [];
    for (const d of readUdpPayloads(fixturePath('chromium-srtp-4s.pcap'))) {
      if (demuxClass(d.payload) !== 'dtls') continue;
      // snap length 300 truncates the larger flights: parse against the wire length, reading only the header
      const whole = d.payload.length === d.wireLength;
      if (!whole) expect(() => parseDtlsRecord(d.payload, 0, d.payload.length, v)).toThrow(expect.objectContaining({ reason: 'truncated' }));
      const padded = new Uint8Array(d.wireLength);
      padded.set(d.payload);
      parseDtlsRecord(padded, 0, padded.length, v);
      got.push(`${d.frame}:${v.contentType}:${v.version.toString(16)}:${v.epoch}:${v.sequenceNumber}:${v.length}:${whole}`);
      if (v.unified) expect(v.nextOffset).toBe(d.wireLength); // one record filling the datagram
    }
    // tshark -Y dtls -T fields -e frame.number -e dtls.record.content_type -e dtls.record.version
    //   -e dtls.record.epoch -e dtls.record.sequence_number -e dtls.record.length
    // frames 8-10 (which tshark, not knowing DTLS 1.3, leaves undissected): first bytes 0x2e/0x2f =
    // unified header, S=1 L=1, epoch 2 (handshake); lengths from udp.length - 8 - 5
    expect(got).toEqual([
      '3:22:feff:0:0:1187:false',
      '4:22:feff:0:1:250:false',
      '7:22:fefd:0:0:1186:false',
      '8:46:0:2:-1:511:false',
      '9:46:0:2:-1:452:false',
      '10:47:0:3:-1:35:true',
    ]);
  });
});
