/**
 * The daemon's per-packet path without I/O: Engine.onDownlinkArrival / onDownlinkDeparture /
 * onUplink (src/engine/engine.ts) fed synthetic TCP downloads.
 *
 * Traffic model (simulated time, one FIFO Wi-Fi queue): N TCP flows from 10.0.0.1:443 to clients
 * 10.128.x.y, 1500-byte data packets round-robin over the flows arriving at 500 Mbit/s; the
 * queue's service rate alternates between 1000 and 300 Mbit/s every 100 ms (the queue builds up
 * to ~40 ms and drains again, so predictions move and the Feedback Updater holds ACKs); one
 * uplink pure ACK per two data packets, of the flow of the last one. Downlink frames are what the
 * eth/wlan taps deliver (Ethernet, cut at a snap length: headers + 64 payload bytes, wire length
 * passed apart); ACKs are raw IPv4 as NFQUEUE delivers them. The frames are written in place into
 * two reused buffers (addresses, ports, sequence numbers, IP id: a handful of stores per packet,
 * included in the figures), so the benchmark itself allocates nothing per packet or per flow.
 * Held ACKs are released at once (onReleased), there is no timer here.
 *
 * Printed: per flow count, events/s (arrival + departure + uplink), µs per data packet (its
 * arrival, its departure and half an ACK), ACKs held, and RSS/heap after the run; then memory per
 * flow (heap and RSS growth, after a forced GC with --expose-gc, over 10k and 100k created
 * flows), and a churn of 32k and of 1M distinct flows through the default table bound (maxFlows 10000):
 * evictions, table size and RSS/heap at checkpoints.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/engine.js [secondsPerRun=1.5]
 */
