/**
 * The engine behind NAT (the AP masquerading its clients): the eth tap sees the downlink to the
 * AP's public address and mapped port, the wlan tap and NFQUEUE the client's own tuple. Events are
 * generated as the AP would record them (arrival before de-NAT, departure after, uplink before
 * SNAT) and compared with the same traffic routed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { NAT_CONFIRMATIONS, NAT_RECHECK_EVERY, NatAliases } from '../../src/engine/nat-aliases.js';
import type { EngineOptions } from '../../src/engine/options.js';
import { fixIpv4HeaderChecksum } from '../../src/protocols/checksum.js';
import { flowKeyHash, newFlowKey, packetMatchKey } from '../../src/protocols/flow-key.js';
import { formatIpv4, parseIpv4Address } from '../../src/protocols/ipv4.js';
import { decodePacket, newPacketView, type PacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { TCP_ACK } from '../../src/protocols/tcp.js';
import { engineOptions, newDecision } from '../helpers/engine.js';
import { tcpPacket, udpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5201 };
const CLI = { addr: '10.2.0.1', port: 40000 };
const PUB = { addr: '192.0.2.2', port: 61000 }; // the AP's public address, the mapped port
const CLIENT_NET = parseIpv4Address('10.2.0.0') ?? 0;
const isClient = (v: PacketView): boolean => v.l3 === 'ipv4' && (v.dst0 & 0xffffff00) >>> 0 === CLIENT_NET;

const options = (over: Partial<EngineOptions> = {}): EngineOptions => engineOptions({ isClient, ...over });

const decision = newDecision;

interface Run {
  held: number;
  acks: number;
  releases: number[];
}

/**
 * A 1500-byte TCP download through a FIFO whose rate drops from 20 to 2 Mbit/s at t = 1 s
 * (arrivals at 10 Mbit/s, an ACK every second packet). `nat`: the arrival is addressed to PUB,
 * the departure (same IP ID, seq, payload) to CLI.
 */
function download(engine: Engine, nat: boolean, packets = 1500): Run {
  const pktBytes = 1500;
  const gapUs = (pktBytes * 8) / 10;
  let linkFreeUs = 0;
  const departures: Array<[number, Uint8Array]> = [];
  const r: Run = { held: 0, acks: 0, releases: [] };
  let seq = 1;
  for (let i = 0; i < packets; i++) {
    const t = i * gapUs;
    while (departures.length > 0 && (departures[0]?.[0] ?? Infinity) <= t) {
      const [dt, p] = departures.shift() as [number, Uint8Array];
      engine.onDownlinkDeparture(dt, p, 'raw-ip', p.length);
    }
    const opts = { seq, payloadBytes: pktBytes - 40, ipId: i & 0xffff };
    const atWlan = tcpPacket(SRV, CLI, opts);
    const atEth = nat ? tcpPacket(SRV, PUB, opts) : atWlan;
    seq += pktBytes - 40;
    engine.onDownlinkArrival(t, atEth, 'raw-ip', atEth.length);
    const start = Math.max(t, linkFreeUs);
    linkFreeUs = start + (pktBytes * 8e6) / (t < 1_000_000 ? 20e6 : 2e6);
    departures.push([linkFreeUs, atWlan]);
    if (i % 2 === 1) {
      const d = engine.onUplink(t + 100, tcpPacket(CLI, SRV, { flags: TCP_ACK, ack: seq }), decision());
      r.acks++;
      if (d.verdict === 'hold') {
        r.held++;
        r.releases.push(d.releaseUs);
        engine.onReleased(d.flow);
      } else r.releases.push(t + 100);
    }
  }
  return r;
}

