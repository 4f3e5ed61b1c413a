/**
 * The engine with feedbackUpdater.mode 'drain': ACKs gated while the modelled queue is above the
 * target, released by pollGates in order, never overtaken by SYN/FIN/RST, never lost (eviction,
 * shutdown).
 */
import { describe, expect, it } from 'vitest';
import { UplinkHold } from '../../src/daemon/uplink-hold.js';
import { Engine } from '../../src/engine/engine.js';
import type { Flow } from '../../src/engine/flow.js';
import type { EngineOptions, UplinkDecision } from '../../src/engine/options.js';
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

/**
 * The engine with the daemon's uplink hold keeping the gated packets (`item` stands for the
 * NFQUEUE id): `out` lists them in release order.
 */
function gated(e: Engine): { out: unknown[]; up: (tUs: number, p: Uint8Array, item: unknown) => UplinkDecision; poll: (tUs: number) => number; flush: () => number } {
  const out: unknown[] = [];
  const hold = new UplinkHold<unknown, Flow>({ now: () => 0, setTimeout: () => undefined, clearTimeout: () => {} }, (item) => out.push(item), () => {});
  return {
    out,
    up: (tUs, p, item) => {
      const d = e.onUplink(tUs, p, decision());
      if (d.verdict === 'gate' && d.flow !== undefined) hold.gate(item, d.flow);
      return d;
    },
    poll: (tUs) => e.pollGates(tUs, (f) => hold.releaseGated(f)),
    flush: () => e.flushGates((f) => hold.releaseGated(f)),
  };
}

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
    const h = gated(e);
    sent.length = 0;
    const seq = burst(e, 0, 1, 1);
    depart(e, 500, sent[0]);
    // the queue is empty: the ACK passes at once
    expect(h.up(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: seq }), 'first').verdict).toBe('accept');
    // 60 packets queued: well above closeMs (2 x the 20 ms target) at any rate the one departure
    // so far suggests
    burst(e, 2000, 60, seq);
    for (let k = 0; k < 3; k++) {
      const d = h.up(3000 + k, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 + 1460 * (k + 2) }), k);
      expect(d.verdict).toBe('gate');
    }
    // a FIN behind gated ACKs waits its turn
    expect(h.up(3100, tcpPacket(CLI, SRV, { flags: TCP_FIN | TCP_ACK, ack: 1 + 1460 * 4 }), 'fin').verdict).toBe('gate');
    expect(e.gatedPackets).toBe(4);
    const out = h.out;
    expect(h.poll(4000)).toBe(0); // the queue is still long
    // the queue empties: every packet departs
    for (let i = 1; i <= 60; i++) depart(e, 5000 + i * 100, sent[i]);
    for (let t = 8000; t < 200_000 && e.gatedPackets > 0; t += 1000) h.poll(t);
    expect(out).toEqual([0, 1, 2, 'fin']);
    expect(e.gatedPackets).toBe(0);
    expect(e.counters.uplinkHeld).toBe(4);
  });

  it('maxHoldMs bounds a gated ACK when the queue never drains', () => {
    const e = new Engine(options());
    const h = gated(e);
    burst(e, 0, 30, 1);
    expect(h.up(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), 'a').verdict).toBe('gate');
    const out = h.out;
    h.poll(1000 + 999_000);
    expect(out).toEqual([]);
    h.poll(1000 + 1_000_000);
    expect(out).toEqual(['a']);
  });

  it('an evicted flow hands its gated packets back at the next poll; flushGates releases all', () => {
    const e = new Engine(options({ maxFlows: 1 }));
    const h = gated(e);
    burst(e, 0, 30, 1);
    expect(h.up(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), 'a').verdict).toBe('gate');
    // a second flow evicts the first (table of one)
    burst(e, 2000, 1, 1, { addr: '10.1.0.2', port: 443 }, { addr: '10.2.0.2', port: 40001 });
    expect(e.counters.flowsEvictedCapacity).toBe(1);
    const out = h.out;
    expect(h.poll(3000)).toBe(1);
    expect(out).toEqual(['a']);
    expect(h.up(4000, tcpPacket({ addr: '10.2.0.2', port: 40001 }, { addr: '10.1.0.2', port: 443 }, { flags: TCP_ACK, ack: 1 }), 'b').verdict).toBe('gate');
    expect(h.flush()).toBe(1);
    expect(out).toEqual(['a', 'b']);
    expect(e.gatedPackets).toBe(0);
  });

  it('maxGatedPackets bounds all gates together: the oldest go first, counted as overflow', () => {
    const e = new Engine(options({ maxGatedPackets: 3 }));
    const h = gated(e);
    sent.length = 0;
    burst(e, 0, 30, 1);
    for (let k = 0; k < 5; k++) expect(h.up(1000 + k, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 + 1460 * k }), k).verdict).toBe('gate');
    expect(e.gatedPackets).toBe(5);
    const out = h.out;
    h.poll(2000); // the queue is still long: only the excess goes
    expect(out).toEqual([0, 1]);
    expect(e.gatedPackets).toBe(3);
    expect(e.counters.gateReleasedOverflow).toBe(2);
  });

  it('a daemon polling while gatedPackets > 0 also collects an evicted flow\'s packets', () => {
    const e = new Engine(options({ maxFlows: 1 }));
    const h = gated(e);
    burst(e, 0, 30, 1);
    h.up(1000, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: 1 }), 'a');
    burst(e, 2000, 1, 1, { addr: '10.1.0.2', port: 443 }, { addr: '10.2.0.2', port: 40001 });
    // nothing is gated any more, but the orphan still counts until it is handed back
    expect(e.gatedPackets).toBe(1);
    const out = h.out;
    h.poll(3000);
    expect(out).toEqual(['a']);
    expect(e.gatedPackets).toBe(0);
  });
});