import { spawnSync } from 'node:child_process';
import { freemem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import type { EngineOptions, UplinkDecision } from '../src/engine/options.js';
import { DELTA_WINDOW_DEFAULTS } from '../src/feedback-updater/index.js';
import { defaultFortuneTellerConfig } from '../src/fortune-teller/index.js';
import { fixIpPacketChecksums } from '../src/protocols/checksum.js';

// ----------------------------------------------------------------- packet builder ----

const SERVER_ADDR = 0x0a000001; // 10.0.0.1
const SERVER_PORT = 443;
const CLIENT_BASE = 0x0a800000; // 10.128.0.0/9: one client address per flow
const CLIENT_PORT = 40000;
const MSS_FRAME = 1514; // Ethernet frame of a 1500-byte IP packet
const SNAP_PAYLOAD = 64;
const ETH = 14;

/**
 * Writes an IPv4 + TCP header (20 + 20 bytes, no options) at `o`. Checksums are computed once
 * by the builder below; the in-place rewrites per packet do not update them (the engine never
 * verifies them, as the kernel already did).
 */
function writeIpTcp(
  dv: DataView,
  o: number,
  totalLength: number,
  src: number,
  dst: number,
  sport: number,
  dport: number,
  flags: number,
  timestamps = false,
): void {
  dv.setUint8(o, 0x45);
  dv.setUint8(o + 1, 0);
  dv.setUint16(o + 2, totalLength);
  dv.setUint16(o + 4, 0);
  dv.setUint16(o + 6, 0x4000); // DF
  dv.setUint8(o + 8, 64);
  dv.setUint8(o + 9, 6);
  dv.setUint32(o + 12, src);
  dv.setUint32(o + 16, dst);
  dv.setUint16(o + 20, sport);
  dv.setUint16(o + 22, dport);
  dv.setUint32(o + 24, 1);
  dv.setUint32(o + 28, 1);
  dv.setUint8(o + 32, (timestamps ? 8 : 5) << 4);
  dv.setUint8(o + 33, flags);
  dv.setUint16(o + 34, 65535);
  if (timestamps) dv.setUint32(o + 40, 0x0101080a); // NOP NOP kind 8 len 10, TSval/TSecr follow
}

/** TCP header length of the frames: 20, or 32 with the timestamp option (mode window). */
const tcpLen = (timestamps: boolean): number => (timestamps ? 32 : 20);

/** Downlink data frame as a tap delivers it: Ethernet + IPv4(total 1500) + TCP + 64 payload bytes. */
class DownFrame {
  readonly buf: Uint8Array;
  private readonly dv: DataView;
  constructor(private readonly timestamps = false) {
    const hl = 20 + tcpLen(timestamps);
    this.buf = new Uint8Array(ETH + hl + SNAP_PAYLOAD);
    this.dv = new DataView(this.buf.buffer);
    this.dv.setUint16(12, 0x0800);
    // the whole IP packet for the checksums, then its first bytes as the capture would cut it
    const full = new Uint8Array(1500);
    writeIpTcp(new DataView(full.buffer), 0, 1500, SERVER_ADDR, CLIENT_BASE, SERVER_PORT, CLIENT_PORT, 0x18, timestamps); // PSH|ACK
    for (let i = hl; i < 1500; i++) full[i] = (i * 37) & 0xff;
    fixIpPacketChecksums(full, 0);
    this.buf.set(full.subarray(0, hl + SNAP_PAYLOAD), ETH);
  }
  /** `tsEcr`: the echoed TSval (timestamps only). */
  set(flow: number, seq: number, ipId: number, tsEcr = 0): Uint8Array {
    this.dv.setUint16(ETH + 4, ipId & 0xffff);
    this.dv.setUint32(ETH + 16, (CLIENT_BASE + flow) >>> 0);
    this.dv.setUint32(ETH + 24, seq >>> 0);
    if (this.timestamps) this.dv.setUint32(ETH + 20 + 20 + 8, tsEcr >>> 0); // IP, TCP, NOP NOP 8 10 TSval: TSecr
    return this.buf;
  }
}

/** Uplink pure ACK as NFQUEUE delivers it: raw IPv4 + TCP, 40 bytes. */
class UpAck {
  readonly buf: Uint8Array;
  private readonly dv: DataView;
  constructor(private readonly timestamps = false) {
    const len = 20 + tcpLen(timestamps);
    this.buf = new Uint8Array(len);
    this.dv = new DataView(this.buf.buffer);
    writeIpTcp(this.dv, 0, len, CLIENT_BASE, SERVER_ADDR, CLIENT_PORT, SERVER_PORT, 0x10, timestamps); // ACK
    fixIpPacketChecksums(this.buf, 0);
  }
  /** `tsVal`: the client's TSval (timestamps only). The window is reset (a clamp rewrites it). */
  set(flow: number, ack: number, ipId: number, tsVal = 0): Uint8Array {
    this.dv.setUint16(4, ipId & 0xffff);
    this.dv.setUint32(12, (CLIENT_BASE + flow) >>> 0);
    this.dv.setUint32(28, ack >>> 0);
    if (this.timestamps) {
      this.dv.setUint16(34, 65535);
      this.dv.setUint32(44, tsVal >>> 0);
    }
    return this.buf;
  }
}

// ------------------------------------------------------------------ the simulation ----

/** `ring`: DeltaWindow ring capacity (maxEntries); undefined = the default the daemon uses. */
type Mode = 'increments' | 'drain' | 'window';

function options(maxFlows: number, ring: number | undefined, mode: Mode = 'increments'): EngineOptions {
  // drain: closing at 50 ms (target 25 ms), below the ~67 ms the slow phases queue (the default
  // 100 ms would never close here)
  const fu = {
    seed: 1,
    historyMs: 40,
    maxDeltaMs: 10,
    capMs: 10,
    ...(mode !== 'increments' ? { mode } : {}),
    ...(mode === 'drain' ? { drain: { targetMs: 25 } } : {}),
  };
  return {
    tcp: { enabled: true, ports: [SERVER_PORT] },
    quic: { enabled: true, ports: [443] },
    dscp: [],
    idleTimeoutMs: 30_000,
    maxFlows,
    fortuneTeller: defaultFortuneTellerConfig,
    feedbackUpdater: ring === undefined ? fu : { ...fu, maxEntries: ring },
  };
}

const ARRIVAL_GAP_US = (1500 * 8) / 500; // 500 Mbit/s
const PHASE_US = 100_000;
const RATE_HI_BPS = 1000e6;
const RATE_LO_BPS = 300e6;
const RING = 1 << 16;

/** Drives an engine with the traffic model; keeps its own clock and FIFO between calls. */
class Driver {
  private tUs = 1_000_000;
  private linkFreeUs = 0;
  private nextTickUs = 2_000_000;
  private nextPollUs = 0;
  private readonly releasedBy = (): void => {
    this.released++;
  };
  private i = 0;
  private readonly qFlow = new Uint32Array(RING);
  private readonly qSeq = new Uint32Array(RING);
  private readonly qId = new Uint16Array(RING);
  private readonly qDep = new Float64Array(RING);
  private qh = 0;
  private qt = 0;
  private readonly down: DownFrame;
  private readonly up: UpAck;
  /** mode window: each flow's last TSval, echoed by its next data packet; SYN-ACK sent */
  private readonly tsOf: Uint32Array;
  private readonly opened: Uint8Array;
  private readonly synAck: Uint8Array;
  private readonly synAckDv: DataView;
  private readonly dec: UplinkDecision = { verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined };
  private readonly seqOf: Uint32Array;
  events = 0;
  dataPackets = 0;
  acks = 0;
  held = 0;
  rewritten = 0;
  released = 0;

  constructor(
    readonly engine: Engine,
    /** flows of the round-robin; `firstFlow` offsets the client addresses (churn) */
    private readonly flows: number,
    private firstFlow = 0,
    private readonly window = false,
  ) {
    this.seqOf = new Uint32Array(flows);
    this.tsOf = new Uint32Array(window ? flows : 0);
    this.opened = new Uint8Array(window ? flows : 0);
    this.down = new DownFrame(window);
    this.up = new UpAck(window);
    // the client's SYN-ACK with window scale 7 (NOP, kind 3 len 3), for mode window
    this.synAck = new Uint8Array(44);
    const dv = (this.synAckDv = new DataView(this.synAck.buffer));
    writeIpTcp(dv, 0, 44, CLIENT_BASE, SERVER_ADDR, CLIENT_PORT, SERVER_PORT, 0x12);
    dv.setUint8(32, 6 << 4);
    dv.setUint32(40, 0x01030307);
  }

  setFirstFlow(f: number): void {
    this.firstFlow = f;
  }

  /** Runs `packets` data packets (with their departures and ACKs). */
  run(packets: number): void {
    const e = this.engine;
    for (let n = 0; n < packets; n++) {
      const tArr = this.tUs;
      // departures due before this arrival
      while (this.qh !== this.qt && (this.qDep[this.qh & (RING - 1)] as number) <= tArr) {
        const k = this.qh & (RING - 1);
        const buf = this.down.set(this.qFlow[k] as number, this.qSeq[k] as number, this.qId[k] as number);
        e.onDownlinkDeparture(this.qDep[k] as number, buf, 'ethernet', MSS_FRAME);
        this.qh++;
        this.events++;
      }
      const slot = this.i % this.flows;
      const flow = this.firstFlow + slot;
      const seq = ((this.seqOf[slot] as number) + 1448) >>> 0;
      this.seqOf[slot] = seq;
      const ipId = this.i & 0xffff;
      if (this.window && this.opened[slot] === 0) {
        // the handshake's window scale reaches the daemon through NFQUEUE before the data
        this.opened[slot] = 1;
        this.synAckDv.setUint32(12, (CLIENT_BASE + flow) >>> 0);
        e.onUplink(tArr, this.synAck, this.dec);
      }
      e.onDownlinkArrival(tArr, this.down.set(flow, seq, ipId, this.window ? (this.tsOf[slot] as number) : 0), 'ethernet', MSS_FRAME);
      this.events++;
      this.dataPackets++;
      // the FIFO's service
      const start = this.linkFreeUs > tArr ? this.linkFreeUs : tArr;
      const rate = Math.floor(start / PHASE_US) % 2 === 0 ? RATE_HI_BPS : RATE_LO_BPS;
      this.linkFreeUs = start + (MSS_FRAME * 8 * 1e6) / rate;
      if (this.qt - this.qh >= RING) throw new Error('bench queue overflow');
      const k = this.qt & (RING - 1);
      this.qFlow[k] = flow;
      this.qSeq[k] = seq;
      this.qId[k] = ipId;
      this.qDep[k] = this.linkFreeUs;
      this.qt++;
      // one ACK per two data packets
      if ((this.i & 1) === 1) {
        // TSval: the client's millisecond clock, plus the flow so that flows differ
        const tsVal = this.window ? (Math.floor(tArr / 1000) + slot) >>> 0 : 0;
        if (this.window) this.tsOf[slot] = tsVal;
        const d = e.onUplink(tArr, this.up.set(flow, seq, ipId, tsVal), this.dec);
        this.events++;
        this.acks++;
        if (d.verdict === 'hold') {
          this.held++;
          e.onReleased(d.flow);
        } else if (d.verdict === 'gate') this.held++;
        else if (d.verdict === 'rewrite') this.rewritten++;
      }
      this.i++;
      this.tUs += ARRIVAL_GAP_US;
      // the daemon polls the drain gates every millisecond while packets are gated
      if (this.tUs >= this.nextPollUs) {
        this.nextPollUs = this.tUs + 1000;
        if (e.gatedPackets > 0) {
          e.pollGates(this.tUs, this.releasedBy);
          this.events++;
        }
      }
      if (this.tUs >= this.nextTickUs) {
        e.tick(this.tUs);
        this.nextTickUs += 1_000_000;
      }
    }
  }
}

// ------------------------------------------------------------------------ helpers ----

const forceGc = (globalThis as { gc?: () => void }).gc;
const MiB = 1024 * 1024;

interface Mem {
  rss: number;
  heap: number;
  /** ArrayBuffer backing stores (typed arrays): outside the JS heap */
  ab: number;
}

function mem(): Mem {
  forceGc?.();
  forceGc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, ab: m.arrayBuffers };
}