describe('Engine behind NAT (public -> private aliases)', () => {
  it('routed: no alias, no unresolved arrival, the same decisions as without a client filter', () => {
    const a = new Engine(options());
    const { isClient: _drop, ...noFilter } = options();
    const b = new Engine(noFilter);
    const ra = download(a, false);
    const rb = download(b, false);
    expect(a.counters.natUnresolved).toBe(0);
    expect(a.counters.natAliasesLearnt).toBe(0);
    expect(a.nat.size).toBe(0);
    expect(ra.releases).toEqual(rb.releases);
    expect(a.ft.queue.counters.matched).toBe(b.ft.queue.counters.matched);
  });

  it('masqueraded TCP download: the alias is learnt from the first departures, then the flow is treated like the routed one', () => {
    const routed = new Engine(options());
    const nat = new Engine(options());
    const rr = download(routed, false);
    const rn = download(nat, true);
    expect(nat.counters.natAliasesLearnt).toBe(1);
    expect(nat.status(0).natAliases).toEqual(['tcp 10.1.0.1:5201>192.0.2.2:61000 = tcp 10.1.0.1:5201>10.2.0.1:40000']);
    // the arrivals before the alias was usable: a few packets of the first queueing delay
    expect(nat.counters.natUnresolved).toBeGreaterThanOrEqual(NAT_CONFIRMATIONS);
    expect(nat.counters.natUnresolved).toBeLessThan(20);
    expect(nat.counters.natTranslated + nat.counters.natUnresolved).toBe(1500);
    // one flow, keyed by the client's private tuple (the uplink ACKs find it)
    expect(nat.counters.flowsCreated).toBe(1);
    expect(nat.status(0).flows.map((f) => f.flow)).toEqual(['tcp 10.1.0.1:5201>10.2.0.1:40000']);
    expect(nat.counters.uplinkUntracked).toBeLessThan(10);
    // the taps' keys meet across the NAT: every translated arrival is matched at its departure
    expect(nat.ft.queue.counters.matched).toBeGreaterThanOrEqual(routed.ft.queue.counters.matched - nat.counters.natUnresolved);
    expect(nat.ft.queue.counters.matched).toBeGreaterThan(900);
    expect(nat.ft.queue.counters.retiredAsDrop).toBe(0);
    // and ACKs are held as often as routed (after the rate drop most are)
    expect(rn.acks).toBe(rr.acks);
    expect(rn.held).toBeGreaterThan(rr.held * 0.9);
    expect(rn.held).toBeGreaterThan(100);
  });

  it("leaves the AP's own traffic (to its public address, never queued on wlan) out of the queue model", () => {
    const e = new Engine(options());
    for (let i = 0; i < 100; i++) {
      const p = udpPacket({ addr: '10.1.0.53', port: 53 }, { addr: PUB.addr, port: 33000 }, Uint8Array.of(i, 1, 2, 3, 4, 5, 6, 7));
      e.onDownlinkArrival(i * 1000, p, 'raw-ip', p.length);
    }
    expect(e.counters.natUnresolved).toBe(100);
    expect(e.ft.queue.counters.arrivals).toBe(0);
    expect(e.ft.queue.bytesInQueue).toBe(0);
    expect(e.counters.natAliasesLearnt).toBe(0);
    expect(e.nat.pendingEvidence).toBeGreaterThan(90); // direct-mapped: a few share a slot
  });

  it('needs two agreeing departures: one match-key collision creates no alias', () => {
    const e = new Engine(options());
    // an AP-local packet and a client's packet with the same IP ID, length and payload
    const payload = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9);
    const local = udpPacket({ addr: '10.1.0.9', port: 4444 }, { addr: PUB.addr, port: 5555 }, payload, 77);
    const other = udpPacket(SRV, CLI, payload, 77);
    const a = newPacketView();
    const b = newPacketView();
    decodePacket(local, 'raw-ip', a);
    decodePacket(other, 'raw-ip', b);
    expect(packetMatchKey(a, local)).toBe(packetMatchKey(b, other));
    e.onDownlinkArrival(0, local, 'raw-ip', local.length);
    e.onDownlinkArrival(10, other, 'raw-ip', other.length);
    e.onDownlinkDeparture(500, other, 'raw-ip', other.length);
    expect(e.counters.natEvidence).toBe(1); // the collision is taken as evidence once...
    expect(e.counters.natAliasesLearnt).toBe(0); // ...but is not enough for an alias
    e.onDownlinkArrival(1000, local, 'raw-ip', local.length);
    expect(e.counters.natTranslated).toBe(0);
    expect(e.counters.natUnresolved).toBe(2);
  });

  it('re-learns when conntrack maps the public tuple to another client tuple', () => {
    const e = new Engine(options());
    const send = (t: number, i: number, cli: { addr: string; port: number }): void => {
      const pay = Uint8Array.of(i, i >> 8, 1, 2, 3, 4, 5, 6);
      const atEth = udpPacket(SRV, PUB, pay, i);
      const atWlan = udpPacket(SRV, cli, pay, i);
      e.onDownlinkArrival(t, atEth, 'raw-ip', atEth.length);
      e.onDownlinkDeparture(t + 200, atWlan, 'raw-ip', atWlan.length);
    };
    for (let i = 0; i < 5; i++) send(i * 1000, i, CLI);
    expect(e.counters.natAliasesLearnt).toBe(1);
    const other = { addr: '10.2.0.7', port: 41000 };
    // the translated arrivals are re-checked now and then: the first disagreeing departure
    // unconfirms the alias, the next two agreeing ones confirm the new mapping
    let i = 5;
    for (; i < 5 + 2 * NAT_RECHECK_EVERY && e.counters.natAliasesLearnt < 2; i++) send(i * 1000, i, other);
    expect(e.counters.natAliasesLearnt).toBe(2);
    expect(i - 5).toBeLessThanOrEqual(NAT_RECHECK_EVERY + NAT_CONFIRMATIONS);
    expect(e.status(0).natAliases).toEqual(['udp 10.1.0.1:5201>192.0.2.2:61000 = udp 10.1.0.1:5201>10.2.0.7:41000']);
    // idle aliases expire with the flows
    e.tick(i * 1000 + 31_000_000);
    expect(e.nat.size).toBe(0);
  });
});

