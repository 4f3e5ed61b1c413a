import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classifyPacket, newClassifyResult, newTransportState } from '../../src/protocols/classify.js';
import { ParseError } from '../../src/protocols/errors.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { buildQuicInitialHeader } from '../helpers/quic-packets.js';
import { buildRtp } from '../helpers/rtp-packets.js';
import { buildNack, buildCompound, buildRr } from '../helpers/rtcp-packets.js';
import { tcpPacket, udpPacket } from '../helpers/packets.js';

const A = { addr: '10.1.0.1', port: 443 };
const B = { addr: '10.2.0.1', port: 50000 };

function classify(pkt: Uint8Array, state = newTransportState(), forward = true) {
  const v = newPacketView();
  decodePacket(pkt, 'raw-ip', v);
  return { ...classifyPacket(pkt, v, state, forward, newClassifyResult(), { validateFeedback: true }) };
}

describe('classifyPacket', () => {
  it.each([
    ['pure ACK', tcpPacket(A, B, { flags: 0x10 }), 'tcp-pure-ack'],
    ['SYN', tcpPacket(A, B, { flags: 0x02 }), 'tcp-control'],
    ['data', tcpPacket(A, B, { payloadBytes: 100 }), 'tcp-data'],
    ['STUN', udpPacket(A, B, Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Array<number>(12).fill(7)])), 'stun'],
    ['RTCP RR+NACK', udpPacket(A, B, buildCompound([buildRr(1), buildNack(1, 2, [5, 6])])), 'rtcp'],
    ['RTP', udpPacket(A, B, buildRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc: 5, payload: new Uint8Array(20) })), 'rtp'],
    ['junk UDP', udpPacket(A, B, Uint8Array.from([0x55, 1, 2, 3])), 'udp-other'],
  ] as const)('%s', (_n, pkt, cls) => {
    expect(classify(pkt).cls).toBe(cls);
  });

  it('QUIC: a long header marks the transport, then short headers are recognised', () => {
    const st = newTransportState();
    const initial = buildQuicInitialHeader({ version: 1, dcid: new Uint8Array(8).fill(1), scid: new Uint8Array(8).fill(2), length: 1100, packetNumber: 0, pnLength: 2 });
    const padded = new Uint8Array(1200);
    padded.set(initial);
    expect(classify(udpPacket(B, A, padded), st, false).cls).toBe('quic-long');
    expect(st.quic).toBe(true);
    const short = new Uint8Array(60);
    short[0] = 0x41;
    expect(classify(udpPacket(A, B, short), st, true).cls).toBe('quic-short');
    // the same bytes on a transport never seen with a long header are not QUIC
    expect(classify(udpPacket(A, B, short)).cls).not.toBe('quic-short');
  });

  it('never throws on random or mutated UDP payloads; malformed parts are reported', () => {
    const v = newPacketView();
    const out = newClassifyResult();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (payload, fwd) => {
        const pkt = udpPacket(A, B, payload);
        decodePacket(pkt, 'raw-ip', v);
        const st = newTransportState();
        classifyPacket(pkt, v, st, fwd, out, { validateFeedback: true });
        if (out.malformed !== undefined) expect(new ParseError(out.malformed, out.malformedWhat)).toBeInstanceOf(ParseError);
      }),
      { numRuns: 20_000 },
    );
  });
});