const fmtMiB = (b: number): string => (b / MiB).toFixed(1);
const ringLabel = (ring: number | undefined): string => (ring === undefined ? `${DELTA_WINDOW_DEFAULTS.maxEntries}*` : String(ring));

// ------------------------------------------------------------------------ sections ----
// Each runs in its own process (fresh RSS): `engine.js --section <name> <args...>`.

function throughput(flows: number, ring: number | undefined, seconds: number, mode: Mode = 'increments'): string {
  const engine = new Engine(options(Math.max(10_000, flows), ring, mode));
  const d = new Driver(engine, flows, 0, mode === 'window');
  d.run(Math.max(50_000, flows * 3)); // JIT warm-up, flows created, queue in steady state
  const e0 = d.events;
  const p0 = d.dataPackets;
  const a0 = d.acks;
  const h0 = mode === 'window' ? d.rewritten : d.held;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    d.run(8192);
    t = performance.now();
  }
  const secs = (t - t0) / 1000;
  const ev = d.events - e0;
  const pk = d.dataPackets - p0;
  const acks = d.acks - a0;
  const held = (mode === 'window' ? d.rewritten : d.held) - h0;
  const m = mem();
  const c = engine.counters;
  if (c.internalErrors > 0 || engine.flows.size !== flows) {
    throw new Error(`engine: ${c.internalErrors} internal errors, ${engine.flows.size}/${flows} flows`);
  }
  return [
    String(flows).padStart(6),
    (mode !== 'increments' ? mode : ringLabel(ring)).padStart(6),
    (ev / secs / 1e6).toFixed(2).padStart(9),
    ((secs * 1e6) / pk).toFixed(3).padStart(10),
    ((secs * 1e9) / ev).toFixed(0).padStart(9),
    ((100 * held) / Math.max(1, acks)).toFixed(1).padStart(6),
    fmtMiB(m.rss).padStart(8),
    fmtMiB(m.heap).padStart(8),
    fmtMiB(m.ab).padStart(8),
  ].join(' ');
}

