/**
 * The engine with feedbackUpdater.mode 'window': TCP ACKs are never delayed; once the client's
 * window scale (handshake) and the flow's RTT (timestamp echo) are known, their window field is
 * lowered to the flow's share of the dequeue rate x (RTT + target), checksum kept valid.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/options.js';
import { verifyL4Checksum } from '../../src/protocols/checksum.js';
import { TCP_ACK, TCP_SYN } from '../../src/protocols/tcp.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';
import { engineOptions, newDecision } from '../helpers/engine.js';
import { tcpPacket, udpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5201 };
const CLI = { addr: '10.2.0.1', port: 40000 };
const TARGET_MS = 50;
const MIN_BYTES = 6000;

function options(over: Partial<EngineOptions> = {}): EngineOptions {
  return engineOptions({
    feedbackUpdater: { seed: 1, historyMs: 40, maxDeltaMs: 10, capMs: 10, mode: 'window', window: { targetMs: TARGET_MS, minWindowBytes: MIN_BYTES } },
    ...over,
  });
}

const windowOf = (p: Uint8Array): number => (p[34]! << 8) | p[35]!;

/** The server opens (SYN downlink), the client answers (SYN-ACK uplink, shift `ws`). */
function handshake(e: Engine, ws: number): void {
  const syn = tcpPacket(SRV, CLI, { flags: TCP_SYN, wscale: 7, tsVal: 500 });
  e.onDownlinkArrival(0, syn, 'raw-ip', syn.length);
  e.onDownlinkDeparture(100, syn, 'raw-ip', syn.length);
  expect(e.onUplink(1_000, tcpPacket(CLI, SRV, { flags: TCP_SYN | TCP_ACK, wscale: ws, tsVal: 1, tsEcr: 500 }), newDecision()).verdict).toBe('accept');
}

/** An ACK with TSval `ts` goes up at tUs; the sender's data echoing it arrives rttUs later. */
function rttSample(e: Engine, tUs: number, ts: number, rttUs: number): void {
  e.onUplink(tUs, tcpPacket(CLI, SRV, { flags: TCP_ACK, tsVal: ts, tsEcr: 501, window: 2000 }), newDecision());
  const d = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000, tsVal: 502, tsEcr: ts });
  e.onDownlinkArrival(tUs + rttUs, d, 'raw-ip', d.length);
  e.onDownlinkDeparture(tUs + rttUs + 10, d, 'raw-ip', d.length);
}

function expectedField(e: Engine, rttMs: number, shift: number, flows = 1): number {
  const bytes = Math.max(MIN_BYTES, (e.ft.rate.rateBps / 8 / flows) * ((rttMs + TARGET_MS) / 1000));
  return Math.ceil(bytes / 2 ** shift);
}

