/**
 * Classification once per packet: one decode and ONE canonical flow hash per downlink arrival
 * (whatever the protocol, the fair-queue discipline or whether the flow is new), the QUIC
 * long-header test only for a UDP packet of no known flow; one decode and one hash per uplink
 * packet. Counted by wrapping the protocol modules' functions.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type * as FlowKeyModule from '../../src/protocols/flow-key.js';
import type * as PacketModule from '../../src/protocols/packet.js';
import type * as QuicModule from '../../src/protocols/quic.js';
import { Engine } from '../../src/engine/engine.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';
import { TCP_ACK } from '../../src/protocols/tcp.js';
import { engineOptions, newDecision } from '../helpers/engine.js';
import { tcpPacket, udpPacket } from '../helpers/packets.js';
import { buildRr } from '../helpers/rtcp-packets.js';
import { buildRtp } from '../helpers/rtp-packets.js';

const calls = vi.hoisted(() => ({ decode: 0, hash: 0, quic: 0 }));

vi.mock('../../src/protocols/flow-key.js', async (importOriginal) => {
  const m = await importOriginal<typeof FlowKeyModule>();
  return {
    ...m,
    canonicalFlowHash: (...a: Parameters<typeof m.canonicalFlowHash>): number => {
      calls.hash++;
      return m.canonicalFlowHash(...a);
    },
  };
});
vi.mock('../../src/protocols/packet.js', async (importOriginal) => {
  const m = await importOriginal<typeof PacketModule>();
  return {
    ...m,
    decodePacket: (...a: Parameters<typeof m.decodePacket>): ReturnType<typeof m.decodePacket> => {
      calls.decode++;
      return m.decodePacket(...a);
    },
  };
});
vi.mock('../../src/protocols/quic.js', async (importOriginal) => {
  const m = await importOriginal<typeof QuicModule>();
  return {
    ...m,
    looksLikeQuicLong: (...a: Parameters<typeof m.looksLikeQuicLong>): boolean => {
      calls.quic++;
      return m.looksLikeQuicLong(...a);
    },
  };
});

const SRV = { addr: '10.1.0.1', port: 443 };
const CLI = { addr: '10.2.0.1', port: 40000 };

function quicInitial(): Uint8Array {
  const initial = new Uint8Array(1200);
  initial.set([0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0x44, 0xd0]);
  return initial;
}

describe('Engine: classification once per packet', () => {
  beforeEach(() => {
    calls.decode = 0;
    calls.hash = 0;
    calls.quic = 0;
  });

  for (const discipline of ['fifo', 'fq'] as const) {
    it(`one decode and one canonical hash per downlink arrival (${discipline})`, () => {
      const e = new Engine(engineOptions({ fortuneTeller: { ...defaultFortuneTellerConfig, discipline } }));
      const tcp = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000 });
      const quic = udpPacket(SRV, { ...CLI, port: 50000 }, quicInitial());
      const udp = udpPacket({ addr: SRV.addr, port: 5353 }, { ...CLI, port: 50001 }, new Uint8Array(100));
      let n = 0;
      for (let i = 0; i < 10; i++) {
        for (const p of [tcp, quic, udp]) e.onDownlinkArrival(1000 * ++n, p, 'raw-ip', p.length);
      }
      expect(e.flows.size).toBe(2); // the TCP and the QUIC flow
      expect(calls.decode).toBe(n);
      expect(calls.hash).toBe(n);
      // the QUIC test: the first QUIC packet (no flow yet) and each plain UDP packet, never a packet of a known QUIC flow
      expect(calls.quic).toBe(1 + 10);
    });
  }

  it('one decode and one canonical hash per uplink packet', () => {
    const e = new Engine(engineOptions());
    const p = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000 });
    e.onDownlinkArrival(0, p, 'raw-ip', p.length);
    calls.decode = 0;
    calls.hash = 0;
    for (let i = 0; i < 5; i++) e.onUplink(1000 + i, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), newDecision());
    expect(e.counters.uplink.tcp).toBe(5);
    expect(calls.decode).toBe(5);
    expect(calls.hash).toBe(5);
  });

  it('one decode and one canonical hash per RTP packet, in both directions, with the in-band path on', () => {
    const e = new Engine(engineOptions({ rtp: { twccExtensionId: 3, feedbackIntervalMs: 50, srtcpFallback: 'off', seed: 1, reportTiming: 'departure' } }));
    const media = { addr: SRV.addr, port: 5004 };
    const client = { ...CLI, port: 6000 };
    let n = 0;
    for (let i = 0; i < 10; i++) {
      const rtp = udpPacket(media, client, buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, ssrc: 7, extensions: [{ id: 3, data: new Uint8Array([0, i]) }] }));
      e.onDownlinkArrival(1000 * ++n, rtp, 'raw-ip', rtp.length);
    }
    expect(e.counters.downlinkArrivals.rtp).toBe(10);
    expect(calls.decode).toBe(n);
    expect(calls.hash).toBe(n);
    calls.decode = 0;
    calls.hash = 0;
    for (let i = 0; i < 3; i++) e.onUplink(20_000 + i, udpPacket(client, media, buildRr(9, [{ ssrc: 7 }])), newDecision());
    expect(calls.decode).toBe(3);
    expect(calls.hash).toBe(3);
  });
});
