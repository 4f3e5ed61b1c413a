/** flows.rtp.signal through the in-band path, over a real Chromium capture: what zhuge sends, what of the client's passes. */
import { describe, expect, it } from 'vitest';
import type { QueueView } from '../../../src/engine/rtp/rtp-feedback.js';
import { formatIpv4 } from '../../../src/protocols/ipv4.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { newRembView, newRtcpView, parseRtcpPacket, readRemb, REMB_UNLIMITED_BPS, type RtcpKind } from '../../../src/protocols/rtcp/index.js';
import { Engine } from '../../../src/engine/engine.js';
import { engineOptions } from '../../helpers/engine.js';
import { BASE_CFG, CLIENT, SERVER, load, replay } from './_helpers.js';

const recs = load('chromium-plaintext-4s.pcap');
const startUs = recs[0]!.tUs;

/** A queue that stands 200 ms deep at 500 kbit/s (the call alone in it) from `fromUs` on, empty before. */
function standingFrom(fromUs: number): QueueView {
  return {
    departureUs: () => Number.NaN,
    horizonUs: () => Number.POSITIVE_INFINITY,
    rateAgeUs: () => Number.POSITIVE_INFINITY,
    sampleCap: (tUs, _flow, out) => {
      out.serviceRateBps = 500_000;
      out.backlogBytes = tUs >= fromUs ? 12_500 : 0;
      out.share = 1;
    },
  };
}

interface Sent {
  kinds: RtcpKind[];
  rembBps: number[];
  senderSsrc: number;
}

function decode(pkts: Array<{ pkt: Uint8Array }>): Sent[] {
  const v = newPacketView();
  const rv = newRtcpView();
  const remb = newRembView();
  return pkts.map(({ pkt }) => {
    decodePacket(pkt, 'raw-ip', v);
    expect(formatIpv4(v.src0)).toBe(CLIENT);
    expect(formatIpv4(v.dst0)).toBe(SERVER);
    parseRtcpPacket(pkt, v.payloadOffset, v.payloadOffset + v.payloadLength, rv);
    const out: Sent = { kinds: [rv.kind], rembBps: [], senderSsrc: Buffer.from(pkt).readUInt32BE(v.payloadOffset + 4) };
    if (rv.kind === 'remb') {
      readRemb(pkt, rv, remb);
      out.rembBps.push(remb.bitrateBps);
    }
    return out;
  });
}

describe('flows.rtp.signal', () => {
  it.each([
    // signal, client TWCC passes, zhuge sends TWCC, zhuge sends REMB
    ['twcc', false, true, false],
    ['remb', true, false, true],
    ['both', false, true, true],
  ] as const)('%s: client TWCC passes %s, zhuge TWCC %s, REMB caps %s', (signal, clientPasses, ownTwcc, remb) => {
    const r = replay(recs, { ...BASE_CFG, signal }, () => 5, standingFrom(startUs + 2_000_000));
    const clientTwcc = r.uplink.filter((u) => u.kinds.includes('twcc'));
    expect(clientTwcc.length).toBeGreaterThan(10);
    const passed = clientTwcc.filter((u) => u.action.action === 'accept').length;
    if (clientPasses) expect(passed).toBe(clientTwcc.length);
    else expect(passed).toBeLessThan(clientTwcc.length / 2);
    const sent = decode(r.sent);
    expect(sent.some((s) => s.kinds.includes('twcc'))).toBe(ownTwcc);
    const rembs = sent.filter((s) => s.kinds.includes('remb'));
    expect(rembs.length > 0).toBe(remb);
    if (!remb) return;
    // no cap before the queue stood; then the rate less the drain of its excess, every build, as the client
    const first = r.sent.find((s) => decode([s])[0]!.kinds.includes('remb'))!;
    expect(first.tUs).toBeGreaterThanOrEqual(startUs + 2_000_000);
    expect(new Set(rembs.map((s) => s.rembBps[0]))).toEqual(new Set([350_000]));
    expect(new Set(rembs.map((s) => s.senderSsrc)).size).toBe(1);
    expect(r.fb.status(r.endUs).counters.rembSent).toBe(rembs.length);
    // remb alone records nothing to report (no per-packet recorder work); both records every packet
    expect(r.fb.status(r.endUs).counters.recorded.twcc === 0).toBe(signal === 'remb');
  });

  it('a cap in force is lifted when the daemon stops, once; the watchdog\'s copy of the lift leaves it in force', () => {
    const r = replay(recs, { ...BASE_CFG, signal: 'remb' }, () => 5, standingFrom(startUs + 2_000_000));
    expect(r.fb.status(r.endUs).list[0]?.capBps).toBe(350_000);
    const copy = decode(r.fb.liftsInForce().map((pkt) => ({ pkt })));
    expect(copy.map((s) => s.rembBps[0])).toEqual([REMB_UNLIMITED_BPS]);
    expect(r.fb.liftsInForce()).toHaveLength(1);
    expect(r.fb.status(r.endUs).list[0]?.capBps).toBe(350_000);
    const lifts = decode(r.fb.liftCaps().map((pkt) => ({ pkt })));
    expect(lifts.map((s) => s.rembBps[0])).toEqual([REMB_UNLIMITED_BPS]);
    expect(r.fb.liftCaps()).toEqual([]);
    expect(r.fb.liftsInForce()).toEqual([]);
    expect(r.fb.status(r.endUs).list[0]?.capBps).toBeNull();
  });

  it('a reload away from the cap lifts it at the next poll; none is in force without a standing queue', () => {
    const r = replay(recs, { ...BASE_CFG, signal: 'remb' }, () => 5, standingFrom(startUs + 2_000_000));
    r.fb.reconfigure({ ...BASE_CFG, signal: 'twcc' });
    const next = decode(r.fb.poll(r.endUs + 5000).map((pkt) => ({ pkt })));
    expect(next.filter((s) => s.kinds.includes('remb')).map((s) => s.rembBps[0])).toEqual([REMB_UNLIMITED_BPS]);
    const calm = replay(recs, { ...BASE_CFG, signal: 'remb' }, () => 5, standingFrom(Number.POSITIVE_INFINITY));
    expect(calm.sent).toEqual([]);
    expect(calm.fb.liftCaps()).toEqual([]);
  });

  it('RTP turned off by a reload with a cap in force: the engine keeps the lift for the daemon to send', () => {
    const r = replay(recs, { ...BASE_CFG, signal: 'remb' }, () => 5, standingFrom(startUs + 2_000_000));
    const e = new Engine(engineOptions({ rtp: { ...BASE_CFG, signal: 'remb' } }));
    e.rtp = r.fb; // the path of the replayed call, its cap in force
    e.reconfigure(engineOptions());
    expect(e.rtp).toBeUndefined();
    expect(decode(e.retiredLifts.map((pkt) => ({ pkt }))).map((s) => s.rembBps[0])).toEqual([REMB_UNLIMITED_BPS]);
    // on again: a new path, nothing more to lift
    e.retiredLifts.splice(0);
    e.reconfigure(engineOptions({ rtp: { ...BASE_CFG, signal: 'remb' } }));
    expect(e.rtp).toBeDefined();
    e.reconfigure(engineOptions());
    expect(e.retiredLifts).toEqual([]);
  });
});
