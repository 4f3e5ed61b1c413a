/**
 * An engine-level fuzzer (issue 15, item 9): random, truncated and mutated frames of every class
 * the engine looks at — TCP (data, ACKs, SYNs with options), QUIC long and short headers, RTP
 * with a transport-wide sequence extension, RTCP compounds (RR, transport-wide feedback, NACK),
 * STUN, other UDP, ICMP, IPv6, IPv4 fragments and plain garbage — in both directions (the eth
 * tap's arrivals and the wlan tap's departures as Ethernet frames, NFQUEUE's uplink as raw IP),
 * with timestamps mostly rising and sometimes stepping back. The engine runs with the RTP path
 * (departure timing, repair on), NAT handling and a queue byte limit, and its feedback is polled.
 *
 * Checked on every packet: nothing throws out of the engine, nothing is counted as an internal
 * error, every verdict is one of the five, a rewritten uplink packet decodes with valid
 * checksums, and every packet the engine hands out (rebuilt feedback, repairs) decodes as UDP with
 * valid checksums. Seeded (xoshiro128**): the same seed gives the same run.
 *
 * Used by bench/engine-fuzz.ts (10 million packets, figures) and test/engine/engine-fuzz.test.ts
 * (a bounded share in CI).
 */
import { Engine } from '../src/engine/engine.js';
import { newUplinkDecision, type EngineOptions, type UplinkVerdict } from '../src/engine/options.js';
import { writeMac } from '../src/engine/station-directory.js';
import { Xoshiro128 } from '../src/feedback-updater/rng.js';
import { defaultFortuneTellerConfig } from '../src/fortune-teller/index.js';
import { fixIpPacketChecksums, fixIpv4HeaderChecksum, verifyL4Checksum } from '../src/protocols/checksum.js';
import { ParseError } from '../src/protocols/errors.js';
import { decodePacket, newPacketView } from '../src/protocols/packet.js';

export interface FuzzOptions {
  packets: number;
  seed: number;
  /** 'stations': the window clamp over per-station queues (queue.backend mac80211), TXQ readings interleaved */
  mode: 'increments' | 'drain' | 'window' | 'stations';
}

/** The stations (MACs as numbers): mode 'stations' sends departures to them; uplink packets come from them (NFQA_HWADDR) or from none. */
const STATION_MACS = [0x020000000001, 0x020000000002, 0x020000000003, 0x020000000004];

export interface FuzzResult {
  packets: number;
  byDirection: { arrival: number; departure: number; uplink: number };
  /** packets built valid then cut, mutated, or random bytes */
  intact: number;
  truncated: number;
  mutated: number;
  garbage: number;
  steppedBack: number;
  malformed: Record<string, number>;
  internalErrors: number;
  thrown: number;
  verdicts: Record<string, number>;
  badRewrites: number;
  emitted: number;
  badEmitted: number;
  /** the first few problems, for the report */
  problems: string[];
  flowsCreated: number;
  rtpTransports: number;
  /** mode 'stations': client addresses learnt behind a station, packets modelled at a station's queue */
  stationAddresses: number;
  stationPackets: number;
  /** uplink packets from a station other than the one the client's downlink goes to: passed untouched */
  foreignMac: number;
}

const VERDICTS: ReadonlySet<UplinkVerdict> = new Set(['accept', 'hold', 'drop', 'rewrite', 'gate']);
const SERVERS = [0x0a000001, 0x0a000002, 0xc6336407]; // 10.0.0.1, 10.0.0.2, 198.51.100.7
const CLIENTS = [0x0a800011, 0x0a800012, 0x0a800013]; // 10.128.0.17..19 (last bytes unlike the servers')
const AP_WAN = 0xcb007102; // 203.0.113.2: the AP's own address (NATed downlink)
const PORTS = [443, 3478, 5004, 5201, 40000, 50000, 6000];

/** Builds one valid packet of a random class into `buf` (raw IP from offset 0); returns its length. */
class FrameMaker {
  private readonly out = new Uint8Array(1600);
  private tcpSeq = 1;
  private rtpSeq = 1;
  private twSeq = 1;

  constructor(private readonly rng: Xoshiro128) {}