function memoryPerFlow(flows: number, ring: number | undefined): string {
  const engine = new Engine(options(flows, ring));
  const d = new Driver(engine, flows);
  const before = mem();
  d.run(flows * 2); // two data packets and one ACK per flow
  const after = mem();
  if (engine.flows.size !== flows) throw new Error(`engine holds ${engine.flows.size}/${flows} flows`);
  const per = (a: number, b: number): string => ((a - b) / flows).toFixed(0);
  return [
    String(flows).padStart(7),
    ringLabel(ring).padStart(5),
    per(after.heap, before.heap).padStart(11),
    per(after.ab, before.ab).padStart(11),
    per(after.rss, before.rss).padStart(11),
    fmtMiB(after.heap).padStart(9),
    fmtMiB(after.ab).padStart(8),
    fmtMiB(after.rss).padStart(8),
  ].join(' ');
}

function churn(total: number, maxFlows: number, ring: number | undefined): void {
  const engine = new Engine(options(maxFlows, ring));
  // 1000 flows in the round-robin at a time, a new set of 1000 every 4000 data packets (each
  // flow: 4 packets, 2 ACKs), so the table sees `total` distinct flows
  const active = 1000;
  const d = new Driver(engine, active);
  const step = total / 4;
  const t0 = performance.now();
  for (let seen = 0; seen < total; ) {
    d.setFirstFlow(seen);
    d.run(active * 4);
    seen += active;
    if (seen % step === 0) {
      const m = mem();
      const c = engine.counters;
      console.log(
        `  ${ringLabel(ring).padStart(5)} ${String(seen).padStart(10)} ${String(engine.flows.size).padStart(6)} ` +
          `${String(c.flowsEvictedCapacity).padStart(9)} ${String(c.flowsEvictedIdle).padStart(10)} ` +
          `${fmtMiB(m.heap).padStart(8)} ${fmtMiB(m.ab).padStart(8)} ${fmtMiB(m.rss).padStart(8)} ` +
          `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}`,
      );
    }
  }
}

