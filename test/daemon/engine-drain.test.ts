/**
 * The engine with feedbackUpdater.mode 'drain': ACKs gated while the modelled queue is above the
 * target, released by pollGates in order, never overtaken by SYN/FIN/RST, never lost (eviction,
 * shutdown).
 */
import { describe, expect, it } from 'vitest';
import { Engine, type EngineOptions } from '../../src/daemon/engine.js';
import { TCP_ACK, TCP_FIN } from '../../src/protocols/tcp.js';
import { engineOptions, newDecision } from '../helpers/engine.js';
import { tcpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5201 };
const CLI = { addr: '10.2.0.1', port: 40000 };

function options(over: Partial<EngineOptions> = {}): EngineOptions {
  return engineOptions({
    feedbackUpdater: { seed: 1, historyMs: 40, maxDeltaMs: 10, capMs: 10, mode: 'drain', drain: { targetMs: 20, maxHoldMs: 1000, catchUp: 0.1, keepaliveMs: 0 } },
    ...over,
  });
}

const decision = newDecision;

/** Data packets that arrived (kept so that their departures match). */
const sent: Uint8Array[] = [];

/** n data packets of one flow arrive at once (1 µs apart) at tUs: nothing departs yet. */
function burst(e: Engine, tUs: number, n: number, seq0: number, srv = SRV, cli = CLI): number {
  let seq = seq0;
  for (let i = 0; i < n; i++) {
    const p = tcpPacket(srv, cli, { seq, payloadBytes: 1460 });
    e.onDownlinkArrival(tUs + i, p, 'raw-ip', p.length);
    sent.push(p);
    seq += 1460;
  }
  return seq;
}

function depart(e: Engine, tUs: number, p: Uint8Array | undefined): void {
  if (p !== undefined) e.onDownlinkDeparture(tUs, p, 'raw-ip', p.length);
}

describe('Engine, feedbackUpdater.mode drain', () => {
  it('passes ACKs while the queue is short, gates them once it is long, releases them in order', () => {
    const e = new Engine(options());
    sent.length = 0;
    const seq = burst(e, 0, 1, 1);
    depart(e, 500, sent[0]);
    // the queue is empty: the ACK passes at once
    expect(e.onUplink(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: seq }), decision(), 'first').verdict).toBe('accept');
    // 60 packets queued: well above closeMs (2 x the 20 ms target) at any rate the one departure
    // so far suggests
    burst(e, 2000, 60, seq);
    for (let k = 0; k < 3; k++) {
      const d = e.onUplink(3000 + k, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 + 1460 * (k + 2) }), decision(), k);
      expect(d.verdict).toBe('gate');
    }
    // a FIN behind gated ACKs waits its turn
    expect(e.onUplink(3100, tcpPacket(CLI, SRV, { flags: TCP_FIN | TCP_ACK, ack: 1 + 1460 * 4 }), decision(), 'fin').verdict).toBe('gate');
    expect(e.gatedPackets).toBe(4);
    const out: unknown[] = [];
    expect(e.pollGates(4000, (i) => out.push(i))).toBe(0); // the queue is still long
    // the queue empties: every packet departs
    for (let i = 1; i <= 60; i++) depart(e, 5000 + i * 100, sent[i]);
    for (let t = 8000; t < 200_000 && e.gatedPackets > 0; t += 1000) e.pollGates(t, (i) => out.push(i));
    expect(out).toEqual([0, 1, 2, 'fin']);
    expect(e.gatedPackets).toBe(0);
    expect(e.counters.uplinkHeld).toBe(4);
  });

  it('maxHoldMs bounds a gated ACK when the queue never drains', () => {
    const e = new Engine(options());
    burst(e, 0, 30, 1);
    expect(e.onUplink(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), decision(), 'a').verdict).toBe('gate');
    const out: unknown[] = [];
    e.pollGates(1000 + 999_000, (i) => out.push(i));
    expect(out).toEqual([]);
    e.pollGates(1000 + 1_000_000, (i) => out.push(i));
    expect(out).toEqual(['a']);
  });

  it('an evicted flow hands its gated packets back at the next poll; flushGates releases all', () => {
    const e = new Engine(options({ maxFlows: 1 }));
    burst(e, 0, 30, 1);
    expect(e.onUplink(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), decision(), 'a').verdict).toBe('gate');
    // a second flow evicts the first (table of one)
    burst(e, 2000, 1, 1, { addr: '10.1.0.2', port: 443 }, { addr: '10.2.0.2', port: 40001 });
    expect(e.counters.flowsEvictedCapacity).toBe(1);
    const out: unknown[] = [];
    expect(e.pollGates(3000, (i) => out.push(i))).toBe(1);
    expect(out).toEqual(['a']);
    expect(e.onUplink(4000, tcpPacket({ addr: '10.2.0.2', port: 40001 }, { addr: '10.1.0.2', port: 443 }, { flags: TCP_ACK, ack: 1 }), decision(), 'b').verdict).toBe('gate');
    expect(e.flushGates((i) => out.push(i))).toBe(1);
    expect(out).toEqual(['a', 'b']);
    expect(e.gatedPackets).toBe(0);
  });

  it('maxGatedPackets bounds all gates together: the oldest go first, counted as overflow', () => {
    const e = new Engine(options({ maxGatedPackets: 3 }));
    sent.length = 0;
    burst(e, 0, 30, 1);
    for (let k = 0; k < 5; k++) expect(e.onUplink(1000 + k, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 + 1460 * k }), decision(), k).verdict).toBe('gate');
    expect(e.gatedPackets).toBe(5);
    const out: unknown[] = [];
    e.pollGates(2000, (i) => out.push(i)); // the queue is still long: only the excess goes
    expect(out).toEqual([0, 1]);
    expect(e.gatedPackets).toBe(3);
    expect(e.counters.gateReleasedOverflow).toBe(2);
  });

  it('a daemon polling while gatedPackets > 0 also collects an evicted flow\'s packets', () => {
    const e = new Engine(options({ maxFlows: 1 }));
    burst(e, 0, 30, 1);
    e.onUplink(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), decision(), 'a');
    burst(e, 2000, 1, 1, { addr: '10.1.0.2', port: 443 }, { addr: '10.2.0.2', port: 40001 });
    // nothing is gated any more, but the orphan still counts until it is handed back
    expect(e.gatedPackets).toBe(1);
    const out: unknown[] = [];
    e.pollGates(3000, (i) => out.push(i));
    expect(out).toEqual(['a']);
    expect(e.gatedPackets).toBe(0);
  });
});