describe('NatAliases', () => {
  it('a public-tuple hash collision leaves the newcomer unaliased (counted), the first alias intact', () => {
    // two public tuples with one directional hash (found by search over the AP's addresses in
    // 192.0.2.0/24 and the mapped ports: one word alone never collides, murmur rounds are bijective)
    const k = newFlowKey();
    k.family = 4;
    k.protocol = 17;
    k.src0 = parseIpv4Address('10.1.0.1') ?? 0;
    k.srcPort = 5004;
    const base = parseIpv4Address('192.0.2.0') ?? 0;
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let p = 0; p < 1 << 20 && pair === undefined; p++) {
      k.dst0 = base + (p >>> 16);
      k.dstPort = p & 0xffff;
      const h = flowKeyHash(k);
      const prev = seen.get(h);
      if (prev !== undefined) pair = [prev, p];
      else seen.set(h, p);
    }
    expect(pair).toBeDefined();
    const [p1, p2] = pair ?? [0, 0];
    const pubAddr = (p: number): string => formatIpv4(base + (p >>> 16));
    const counters = { natAliasesLearnt: 0, natTranslated: 0, natEvidence: 0, natAliasCollisions: 0 };
    const nat = new NatAliases({ maxAliases: 16, idleTimeoutUs: 1e9 }, counters);
    const view = (dst: string, dstPort: number, id: number): [PacketView, number] => {
      const pkt = udpPacket({ addr: '10.1.0.1', port: 5004 }, { addr: dst, port: dstPort }, Uint8Array.of(id, 7, 7, 7), id);
      const v = newPacketView();
      decodePacket(pkt, 'raw-ip', v);
      return [v, packetMatchKey(v, pkt)];
    };
    const teach = (p: number, cliPort: number, id: number): void => {
      const [pub, key] = view(pubAddr(p), p & 0xffff, id);
      nat.remember(0, pub, key);
      const [priv, key2] = view(CLI.addr, cliPort, id);
      expect(key2).toBe(key);
      nat.learn(0, priv, key2);
    };
    teach(p1, 40001, 1);
    teach(p1, 40001, 2);
    expect(counters.natAliasesLearnt).toBe(1);
    teach(p2, 40002, 3);
    teach(p2, 40002, 4);
    expect(counters.natAliasCollisions).toBe(2);
    expect(counters.natAliasesLearnt).toBe(1);
    const [v1] = view(pubAddr(p1), p1 & 0xffff, 5);
    expect(nat.translate(0, v1)).toBe(true);
    expect(v1.dstPort).toBe(40001);
    const [v2] = view(pubAddr(p2), p2 & 0xffff, 6);
    expect(nat.translate(0, v2)).toBe(false);
    expect(v2.dstPort).toBe(p2 & 0xffff);
  });
});

