import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions, UplinkDecision } from '../../src/engine/options.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { parseIpv4Address } from '../../src/protocols/ipv4.js';
import { engineOptions } from '../helpers/engine.js';
import { parseTwcc } from '../../src/protocols/rtcp/index.js';

const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../../shared/fixtures/webrtc/${name}`, import.meta.url)));
const SERVER = parseIpv4Address('10.78.1.1');

function options(srtcpFallback: 'delay' | 'off'): EngineOptions {
  return engineOptions({ rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback, seed: 1, reportTiming: 'arrival', signal: 'twcc' } });
}

/** Replays a capture: server packets are downlink (observed), client packets uplink (intercepted). */
function replay(engine: Engine, name: string): { verdicts: Record<string, number>; built: Uint8Array[] } {
  const v = newPacketView();
  const verdicts: Record<string, number> = {};
  const built: Uint8Array[] = [];
  const d: UplinkDecision = { verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined };
  for (const rec of readCapture(fixture(name))) {
    decodePacket(rec.data, 'ethernet', v);
    if (v.src0 === SERVER) {
      engine.onDownlinkArrival(rec.tUs, rec.data, 'ethernet', rec.origLen);
      engine.onDownlinkDeparture(rec.tUs + 500, rec.data, 'ethernet', rec.origLen);
    } else {
      const r = engine.onUplink(rec.tUs, rec.data.subarray(v.ipOffset), d);
      verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
      if (r.verdict === 'hold') engine.onReleased(r.flow);
    }
    built.push(...(engine.rtp?.poll(rec.tUs) ?? []));
  }
  return { verdicts, built };
}

describe('Engine with the in-band path (real Chromium captures)', () => {
  it('plaintext call: client TWCC removed, other RTCP passes, zhuge feedback built from the client to the server', () => {
    const e = new Engine(options('delay'));
    const { verdicts, built } = replay(e, 'chromium-plaintext-4s.pcap');
    expect(e.counters.downlinkArrivals.rtp).toBeGreaterThan(600);
    expect(verdicts['drop'] ?? 0).toBeGreaterThan(40); // most of the 60 client TWCC datagrams
    expect(verdicts['accept'] ?? 0).toBeGreaterThan(0); // STUN, RR/SR/SDES
    expect(verdicts['hold'] ?? 0).toBe(0); // nothing of a plaintext RTP transport is delayed
    expect(built.length).toBeGreaterThan(40);
    const v = newPacketView();
    let reported = 0;
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', v);
      expect(v.src0).toBe(parseIpv4Address('10.78.2.1')); // from the client
      expect(v.dst0).toBe(SERVER);
      const fb = parseTwcc(pkt, v.payloadOffset, v.payloadLength);
      reported += fb.deltas.filter((x) => x !== null).length;
    }
    expect(reported).toBeGreaterThan(600);
    expect(e.counters.internalErrors).toBe(0);
  });

  it('SRTP call: SRTCP is never dropped or rewritten; with the fallback it is delayed in order', () => {
    const e = new Engine(options('delay'));
    const { verdicts, built } = replay(e, 'chromium-srtp-4s.pcap');
    expect(verdicts['drop'] ?? 0).toBe(0);
    expect(verdicts['rewrite'] ?? 0).toBe(0);
    expect(built.length).toBe(0);
    const off = new Engine(options('off'));
    const r = replay(off, 'chromium-srtp-4s.pcap');
    expect(r.verdicts['hold'] ?? 0).toBe(0);
    expect(r.verdicts['drop'] ?? 0).toBe(0);
  });
});

describe('Engine: drops the AP queue will make are reported as not received', () => {
  it('with a queue limit, packets arriving to a full queue are left out of the queue and reported lost', () => {
    const e = new Engine({ ...options('delay'), queueLimitBytes: 6000 });
    const v = newPacketView();
    const d: UplinkDecision = { verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined };
    const built: Uint8Array[] = [];
    let i = 0;
    const fifo: Array<{ data: Uint8Array; len: number }> = [];
    for (const rec of readCapture(fixture('chromium-plaintext-4s.pcap'))) {
      decodePacket(rec.data, 'ethernet', v);
      if (v.src0 === SERVER) {
        const before = e.counters.predictedQueueDrops;
        e.onDownlinkArrival(rec.tUs, rec.data, 'ethernet', rec.origLen);
        if (e.counters.predictedQueueDrops === before) fifo.push({ data: rec.data, len: rec.origLen });
        // a slow link: one packet leaves (in order) per three arrivals, so the queue fills to the limit
        const head = i++ % 3 === 0 ? fifo.shift() : undefined;
        if (head !== undefined) e.onDownlinkDeparture(rec.tUs + 500, head.data, 'ethernet', head.len);
      } else e.onUplink(rec.tUs, rec.data.subarray(v.ipOffset), d);
      built.push(...(e.rtp?.poll(rec.tUs) ?? []));
    }
    expect(e.counters.predictedQueueDrops).toBeGreaterThan(50);
    expect(e.rtp?.counters.predictedDrops ?? 0).toBeGreaterThan(50);
    expect(e.ft.queue.bytesInQueue).toBeLessThanOrEqual(6000);
    let lost = 0;
    let received = 0;
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', v);
      const fb = parseTwcc(pkt, v.payloadOffset, v.payloadLength);
      for (const x of fb.deltas) if (x === null) lost++; else received++;
    }
    expect(lost).toBeGreaterThan(50);
    expect(received).toBeGreaterThan(50);
  });
});

describe('Engine: drops counted by the kernel are attributed to the latest arrivals', () => {
  it('marks the n most recent arrivals since the last reading as lost before the next feedback', () => {
    const e = new Engine(options('delay'));
    const v = newPacketView();
    const d: UplinkDecision = { verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined };
    const built: Uint8Array[] = [];
    let lastReadUs = 0;
    let arrivals = 0;
    for (const rec of readCapture(fixture('chromium-plaintext-4s.pcap'))) {
      decodePacket(rec.data, 'ethernet', v);
      if (v.src0 === SERVER) {
        e.onDownlinkArrival(rec.tUs, rec.data, 'ethernet', rec.origLen);
        e.onDownlinkDeparture(rec.tUs + 500, rec.data, 'ethernet', rec.origLen);
        // every 20th arrival, the "kernel" says the two latest packets were dropped
        if (++arrivals % 20 === 0) {
          expect(e.onKernelDrops(lastReadUs, 2)).toBe(2);
          lastReadUs = rec.tUs;
        }
      } else e.onUplink(rec.tUs, rec.data.subarray(v.ipOffset), d);
      built.push(...(e.rtp?.poll(rec.tUs) ?? []));
    }
    let lost = 0;
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', v);
      for (const x of parseTwcc(pkt, v.payloadOffset, v.payloadLength).deltas) if (x === null) lost++;
    }
    // ~2 in 20 of the ~690 recorded packets, less those covered before the first feedback
    expect(lost).toBeGreaterThan(40);
    expect(e.counters.kernelDropsAttributed).toBeGreaterThan(60);
  });
});

describe("Engine with reportTiming 'departure' (real Chromium capture)", () => {
  it('reports each RTP packet at its observed departure from the Wi-Fi queue', () => {
    const e = new Engine(engineOptions({ rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'off', seed: 1, reportTiming: 'departure', signal: 'twcc' } }));
    const { built } = replay(e, 'chromium-plaintext-4s.pcap'); // every packet departs 500 µs after it arrived
    const c = e.rtp?.status(0).counters.reportTiming;
    expect(c?.reportedObserved ?? 0).toBeGreaterThan(600);
    // departed before any build saw them queued: nothing left to predict, nothing raised
    expect(c?.reportedPredicted ?? -1).toBeLessThan((c?.reportedObserved ?? 0) / 10);
    const v = newPacketView();
    let reported = 0;
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', v);
      reported += parseTwcc(pkt, v.payloadOffset, v.payloadLength).deltas.filter((x) => x !== null).length;
    }
    expect(reported).toBeGreaterThan(600);
    expect(e.counters.internalErrors).toBe(0);
  });
});

describe("Engine, reportTiming 'departure': the departure tap read before the eth tap", () => {
  it.each([
    ['after', false],
    ['before', true],
  ] as const)('every departure seen %s its arrival: all reported received, none lost, nothing sent again', (_when, departureFirst) => {
    const e = new Engine(engineOptions({ rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'off', seed: 1, reportTiming: 'departure', signal: 'twcc' } }));
    const v = newPacketView();
    const d: UplinkDecision = { verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined };
    const built: Uint8Array[] = [];
    for (const rec of readCapture(fixture('chromium-plaintext-4s.pcap'))) {
      decodePacket(rec.data, 'ethernet', v);
      if (v.src0 === SERVER) {
        // an empty queue: the packet leaves 20 µs after it arrives, and the wlan tap's packet
        // may be handled first
        if (departureFirst) e.onDownlinkDeparture(rec.tUs + 20, rec.data, 'ethernet', rec.origLen);
        e.onDownlinkArrival(rec.tUs, rec.data, 'ethernet', rec.origLen);
        if (!departureFirst) e.onDownlinkDeparture(rec.tUs + 20, rec.data, 'ethernet', rec.origLen);
      } else e.onUplink(rec.tUs, rec.data.subarray(v.ipOffset), d);
      built.push(...(e.rtp?.poll(rec.tUs) ?? []));
    }
    let lost = 0;
    let received = 0;
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', v);
      if (v.srcPort === 0 || v.dst0 !== SERVER) continue; // feedback only (a repair goes to the client)
      for (const x of parseTwcc(pkt, v.payloadOffset, v.payloadLength).deltas) if (x === null) lost++; else received++;
    }
    const c = e.rtp?.status(0).counters;
    expect(received).toBeGreaterThan(600);
    expect(lost).toBe(0);
    expect(c?.reportTiming.droppedBeforeReport).toBe(0);
    expect(c?.reportTiming.droppedAfterReport).toBe(0);
    expect(c?.reportTiming.reportedObserved).toBeGreaterThan(600);
    expect(built.filter((p) => (decodePacket(p, 'raw-ip', v), v.dst0 !== SERVER)).length).toBe(0);
  });
});