function runSection(argv: string[]): void {
  const [name, a, b, c] = argv;
  const ring = (x: string | undefined): number | undefined => (x === undefined || x === 'default' ? undefined : Number(x));
  if (name === 'throughput') console.log(throughput(Number(a), ring(b), Number(c ?? '2')));
  else if (name === 'throughput-drain') console.log(throughput(Number(a), undefined, Number(c ?? '2'), 'drain'));
  else if (name === 'throughput-window') console.log(throughput(Number(a), undefined, Number(c ?? '2'), 'window'));
  else if (name === 'memory') console.log(memoryPerFlow(Number(a), ring(b)));
  else if (name === 'churn') churn(Number(a), Number(b), ring(c));
  else throw new Error(`unknown section ${String(name)}`);
}

function child(args: string[]): void {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--section', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    console.log(`  (section ${args.join(' ')} failed: exit ${String(r.status)} ${r.signal ?? ''})`);
    process.exitCode = 1;
  }
}

function main(): void {
  const sectionAt = process.argv.indexOf('--section');
  if (sectionAt >= 0) {
    runSection(process.argv.slice(sectionAt + 1));
    return;
  }
  const seconds = process.argv[2] ?? '1.5';
  const defaultRing = DELTA_WINDOW_DEFAULTS.maxEntries;
  // worst case per flow with the default ring fully grown: 2 rings (deltas, tokens) x 2
  // Float64Arrays (the rings start at 16 entries and grow only for fast flows)
  const estPerFlow = 4 * 8 * defaultRing;
  console.log(
    `engine: synthetic TCP downloads through Engine.onDownlinkArrival/onDownlinkDeparture/onUplink, one core, ${seconds} s per row, ` +
      'each row in a fresh process (memory after a forced GC; ab = ArrayBuffer backing stores, outside the JS heap)',
  );
  console.log(
    `ring = DeltaWindow maxEntries per flow (${defaultRing}* = the default, what the daemon uses); drain / window = feedbackUpdater.mode drain / window ` +
      '(window: frames with TCP timestamps, a SYN-ACK per flow; held% = ACKs whose window was rewritten)',
  );
  console.log(' flows   ring Mevents/s µs/datapkt  ns/event  held%  RSS MiB heap MiB   ab MiB');
  for (const flows of [1, 100, 10_000]) child(['throughput', String(flows), 'default', seconds]);
  child(['throughput', '10000', '256', seconds]);
  // feedbackUpdater.mode drain: ACKs gated while the modelled queue is above 50 ms (the slow
  // phases here queue ~67 ms), polled every simulated millisecond; held% = gated ACKs
  for (const flows of [1, 10_000]) child(['throughput-drain', String(flows), 'default', seconds]);
  // feedbackUpdater.mode window: no ACK held; each ACK's window lowered once its flow's RTT is known
  for (const flows of [1, 10_000]) child(['throughput-window', String(flows), 'default', seconds]);
  console.log('memory per flow (each flow created by 2 data packets + 1 ACK; table bound = flows):');
  console.log('  flows  ring heap B/flow  ab B/flow  RSS B/flow  heap MiB   ab MiB  RSS MiB');
  child(['memory', '10000', 'default']);
  // the flows here send 2 packets each: their rings stay at the initial 16 entries
  const need100k = 100_000 * 4 * 8 * 16;
  if (freemem() > 2 * need100k) child(['memory', '100000', 'default']);
  else {
    console.log(
      `  100000 ${`${defaultRing}*`.padStart(5)}  not run: needs ~${fmtMiB(need100k)} MiB of typed arrays ` +
        `(${estPerFlow} B/flow), ${fmtMiB(freemem())} MiB free`,
    );
  }
  child(['memory', '10000', '256']);
  child(['memory', '100000', '256']);
  console.log('churn: 32k distinct flows, 1000 active at a time, through maxFlows 10000 (the default):');
  console.log('   ring flows seen  table evict-cap evict-idle heap MiB   ab MiB  RSS MiB      s');
  child(['churn', '32000', '10000', 'default']);
  child(['churn', '32000', '10000', '256']);
  console.log('churn: 1M distinct 5-tuples, 1000 active at a time, through maxFlows 10000 (the default):');
  console.log('   ring flows seen  table evict-cap evict-idle heap MiB   ab MiB  RSS MiB      s');
  child(['churn', '1000000', '10000', 'default']);
}

main();
