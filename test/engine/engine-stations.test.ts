/**
 * queue.backend mac80211 in the engine (perStationQueues): each Wi-Fi station has its own queue
 * and Fortune Teller. The wlan tap shows frames entering a station's TXQs (their Ethernet
 * destination is the station), the TXQ counters say what left (onTxqReading).
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseMac, writeMac } from '../../src/engine/station-directory.js';
import type { Prediction } from '../../src/fortune-teller/index.js';
import { engineOptions } from '../helpers/engine.js';
import { udpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5000 };
const A = { addr: '10.2.0.1', port: 40000 };
const B = { addr: '10.2.0.2', port: 40000 };
const MAC_A = parseMac('02:00:00:00:00:0a') ?? 0;
const MAC_B = parseMac('02:00:00:00:00:0b') ?? 0;

/** The frame mac80211 is handed for the station: Ethernet (dst = the station) + the IP packet. */
function toStation(mac: number, ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  writeMac(mac, f, 0);
  f.set([2, 0, 0, 0, 0, 1], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f.set(ip, 14);
  return f;
}

const packet = (dst: typeof A, n: number): Uint8Array => udpPacket(SRV, dst, new Uint8Array(1200).fill(n & 0xff), n);

function setUp(): { e: Engine; last: { p: Prediction | undefined } } {
  const last: { p: Prediction | undefined } = { p: undefined };
  const e = new Engine(engineOptions({ perStationQueues: true }), { onPrediction: (p) => (last.p = { ...p }) });
  // both stations listed by the backend (debugfs), both seen receiving once (learns address -> station)
  e.onTxqReading(0, MAC_A, 0, 0, 0, 0);
  e.onTxqReading(0, MAC_B, 0, 0, 0, 0);
  for (const [mac, dst] of [[MAC_A, A], [MAC_B, B]] as const) {
    const p = packet(dst, 0);
    e.onDownlinkDeparture(10, toStation(mac, p), 'ethernet', p.length + 14);
  }
  return { e, last };
}

describe('Engine with per-station queues (queue.backend mac80211)', () => {
  it('queues a packet at its station: backlog at one station does not delay another', () => {
    const { e, last } = setUp();
    const st = e.stations;
    expect(st).toBeDefined();
    if (st === undefined) return;
    // station A's TXQ drains 10 packets every 10 ms (~9.6 Mbit/s) while 20 more wait
    let t = 1_000;
    let n = 1;
    for (let round = 0; round < 30; round++, t += 10_000) {
      for (let i = 0; i < 10; i++) {
        const p = packet(A, n++);
        e.onDownlinkArrival(t + i * 100, p, 'raw-ip', p.length);
      }
      e.onTxqReading(t + 9_000, MAC_A, round === 0 ? 0 : 10, round === 0 ? 0 : 10 * 1228, 20 * 1228, 20);
    }
    const a = packet(A, n++);
    e.onDownlinkArrival(t, a, 'raw-ip', a.length);
    const predictedA = last.p;
    const b = packet(B, n);
    e.onDownlinkArrival(t + 1, b, 'raw-ip', b.length);
    const predictedB = last.p;
    // A waits behind ~20 packets at ~9.8 Mbit/s (the 10 of a poll leave as one burst: qLong ~10 ms);
    // B's queue is empty: no wait behind anything (its tx term is at the initial rate: no departure measured yet)
    expect(predictedA?.qLongMs).toBeGreaterThan(5);
    // exactly what a queue that never held anything predicts for one packet
    let fresh: Prediction | undefined;
    const alone = new Engine(engineOptions(), { onPrediction: (p) => (fresh = { ...p }) });
    alone.onDownlinkArrival(t + 1, b, 'raw-ip', b.length);
    expect(predictedB?.totalMs).toBe(fresh?.totalMs);
    expect(predictedA?.totalMs).toBeGreaterThan(0);
    const s = st.status();
    expect(s.map((q) => q.mac).sort()).toEqual([MAC_A, MAC_B].sort());
    const qa = s.find((q) => q.mac === MAC_A);
    expect(qa?.dequeueRateBps).toBeGreaterThan(5e6);
    // nothing went to the shared default queue
    expect(e.ft.queue.counters.arrivals).toBe(0);
  });

  it('a destination no station is known for waits in the default queue until the wlan tap shows its station', () => {
    const { e } = setUp();
    const C = { addr: '10.2.0.3', port: 1 };
    const p = packet(C, 1);
    e.onDownlinkArrival(1_000, p, 'raw-ip', p.length);
    expect(e.ft.queue.counters.arrivals).toBe(1);
    // C turns out to be behind station B
    e.onDownlinkDeparture(1_100, toStation(MAC_B, p), 'ethernet', p.length + 14);
    const q = packet(C, 2);
    e.onDownlinkArrival(2_000, q, 'raw-ip', q.length);
    expect(e.ft.queue.counters.arrivals).toBe(1);
    expect(e.stations?.ftOf(e.stations.directory.knownStation(MAC_B)).queue.packetsInQueue).toBe(1);
  });

  it('the wlan tap is no departure here: the TXQ counters are, oldest packet of the station first', () => {
    const { e } = setUp();
    const stA = e.stations?.directory.knownStation(MAC_A) ?? 0;
    const ftA = e.stations?.ftOf(stA);
    for (let i = 1; i <= 3; i++) {
      const p = packet(A, i);
      e.onDownlinkArrival(1_000 * i, p, 'raw-ip', p.length);
      // entering the TXQ: seen by the wlan tap, still queued
      e.onDownlinkDeparture(1_000 * i + 10, toStation(MAC_A, p), 'ethernet', p.length + 14);
    }
    expect(ftA?.queue.packetsInQueue).toBe(3);
    e.onTxqReading(5_000, MAC_A, 2, 2 * 1228, 1228, 1);
    expect(ftA?.queue.packetsInQueue).toBe(1);
    expect(ftA?.queue.counters.matched).toBe(2);
    // more left than the model held (arrived before zhuge saw them): counted, rate still fed
    e.onTxqReading(6_000, MAC_A, 3, 3 * 1228, 0, 0);
    expect(ftA?.queue.packetsInQueue).toBe(0);
    expect(e.stations?.untrackedDepartures).toBe(2);
  });

  it('a station that leaves forgets its addresses: its clients go back to the default queue', () => {
    const { e } = setUp();
    e.stations?.onStationGone(1_000, MAC_A);
    const p = packet(A, 1);
    e.onDownlinkArrival(2_000, p, 'raw-ip', p.length);
    expect(e.ft.queue.counters.arrivals).toBe(1);
  });

  it('without perStationQueues the wlan tap is the departure, as before', () => {
    const e = new Engine(engineOptions());
    expect(e.stations).toBeUndefined();
    const p = packet(A, 1);
    e.onDownlinkArrival(1_000, p, 'raw-ip', p.length);
    e.onDownlinkDeparture(1_500, p, 'raw-ip', p.length);
    expect(e.ft.queue.packetsInQueue).toBe(0);
    expect(e.ft.queue.counters.matched).toBe(1);
  });
});