describe('Engine behind NAT: the in-band path (real Chromium call, client masqueraded)', () => {
  const SERVER = parseIpv4Address('10.78.1.1');
  const fixture = readFileSync(fileURLToPath(new URL('../../../shared/fixtures/webrtc/chromium-plaintext-4s.pcap', import.meta.url)));
  const PUBLIC = parseIpv4Address('192.0.2.2') ?? 0;
  const MAPPED = 61001;

  /** The raw IP packet with its destination rewritten to the AP's public address:port (checksums fixed). */
  function beforeDeNat(ip: Uint8Array): Uint8Array {
    const p = Uint8Array.from(ip);
    p[16] = PUBLIC >>> 24;
    p[17] = (PUBLIC >>> 16) & 0xff;
    p[18] = (PUBLIC >>> 8) & 0xff;
    p[19] = PUBLIC & 0xff;
    const ihl = (p[0]! & 0x0f) * 4;
    p[ihl + 2] = MAPPED >>> 8;
    p[ihl + 3] = MAPPED & 0xff;
    p[ihl + 6] = 0; // UDP checksum: optional (the capture's payloads are snap-cut)
    p[ihl + 7] = 0;
    fixIpv4HeaderChecksum(p, 0);
    return p;
  }

  it('builds feedback from the client private address:port, removes its TWCC, once the alias is known', () => {
    const e = new Engine(options({ isClient: (v) => v.l3 === 'ipv4' && v.dst0 >>> 16 === 0x0a4e, rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'off', seed: 1, signal: 'twcc' } }));
    const v = newPacketView();
    const d = decision();
    const built: Uint8Array[] = [];
    let dropped = 0;
    let client = '';
    for (const rec of readCapture(fixture)) {
      decodePacket(rec.data, 'ethernet', v);
      const ip = rec.data.subarray(v.ipOffset);
      if (v.src0 === SERVER) {
        client = `${v.dst0}:${v.dstPort}`;
        const eth = beforeDeNat(ip);
        e.onDownlinkArrival(rec.tUs, eth, 'raw-ip', eth.length);
        e.onDownlinkDeparture(rec.tUs + 500, ip, 'raw-ip', ip.length);
      } else if (e.onUplink(rec.tUs, ip, d).verdict === 'drop') dropped++;
      built.push(...(e.rtp?.poll(rec.tUs) ?? []));
    }
    expect(e.counters.natAliasesLearnt).toBe(1);
    expect(e.counters.natUnresolved).toBeLessThan(5);
    expect(e.counters.downlinkArrivals.rtp).toBeGreaterThan(600);
    expect(dropped).toBeGreaterThan(40);
    expect(built.length).toBeGreaterThan(40);
    const w = newPacketView();
    for (const pkt of built) {
      decodePacket(pkt, 'raw-ip', w);
      expect(`${w.src0}:${w.srcPort}`).toBe(client); // conntrack SNATs it like the client's own
      expect(w.dst0).toBe(SERVER);
    }
  });
});