  private int(n: number): number {
    return Math.floor(this.rng.next() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** A valid IP packet, server -> client (down) or client -> server (up). */
  build(down: boolean): Uint8Array {
    const b = this.out;
    const cls = this.int(10);
    // RTP and RTCP mostly on one call's 5-tuple, so that transports form, report and repair
    const call = cls >= 3 && cls <= 5 && this.rng.next() < 0.8;
    const v6 = !call && this.rng.next() < 0.15;
    const server = call ? (SERVERS[0] as number) : this.pick(SERVERS);
    const client = call ? (CLIENTS[0] as number) : down && this.rng.next() < 0.1 ? AP_WAN : this.pick(CLIENTS);
    const sport = call ? 5004 : this.pick(PORTS);
    const cport = call ? 6000 : this.pick(PORTS);
    const ipHl = v6 ? 40 : 20;
    let l4: number;
    let proto: number;
    if (cls <= 2) {
      proto = 6;
      l4 = this.tcp(b, ipHl, cls);
    } else if (cls === 9 && !v6) {
      proto = 1; // ICMP echo
      b.fill(0, ipHl, ipHl + 16);
      b[ipHl] = 8;
      l4 = 16;
    } else {
      proto = 17;
      l4 = 8 + this.udpPayload(b, ipHl + 8, cls, down, call);
      b[ipHl + 4] = l4 >> 8;
      b[ipHl + 5] = l4 & 0xff;
    }
    const src = down ? server : client;
    const dst = down ? client : server;
    const [sp, dp] = down ? [sport, cport] : [cport, sport];
    if (proto !== 1) {
      b[ipHl] = sp >> 8;
      b[ipHl + 1] = sp & 0xff;
      b[ipHl + 2] = dp >> 8;
      b[ipHl + 3] = dp & 0xff;
    }
    const total = ipHl + l4;
    let fragment = false;
    if (v6) {
      b[0] = 0x60;
      b[1] = 0;
      b[2] = 0;
      b[3] = 0;
      b[4] = (total - 40) >> 8;
      b[5] = (total - 40) & 0xff;
      b[6] = proto === 1 ? 58 : proto;
      b[7] = 64;
      for (let k = 0; k < 16; k++) b[8 + k] = k < 15 ? 0x20 + k : src & 0xff;
      for (let k = 0; k < 16; k++) b[24 + k] = k < 15 ? 0x20 + k : dst & 0xff;
    } else {
      b[0] = 0x45;
      b[1] = this.int(4) === 0 ? 0xb8 : 0;
      b[2] = total >> 8;
      b[3] = total & 0xff;
      const id = this.int(0x10000);
      b[4] = id >> 8;
      b[5] = id & 0xff;
      // 1 in 30: a fragment (first or not)
      const frag = this.int(30) === 0 ? (this.int(2) === 0 ? 0x2000 : 0x0010 + this.int(8)) : 0x4000;
      b[6] = frag >> 8;
      b[7] = frag & 0xff;
      b[8] = 64;
      b[9] = proto;
      fragment = frag !== 0x4000;
      for (let k = 0; k < 4; k++) {
        b[12 + k] = (src >>> (24 - 8 * k)) & 0xff;
        b[16 + k] = (dst >>> (24 - 8 * k)) & 0xff;
      }
    }
    // the L4 checksum of a fragment or ICMP is left as generated (the engine does not check it)
    if (!v6 && (fragment || proto === 1)) fixIpv4HeaderChecksum(b, 0);
    else fixIpPacketChecksums(b, 0);
    return b.subarray(0, total);
  }

  private tcp(b: Uint8Array, o: number, kind: number): number {
    const syn = kind === 0 && this.int(4) === 0;
    const opts = syn ? 20 : this.int(2) === 0 ? 12 : 0;
    const hl = 20 + opts;
    const payload = kind === 1 ? 0 : this.int(1400);
    b.fill(0, o, o + hl);
    this.tcpSeq = (this.tcpSeq + 1 + this.int(3000)) >>> 0;
    for (let k = 0; k < 4; k++) {
      b[o + 4 + k] = (this.tcpSeq >>> (24 - 8 * k)) & 0xff;
      b[o + 8 + k] = (this.int(0x100000000) >>> (24 - 8 * k)) & 0xff;
    }
    b[o + 12] = (hl / 4) << 4;
    b[o + 13] = syn ? (this.int(2) === 0 ? 0x02 : 0x12) : this.pick([0x10, 0x18, 0x11, 0x04]);
    b[o + 14] = this.int(256);
    b[o + 15] = this.int(256);
    let p = o + 20;
    if (syn) {
      b.set([2, 4, 5, 0xb4, 1, 3, 3, this.int(15), 1, 1, 8, 10], p);
      p += 12;
      for (let k = 0; k < 8; k++) b[p + k] = this.int(256);
      p += 8;
    } else if (opts === 12) {
      b.set([1, 1, 8, 10], p);
      for (let k = 0; k < 8; k++) b[p + 4 + k] = this.int(256);
      p += 12;
    }
    for (let k = 0; k < payload; k++) b[p + k] = this.int(256);
    return hl + payload;
  }

  /** A UDP payload at `o` of class `cls` (3..9); returns its length. */
  private udpPayload(b: Uint8Array, o: number, cls: number, down: boolean, call: boolean): number {
    switch (cls) {
      case 3:
      case 4: {
        // RTP with a one-byte header extension carrying a transport-wide sequence number (id 3 or 5)
        const pay = this.int(1100);
        b[o] = 0x90;
        b[o + 1] = this.pick([96, 97, 111, 127]);
        this.rtpSeq = (this.rtpSeq + 1) & 0xffff;
        b[o + 2] = this.rtpSeq >> 8;
        b[o + 3] = this.rtpSeq & 0xff;
        for (let k = 4; k < 12; k++) b[o + k] = k >= 8 ? 0x11 * (k - 7) : this.int(256);
        b.set([0xbe, 0xde, 0, 1], o + 12);
        this.twSeq = (this.twSeq + 1 + (this.int(50) === 0 ? this.int(9000) : 0)) & 0xffff;
        b.set([((call ? 3 : this.pick([3, 5])) << 4) | 1, this.twSeq >> 8, this.twSeq & 0xff, 0], o + 16);
        for (let k = 0; k < pay; k++) b[o + 20 + k] = this.int(256);
        return 20 + pay;
      }
      case 5: {
        // RTCP compound: RR, then transport-wide feedback (205/15), NACK (205/1) or PLI (206/1)
        b.set([0x81, 201, 0, 7], o);
        for (let k = 4; k < 32; k++) b[o + k] = this.int(256);
        const fbKind = this.int(4);
        const p = o + 32;
        if (fbKind === 3) {
          // a well-formed transport-wide feedback: one packet received (run-length chunk, small delta)
          b.set([0x8f, 205, 0, 5, 0, 0, 0x51, 0x50, 0, 0, 0, 0x11, this.twSeq >> 8, this.twSeq & 0xff, 0, 1, 0, 0, 1, 0, 0x20, 0x01, 4, 0], p);
          return 32 + 24;
        }
        if (fbKind === 0) {
          const chunks = 1 + this.int(4);
          const words = 4 + chunks;
          b.set([0x8f, 205, 0, words], p);
          for (let k = 4; k < 4 + 4 * words; k++) b[p + k] = this.int(256);
          return 32 + 4 + 4 * words;
        }
        b.set([fbKind === 1 ? 0x81 : 0x81, fbKind === 1 ? 205 : 206, 0, 3], p);
        for (let k = 4; k < 16; k++) b[p + k] = this.int(256);
        return 48;
      }
      case 6: {
        // QUIC: long header (Initial) or short header
        if (this.int(2) === 0) {
          b[o] = 0xc0 | this.int(4);
          b.set([0, 0, 0, 1, 8], o + 1);
          for (let k = 6; k < 1200; k++) b[o + k] = this.int(256);
          return 1200;
        }
        b[o] = 0x40 | this.int(64);
        const n = 30 + this.int(1200);
        for (let k = 1; k < n; k++) b[o + k] = this.int(256);
        return n;
      }
      case 7: {
        // STUN binding request / response
        b.set([0, down ? 0x01 : 0x01, 0, 8, 0x21, 0x12, 0xa4, 0x42], o);
        for (let k = 8; k < 28; k++) b[o + k] = this.int(256);
        return 28;
      }
      default: {
        const n = this.int(600);
        for (let k = 0; k < n; k++) b[o + k] = this.int(256);
        return n;
      }
    }
  }
}

function ethernet(ip: Uint8Array, out: Uint8Array): Uint8Array {
  out.fill(0, 0, 12);
  out[12] = ip[0] !== undefined && ip[0] >> 4 === 6 ? 0x86 : 0x08;
  out[13] = ip[0] !== undefined && ip[0] >> 4 === 6 ? 0xdd : 0x00;
  out.set(ip, 14);
  return out.subarray(0, 14 + ip.length);
}

export function engineFuzzOptions(mode: FuzzOptions['mode']): EngineOptions {
  const clients = new Set(CLIENTS.map((c) => c >>> 0));
  return {
    tcp: { enabled: true, ports: [] },
    quic: { enabled: true, ports: [] },
    dscp: [],
    idleTimeoutMs: 2_000,
    maxFlows: 2_000,
    fortuneTeller: defaultFortuneTellerConfig,
    feedbackUpdater: { seed: 1, historyMs: 40, maxDeltaMs: 10, capMs: 10, ...(mode === 'increments' ? {} : { mode: mode === 'stations' ? 'window' : mode }) },
    ...(mode === 'stations' ? { perStationQueues: true } : {}),
    rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'delay', reportTiming: 'departure', repairDrops: true },
    isClient: (v) => v.l3 === 'ipv6' || clients.has(v.dst0 >>> 0),
    queueLimitBytes: 64_000,
    maxGatedPackets: 512,
  };
}

/** Runs the fuzzer; never throws on what the engine does (problems are counted and listed). */
export function runEngineFuzz(o: FuzzOptions): FuzzResult {
  const rng = new Xoshiro128(o.seed);
  const maker = new FrameMaker(rng);
  const engine = new Engine(engineFuzzOptions(o.mode));
  const d = newUplinkDecision();
  const v = newPacketView();
  const frame = new Uint8Array(1700);
  const work = new Uint8Array(1700);
  const r: FuzzResult = {
    packets: 0,
    byDirection: { arrival: 0, departure: 0, uplink: 0 },
    intact: 0,
    truncated: 0,
    mutated: 0,
    garbage: 0,
    steppedBack: 0,
    malformed: {},
    internalErrors: 0,
    thrown: 0,
    verdicts: {},
    badRewrites: 0,
    emitted: 0,
    badEmitted: 0,
    problems: [],
    flowsCreated: 0,
    rtpTransports: 0,
    stationAddresses: 0,
    stationPackets: 0,
    foreignMac: 0,
  };
  const problem = (s: string): void => {
    if (r.problems.length < 20) r.problems.push(s);
  };
  let tUs = 1_000_000;
  for (let i = 0; i < o.packets; i++) {
    // time: mostly 0-2 ms forward, 1 in 50 steps back up to 100 ms
    if (rng.next() < 0.02) {
      tUs -= Math.floor(rng.next() * 100_000);
      r.steppedBack++;
    } else tUs += Math.floor(rng.next() * 2_000);
    const dir = rng.next();
    const down = dir < 0.6;
    let pkt: Uint8Array;
    const shape = rng.next();
    if (shape < 0.05) {
      const n = Math.floor(rng.next() * 200);
      for (let k = 0; k < n; k++) work[k] = Math.floor(rng.next() * 256);
      pkt = work.subarray(0, n);
      r.garbage++;
    } else {
      const built = maker.build(down);
      work.set(built);
      pkt = work.subarray(0, built.length);
      if (shape < 0.2) {
        pkt = pkt.subarray(0, Math.floor(rng.next() * pkt.length));
        r.truncated++;
      } else if (shape < 0.4) {
        const flips = 1 + Math.floor(rng.next() * 4);
        for (let k = 0; k < flips && pkt.length > 0; k++) pkt[Math.floor(rng.next() * Math.min(pkt.length, 80))] = Math.floor(rng.next() * 256);
        r.mutated++;
      } else r.intact++;
    }
    r.packets++;
    try {
      if (down) {
        const f = ethernet(pkt, frame);
        const wire = f.length + (rng.next() < 0.1 ? Math.floor(rng.next() * 1000) : 0);
        if (dir < 0.35) {
          engine.onDownlinkArrival(tUs, f, 'ethernet', wire);
          r.byDirection.arrival++;
        } else {
          if (o.mode === 'stations') {
            // the frame enters a station's TXQs: its destination MAC is a station (or not)
            const mac = rng.next() < 0.9 ? (STATION_MACS[Math.floor(rng.next() * STATION_MACS.length)] ?? 0) : Math.floor(rng.next() * 2 ** 48);
            writeMac(mac, f, 0);
          }
          engine.onDownlinkDeparture(tUs, f, 'ethernet', wire);
          r.byDirection.departure++;
        }
      } else {
        const before = pkt.slice();
        // the sender's link-layer address: none (no NFQA_HWADDR), or one of the stations (forged or not)
        const srcMac = rng.next() < 0.5 ? 0 : (STATION_MACS[Math.floor(rng.next() * STATION_MACS.length)] ?? 0);
        engine.onUplink(tUs, pkt, d, srcMac);
        r.byDirection.uplink++;
        r.verdicts[d.verdict] = (r.verdicts[d.verdict] ?? 0) + 1;
        if (!VERDICTS.has(d.verdict)) problem(`packet ${i}: verdict ${String(d.verdict)}`);
        if (d.verdict === 'rewrite') checkRewrite(d.payload, before, v, r, i, problem);
        if (d.verdict === 'hold') engine.onReleased(d.flow);
      }
      if (i % 8 === 0) {
        for (const out of engine.rtp?.poll(tUs) ?? []) checkEmitted(out, v, r, i, problem);
        engine.pollGates(tUs, () => undefined);
      }
      if (i % 97 === 0) engine.onKernelDrops(tUs - 10_000, Math.floor(rng.next() * 3));
      if (o.mode === 'stations' && i % 5 === 0) {
        // a TXQ reading: any count the kernel could give, more departures than modelled included
        const mac = STATION_MACS[Math.floor(rng.next() * STATION_MACS.length)] ?? 0;
        const left = Math.floor(rng.next() * 8);
        engine.onTxqReading(tUs, mac, left, left * Math.floor(rng.next() * 1600), Math.floor(rng.next() * 60_000), Math.floor(rng.next() * 50));
        if (i % 5003 === 0) engine.stations?.onStationGone(tUs, mac);
      }
      if (i % 1009 === 0) engine.tick(tUs);
    } catch (err) {
      r.thrown++;
      problem(`packet ${i}: threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  engine.flushGates(() => undefined);
  r.internalErrors = engine.counters.internalErrors;
  for (const [k, n] of Object.entries(engine.counters.malformed)) if (n > 0) r.malformed[k] = n;
  r.flowsCreated = engine.counters.flowsCreated;
  r.rtpTransports = engine.rtp?.counters.transportsCreated ?? 0;
  r.stationAddresses = engine.stations?.directory.learned ?? 0;
  r.foreignMac = engine.counters.uplinkForeignMac;
  for (const mac of STATION_MACS) {
    const st = engine.stations?.directory.knownStation(mac) ?? 0;
    if (st > 0) r.stationPackets += engine.stations?.ftOf(st).queue.counters.arrivals ?? 0;
  }
  return r;
}

function checkRewrite(p: Uint8Array | undefined, before: Uint8Array, v: ReturnType<typeof newPacketView>, r: FuzzResult, i: number, problem: (s: string) => void): void {
  if (p === undefined) {
    r.badRewrites++;
    problem(`packet ${i}: rewrite without a payload`);
    return;
  }
  let beforeValid: boolean;
  try {
    decodePacket(before, 'raw-ip', v);
    beforeValid = !v.truncated && verifyL4Checksum(before, 0);
  } catch {
    beforeValid = false;
  }
  try {
    decodePacket(p, 'raw-ip', v);
    if (beforeValid && !verifyL4Checksum(p, 0)) {
      r.badRewrites++;
      problem(`packet ${i}: rewritten packet with a bad checksum`);
    }
  } catch (err) {
    r.badRewrites++;
    problem(`packet ${i}: rewritten packet does not decode (${err instanceof ParseError ? err.message : String(err)})`);
  }
}

function checkEmitted(p: Uint8Array, v: ReturnType<typeof newPacketView>, r: FuzzResult, i: number, problem: (s: string) => void): void {
  r.emitted++;
  try {
    decodePacket(p, 'raw-ip', v);
    // a repair (to a client) is the downlink packet as it came, checksum and all; feedback (to
    // a server) is built by zhuge and must be valid
    const last = v.l3 === 'ipv6' ? v.dst3 & 0xff : v.dst0 & 0xff;
    const toClient = last >= 0x11 && last <= 0x13;
    if (v.l4 !== 'udp' || (!toClient && !verifyL4Checksum(p, 0))) {
      r.badEmitted++;
      problem(`packet ${i}: emitted ${v.l4} with checksum ${String(verifyL4Checksum(p, 0))}`);
    }
  } catch (err) {
    r.badEmitted++;
    problem(`packet ${i}: emitted packet does not decode (${String(err)})`);
  }
}
