import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/protocols/tcp.js';
import { engineOptions, newDecision } from '../helpers/engine.js';
import { tcpPacket, udpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5201 };
const CLI = { addr: '10.2.0.1', port: 40000 };

const options = engineOptions;

const decision = newDecision;

/**
 * A 1500-byte TCP download through a queue whose service rate drops from 20 to 2 Mbit/s at
 * t = 1 s. Downlink arrivals at 10 Mbit/s; departures are simulated as a FIFO; ACKs every
 * second data packet.
 */
function runDrop(engine: Engine): { heldAfterDrop: number; acksAfterDrop: number; releases: number[]; addedMs: number[] } {
  const pktBytes = 1500;
  const arrivalGapUs = (pktBytes * 8) / 10; // 10 Mbit/s
  let linkFreeUs = 0;
  const departures: Array<[number, Uint8Array]> = [];
  let heldAfterDrop = 0;
  let acksAfterDrop = 0;
  const releases: number[] = [];
  const addedMs: number[] = [];
  let seq = 1;
  for (let i = 0; i < 1500; i++) {
    const t = i * arrivalGapUs;
    // departures due before this arrival
    while (departures.length > 0 && (departures[0]?.[0] ?? Infinity) <= t) {
      const [dt, p] = departures.shift() as [number, Uint8Array];
      engine.onDownlinkDeparture(dt, p, 'raw-ip', p.length);
    }
    const data = tcpPacket(SRV, CLI, { seq, payloadBytes: pktBytes - 40 });
    seq += pktBytes - 40;
    engine.onDownlinkArrival(t, data, 'raw-ip', data.length);
    const rateBps = t < 1_000_000 ? 20e6 : 2e6;
    const start = Math.max(t, linkFreeUs);
    linkFreeUs = start + (pktBytes * 8e6) / rateBps;
    departures.push([linkFreeUs, data]);
    if (i % 2 === 1) {
      const ack = tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: seq });
      const d = engine.onUplink(t + 100, ack, decision());
      if (d.verdict === 'hold') {
        releases.push(d.releaseUs);
        addedMs.push((d.releaseUs - (t + 100)) / 1000);
        engine.onReleased(d.flow);
      } else releases.push(t + 100);
      if (t > 1_000_000) {
        acksAfterDrop++;
        if (d.verdict === 'hold') heldAfterDrop++;
      }
    }
  }
  return { heldAfterDrop, acksAfterDrop, releases, addedMs };
}

describe('Engine', () => {
  it('holds ACKs of a TCP download once the queue starts growing, in order, within the cap', () => {
    const e = new Engine(options());
    const r = runDrop(e);
    expect(e.counters.flowsCreated).toBe(1);
    expect(r.acksAfterDrop).toBeGreaterThan(100);
    // after the drop the predicted delay grows with every packet: most ACKs are held
    expect(r.heldAfterDrop / r.acksAfterDrop).toBeGreaterThan(0.5);
    for (let i = 1; i < r.releases.length; i++) expect(r.releases[i]).toBeGreaterThanOrEqual(r.releases[i - 1] ?? 0);
    for (const a of r.addedMs) expect(a).toBeLessThanOrEqual(10 + 1e-9 + 40); // cap plus order-keeping waits
    expect(e.counters.malformed.truncated).toBe(0);
    expect(e.counters.internalErrors).toBe(0);
    const st = e.status(2_000_000);
    expect(st.flowsActive).toBe(1);
    expect(st.flows[0]?.flow).toBe('tcp 10.1.0.1:5201>10.2.0.1:40000');
    expect(st.flows[0]?.predictedDelayMs).toBeGreaterThan(10);
  });

  it('delays nothing while the queue is stable', () => {
    const e = new Engine(options());
    // 5 Mbit/s arrivals into a 20 Mbit/s link: no queue
    let held = 0;
    for (let i = 0; i < 1000; i++) {
      const t = i * 2400;
      const data = tcpPacket(SRV, CLI, { seq: i * 1460, payloadBytes: 1460 });
      e.onDownlinkArrival(t, data, 'raw-ip', data.length);
      e.onDownlinkDeparture(t + 600, data, 'raw-ip', data.length);
      const d = e.onUplink(t + 700, tcpPacket(CLI, SRV, { ack: i * 1460 }), decision());
      if (d.verdict === 'hold' && d.releaseUs - (t + 700) > 500) held++;
      e.onReleased(d.flow);
    }
    expect(held).toBeLessThan(20);
  });

  it('lets SYN/FIN pass without overtaking a held ACK of the same flow', () => {
    const e = new Engine(options());
    runDrop(e);
    const t = 3_000_000;
    const a = e.onUplink(t, tcpPacket(CLI, SRV, { flags: TCP_ACK }), decision());
    const releaseA = a.verdict === 'hold' ? a.releaseUs : t;
    const fin = e.onUplink(t + 10, tcpPacket(CLI, SRV, { flags: TCP_FIN | TCP_ACK }), decision());
    const releaseFin = fin.verdict === 'hold' ? fin.releaseUs : t + 10;
    expect(releaseFin).toBeGreaterThanOrEqual(releaseA);
    // a SYN of an unknown flow: untracked, accepted at once
    const syn = e.onUplink(t, tcpPacket({ addr: '10.2.0.9', port: 1 }, SRV, { flags: TCP_SYN }), decision());
    expect(syn.verdict).toBe('accept');
    expect(e.counters.uplinkUntracked).toBe(1);
  });

  it('never throws on garbage; counts it by reason and accepts uplink garbage at once', () => {
    const e = new Engine(options());
    const junk = [new Uint8Array(0), new Uint8Array([0x45]), new Uint8Array([0x60, 0, 0]), Uint8Array.from({ length: 60 }, (_, i) => (i * 37) & 0xff)];
    for (const j of junk) {
      e.onDownlinkArrival(1, j, 'raw-ip', j.length);
      e.onDownlinkDeparture(2, j, 'raw-ip', j.length);
      expect(e.onUplink(3, j, decision()).verdict).toBe('accept');
    }
    const total = Object.values(e.counters.malformed).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(6);
    expect(e.counters.internalErrors).toBe(0);
  });

  it('treats only configured ports and leaves untreated UDP alone', () => {
    const e = new Engine(options({ tcp: { enabled: true, ports: [443] } }));
    const data = tcpPacket(SRV, CLI, { payloadBytes: 100 });
    e.onDownlinkArrival(0, data, 'raw-ip', data.length);
    expect(e.counters.flowsCreated).toBe(0);
    const u = udpPacket(SRV, CLI, new Uint8Array(50));
    e.onDownlinkArrival(1, u, 'raw-ip', u.length);
    expect(e.counters.flowsCreated).toBe(0);
    expect(e.counters.downlinkArrivals.udp).toBe(1);
  });

  it('evicts idle flows and bounds the table', () => {
    const e = new Engine(options({ maxFlows: 10, idleTimeoutMs: 1 }));
    for (let i = 0; i < 50; i++) {
      const d = tcpPacket(SRV, { addr: '10.2.0.1', port: 1000 + i }, { payloadBytes: 10 });
      e.onDownlinkArrival(i, d, 'raw-ip', d.length);
    }
    expect(e.flows.size).toBe(10);
    expect(e.counters.flowsEvictedCapacity).toBe(40);
    e.tick(10_000);
    expect(e.flows.size).toBe(0);
    expect(e.counters.flowsEvictedIdle).toBe(10);
  });
});