describe('Engine, feedbackUpdater.mode window', () => {
  it('lowers the window of ACKs once scale and RTT are known, never delays, keeps the checksum valid', () => {
    const e = new Engine(options());
    handshake(e, 7);
    // no RTT yet: passed untouched
    const early = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 2000 });
    expect(e.onUplink(2_000, early, newDecision()).verdict).toBe('accept');
    expect(windowOf(early)).toBe(2000);
    expect(e.counters.windowNoRtt).toBe(1);
    rttSample(e, 10_000, 2, 40_000);
    const ack = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 2000, tsVal: 3, tsEcr: 502 });
    const d = e.onUplink(60_000, ack, newDecision());
    const want = expectedField(e, 40, 7);
    expect(want).toBeLessThan(2000);
    expect(d.verdict).toBe('rewrite');
    expect(d.payload).toBe(ack); // rewritten in place, no copy
    expect(windowOf(ack)).toBe(want);
    expect(verifyL4Checksum(ack, 0)).toBe(true);
    expect(e.counters.windowClamped).toBe(1);
    expect(e.counters.uplinkHeld).toBe(0);
  });

  it.each([
    { what: 'a SYN-ACK is never touched', flags: TCP_SYN | TCP_ACK },
    { what: 'a segment without ACK is never touched', flags: 0 },
  ])('$what', ({ flags }) => {
    const e = new Engine(options());
    handshake(e, 7);
    rttSample(e, 10_000, 2, 40_000);
    const p = tcpPacket(CLI, SRV, { flags, window: 2000 });
    expect(e.onUplink(60_000, p, newDecision()).verdict).toBe('accept');
    expect(windowOf(p)).toBe(2000);
  });

  it.each([
    {
      what: 'the receiver\'s window already below the clamp stays',
      open: (e: Engine): void => handshake(e, 7),
      window: 1,
      counter: 'windowUnchanged' as const,
    },
    {
      what: 'a flow whose handshake was not seen is left alone (its window scale is unknown)',
      open: (e: Engine): void => {
        const d0 = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000 });
        e.onDownlinkArrival(0, d0, 'raw-ip', d0.length);
      },
      window: 2000,
      counter: 'windowNoScale' as const,
    },
  ])('$what', ({ open, window, counter }) => {
    const e = new Engine(options());
    open(e);
    rttSample(e, 10_000, 2, 40_000);
    const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window });
    expect(e.onUplink(60_000, p, newDecision()).verdict).toBe('accept');
    expect(windowOf(p)).toBe(window);
    expect(e.counters[counter]).toBeGreaterThan(0);
  });

  it('client-initiated: the SYN goes up before any flow exists, the sender\'s SYN-ACK is seen leaving the queue', () => {
    const e = new Engine(options());
    // the client's SYN: no flow yet (flows start downlink), passed, its shift remembered
    expect(e.onUplink(0, tcpPacket(CLI, SRV, { flags: TCP_SYN, wscale: 6, tsVal: 1 }), newDecision()).verdict).toBe('accept');
    const synAck = tcpPacket(SRV, CLI, { flags: TCP_SYN | TCP_ACK, wscale: 9, tsVal: 500, tsEcr: 1 });
    e.onDownlinkArrival(40_000, synAck, 'raw-ip', synAck.length);
    e.onDownlinkDeparture(40_100, synAck, 'raw-ip', synAck.length);
    rttSample(e, 50_000, 2, 30_000);
    const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 30_000 });
    expect(e.onUplink(90_000, p, newDecision()).verdict).toBe('rewrite');
    expect(windowOf(p)).toBe(expectedField(e, 30, 6));
  });

  it.each([
    {
      what: 'client-opened (its SYN up at 0, the sender\'s SYN-ACK down at 30 ms)',
      rttMs: 30,
      open: (e: Engine): void => {
        e.onUplink(0, tcpPacket(CLI, SRV, { flags: TCP_SYN, wscale: 6 }), newDecision());
        const synAck = tcpPacket(SRV, CLI, { flags: TCP_SYN | TCP_ACK, wscale: 9 });
        e.onDownlinkArrival(30_000, synAck, 'raw-ip', synAck.length);
        e.onDownlinkDeparture(30_100, synAck, 'raw-ip', synAck.length);
      },
    },
    {
      what: 'sender-opened (the client\'s SYN-ACK up at 1 ms, the sender\'s ACK down at 41 ms)',
      rttMs: 40,
      open: (e: Engine): void => {
        const syn = tcpPacket(SRV, CLI, { flags: TCP_SYN, wscale: 7 });
        e.onDownlinkArrival(0, syn, 'raw-ip', syn.length);
        e.onUplink(1_000, tcpPacket(CLI, SRV, { flags: TCP_SYN | TCP_ACK, wscale: 6 }), newDecision());
        const ack = tcpPacket(SRV, CLI, { flags: TCP_ACK });
        e.onDownlinkArrival(41_000, ack, 'raw-ip', ack.length);
      },
    },
  ])('without TCP timestamps the handshake gives the RTT: $what', ({ rttMs, open }) => {
    const e = new Engine(options());
    open(e);
    const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 30_000 });
    expect(e.onUplink(100_000, p, newDecision()).verdict).toBe('rewrite');
    expect(windowOf(p)).toBe(expectedField(e, rttMs, 6));
    expect(verifyL4Checksum(p, 0)).toBe(true);
  });

  it('the sender\'s SYN-ACK without window scale: the clamp is written unscaled', () => {
    const e = new Engine(options());
    e.onUplink(0, tcpPacket(CLI, SRV, { flags: TCP_SYN, wscale: 6, tsVal: 1 }), newDecision());
    const synAck = tcpPacket(SRV, CLI, { flags: TCP_SYN | TCP_ACK, tsVal: 500, tsEcr: 1 });
    e.onDownlinkArrival(40_000, synAck, 'raw-ip', synAck.length);
    e.onDownlinkDeparture(40_100, synAck, 'raw-ip', synAck.length);
    rttSample(e, 50_000, 2, 30_000);
    const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 65_000 });
    e.onUplink(90_000, p, newDecision());
    expect(windowOf(p)).toBe(expectedField(e, 30, 0));
  });

  it('two equally busy clamped flows each get half the rate', () => {
    const e = new Engine(options());
    const CLI2 = { addr: '10.2.0.2', port: 40001 };
    handshake(e, 0);
    // the second flow: same handshake towards CLI2
    const syn2 = tcpPacket(SRV, CLI2, { flags: TCP_SYN, wscale: 7, tsVal: 500 });
    e.onDownlinkArrival(0, syn2, 'raw-ip', syn2.length);
    e.onUplink(1_000, tcpPacket(CLI2, SRV, { flags: TCP_SYN | TCP_ACK, wscale: 0, tsVal: 1, tsEcr: 500 }), newDecision());
    rttSample(e, 10_000, 2, 40_000);
    e.onUplink(10_000, tcpPacket(CLI2, SRV, { flags: TCP_ACK, tsVal: 2, tsEcr: 501 }), newDecision());
    const d2 = tcpPacket(SRV, CLI2, { flags: TCP_ACK, payloadBytes: 1000, tsVal: 502, tsEcr: 2 });
    e.onDownlinkArrival(50_000, d2, 'raw-ip', d2.length);
    // the next epoch (200 ms) counts both flows' bytes of this one: 1000 each
    const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 65_000 });
    e.onUplink(250_000, p, newDecision());
    expect(windowOf(p)).toBe(expectedField(e, 40, 0, 2));
  });

  // queue.discipline: a bulk download the daemon does not treat (its sender's port is not listed)
  // offers as many bytes as the treated flow in the same epoch
  for (const [discipline, flows] of [['fifo', 1], ['fq', 2]] as const) {
    it(`queue.discipline ${discipline}: an untreated bulk flow ${discipline === 'fq' ? 'halves' : 'does not change'} the treated flow's share`, () => {
      const e = new Engine(options({ tcp: { enabled: true, ports: [SRV.port] }, fortuneTeller: { ...defaultFortuneTellerConfig, discipline } }));
      handshake(e, 0);
      rttSample(e, 10_000, 2, 40_000);
      // both offer 40 kB in the epoch (1.6 Mbit/s each, more than the link's estimated rate)
      const bulk = tcpPacket({ addr: SRV.addr, port: 6000 }, { addr: CLI.addr, port: 40002 }, { flags: TCP_ACK, payloadBytes: 1000 });
      const data = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000, tsVal: 503, tsEcr: 2 });
      for (let i = 0; i < 40; i++) {
        e.onDownlinkArrival(60_000 + i * 1000, bulk, 'raw-ip', bulk.length);
        e.onDownlinkArrival(60_000 + i * 1000, data, 'raw-ip', data.length);
      }
      expect(e.flows.size).toBe(1); // the bulk flow is not in the table
      expect(e.ft.rate.rateBps).toBeLessThan(1.6e6);
      const p = tcpPacket(CLI, SRV, { flags: TCP_ACK, window: 65_000 });
      e.onUplink(250_000, p, newDecision());
      expect(windowOf(p)).toBe(expectedField(e, 40, 0, flows));
    });
  }

  it('QUIC flows get no clamp (their window is encrypted) and keep the paper\'s rule', () => {
    const e = new Engine(options());
    const initial = new Uint8Array(1200);
    initial.set([0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0x44, 0xd0]);
    const q = udpPacket({ addr: SRV.addr, port: 443 }, { addr: CLI.addr, port: 50000 }, initial);
    e.onDownlinkArrival(0, q, 'raw-ip', q.length);
    const flows = [...e.flows.entries()].map(([, f]) => f);
    expect(flows.map((f) => f.protocol)).toEqual(['quic']);
    // no clamp, no drain gate: the paper's rule
    expect(flows[0]?.policy.kind).toBe('increments');
    expect(flows[0]?.policy.windowStatus()).toBeUndefined();
  });
});
