/**
 * Parse-and-classify throughput on one core over the real WebRTC fixture captures
 * (../shared/fixtures/webrtc/*.pcap beside the repo; override with ZHUGE_FIXTURES=<dir>).
 *
 * Every record is loaded once (copied out of the file), then the timed loop runs
 * decodePacket + classifyPacket with per-transport state (as src/replay/replay.ts does, with the
 * transport-wide extension ids learnt in a warm-up pass) for a fixed wall time, over:
 *   - each fixture as captured (its real class mix),
 *   - each packet class alone (records grouped by the class the warm-up gave them),
 *   - the TWCC feedback sub-packets of the fixtures: parseTwcc into a reused object, and
 *     serializeTwcc into a reused buffer.
 * Printed: packets/s, ns/packet, the minor/major GCs seen during the loop (0 = nothing allocated
 * per packet, or too little to fill the young generation) and the heap growth over the loop
 * (after a forced GC when node runs with --expose-gc).
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/parse.js [secondsPerFixture=2]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  PACKET_CLASSES,
  classifyPacket,
  newClassifyResult,
  newTransportState,
  type ClassifyOptions,
  type PacketClass,
  type TransportState,
} from '../src/protocols/classify.js';
import { canonicalFlowHash, isCanonicalDirection } from '../src/protocols/flow-key.js';
import { decodePacket, linkTypeFromDlt, newPacketView, type LinkType } from '../src/protocols/packet.js';
import { readCapture } from '../src/protocols/pcap-file.js';
import { RtcpCompoundCursor, RTCP_PT_RTPFB, RTPFB_FMT_TWCC } from '../src/protocols/rtcp/index.js';
import { newTwccFeedback, parseTwcc, serializeTwcc, twccSerializedLength } from '../src/protocols/rtcp/index.js';

// ------------------------------------------------------------------------ setup ----

function fixturesDir(): string {
  const env = process.env['ZHUGE_FIXTURES'];
  if (env !== undefined && env !== '') return resolve(env);
  // walk up from this file (bench/ or dist/bench/) to the repo root, then ../shared/fixtures
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) break;
    dir = dirname(dir);
  }
  return join(dir, '..', 'shared', 'fixtures', 'webrtc');
}

interface Rec {
  data: Uint8Array;
  lt: LinkType;
}

function loadRecords(file: string): Rec[] {
  const buf = new Uint8Array(readFileSync(file));
  const out: Rec[] = [];
  for (const r of readCapture(buf)) {
    const lt = linkTypeFromDlt(r.linkType);
    if (lt === undefined) continue;
    out.push({ data: Uint8Array.from(r.data), lt });
  }
  return out;
}

// ------------------------------------------------------------ the measured loop ----

const view = newPacketView();
const res = newClassifyResult();
const HOT: ClassifyOptions = {}; // the daemon's options: detector on, no feedback validation
const WARM: ClassifyOptions = { detectTwccExtension: true, validateFeedback: false };

/** One decode + classify of a record with its transport's state; returns the class index. */
function classifyOne(r: Rec, transports: Map<number, TransportState>, opts: ClassifyOptions): number {
  try {
    decodePacket(r.data, r.lt, view);
  } catch {
    return -1;
  }
  let st: TransportState | undefined;
  if (view.l4 === 'udp') {
    const h = canonicalFlowHash(view);
    st = transports.get(h);
    if (st === undefined) {
      st = newTransportState();
      transports.set(h, st);
    }
  }
  classifyPacket(r.data, view, st, isCanonicalDirection(view), res, opts);
  return res.malformed === undefined ? PACKET_CLASSES.indexOf(res.cls) : -1;
}

let gcMinor = 0;
let gcMajor = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    // detail.kind: 1 minor (scavenge), 2 major (mark-compact), 4 incremental, 8 weak callbacks
    const d = (e as { detail?: { kind?: number; flags?: number } }).detail;
    if (((d?.flags ?? 0) & 4) !== 0) continue; // kGCCallbackFlagForced: our own gc() calls
    if ((d?.kind ?? 0) === 1) gcMinor++;
    else gcMajor++;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

const forceGc = (globalThis as { gc?: () => void }).gc;

interface Measure {
  items: number;
  seconds: number;
  gcMinor: number;
  gcMajor: number;
  heapGrowth: number;
}

/** Runs `pass` (one pass over n items) repeatedly for at least `seconds`. */
async function measure(n: number, seconds: number, pass: () => number): Promise<Measure> {
  for (let i = 0; i < 3; i++) pass(); // JIT warm-up
  forceGc?.();
  forceGc?.();
  await new Promise((r) => setImmediate(r)); // let pending GC entries be delivered
  const minor0 = gcMinor;
  const major0 = gcMajor;
  const heap0 = process.memoryUsage().heapUsed;
  let items = 0;
  let sink = 0;
  const t0 = performance.now();
  let t = t0;
  const until = t0 + seconds * 1000;
  while (t < until) {
    sink += pass();
    items += n;
    t = performance.now();
  }
  const secs = (t - t0) / 1000;
  forceGc?.();
  const heap1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setImmediate(r));
  if (sink === Number.MIN_SAFE_INTEGER) console.log('unreachable'); // keep the work observable
  return { items, seconds: secs, gcMinor: gcMinor - minor0, gcMajor: gcMajor - major0, heapGrowth: heap1 - heap0 };
}

function row(label: string, count: number, m: Measure): string {
  const pps = m.items / m.seconds;
  return [
    label.padEnd(34),
    String(count).padStart(6),
    (pps / 1e6).toFixed(2).padStart(8),
    (1e9 / pps).toFixed(0).padStart(8),
    String(m.gcMinor).padStart(6),
    String(m.gcMajor).padStart(6),
    (m.heapGrowth / 1024).toFixed(1).padStart(10),
  ].join(' ');
}

const HEADER =
  'what'.padEnd(34) + ' ' + 'pkts'.padStart(6) + ' ' + 'Mpkt/s'.padStart(8) + ' ' + 'ns/pkt'.padStart(8) + ' ' +
  'gc-min'.padStart(6) + ' ' + 'gc-maj'.padStart(6) + ' ' + 'heap KiB'.padStart(10);

// ------------------------------------------------------------------------- main ----

async function main(): Promise<void> {
  const secondsPerFixture = Number(process.argv[2] ?? '2');
  const secondsPerClass = Math.max(0.3, secondsPerFixture / 4);
  const dir = fixturesDir();
  if (!existsSync(dir)) {
    console.error(`parse: fixtures not found at ${dir} (set ZHUGE_FIXTURES)`);
    process.exitCode = 2;
    return;
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
  console.log(
    `parse: decodePacket + classifyPacket, one core, ${secondsPerFixture} s per fixture, ${secondsPerClass} s per class ` +
      `(heap after ${forceGc !== undefined ? 'a forced GC' : 'NO forced GC: run node with --expose-gc'})`,
  );
  console.log(`fixtures: ${dir}`);
  console.log(HEADER);

  const byClass = new Map<PacketClass, { recs: Rec[]; transports: Map<number, TransportState> }>();
  const twccPackets: Uint8Array[] = [];
  const cursor = new RtcpCompoundCursor();

  for (const f of files) {
    const recs = loadRecords(join(dir, f));
    // warm-up pass (replay's pass 1): learn QUIC connections and transport-wide extension ids
    const transports = new Map<number, TransportState>();
    for (const r of recs) classifyOne(r, transports, WARM);
    for (const st of transports.values()) st.detector = undefined;
    let malformed = 0;
    const mix = new Map<PacketClass, number>();
    for (const r of recs) {
      const c = classifyOne(r, transports, HOT);
      if (c < 0) {
        malformed++;
        continue;
      }
      const cls = PACKET_CLASSES[c] as PacketClass;
      mix.set(cls, (mix.get(cls) ?? 0) + 1);
      let g = byClass.get(cls);
      if (g === undefined) byClass.set(cls, (g = { recs: [], transports }));
      g.recs.push(r);
      if (cls === 'rtcp-twcc') {
        // collect the TWCC sub-packets of the compound
        cursor.reset(r.data, view.payloadOffset, view.payloadOffset + view.capturedPayloadLength);
        try {
          while (cursor.next()) {
            const sv = cursor.view;
            if (sv.packetType === RTCP_PT_RTPFB && sv.count === RTPFB_FMT_TWCC) {
              twccPackets.push(Uint8Array.from(r.data.subarray(sv.offset, sv.offset + sv.byteLength)));
            }
          }
        } catch {
          // a malformed compound tail: keep what parsed
        }
      }
    }
    const n = recs.length;
    const m = await measure(n, secondsPerFixture, () => {
      let s = 0;
      for (let i = 0; i < n; i++) s += classifyOne(recs[i] as Rec, transports, HOT);
      return s;
    });
    console.log(row(f, n, m));
    const mixStr = [...mix].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c} ${k}`).join(', ');
    console.log(`  mix: ${mixStr}${malformed > 0 ? `, malformed ${malformed}` : ''}`);
  }

  console.log('per class (records of that class from all fixtures, with their transports\' state):');
  for (const cls of PACKET_CLASSES) {
    const g = byClass.get(cls);
    if (g === undefined) continue;
    const recs = g.recs;
    const n = recs.length;
    // each record keeps the transport map of its own fixture
    const maps = recs.map(() => g.transports);
    const m = await measure(n, secondsPerClass, () => {
      let s = 0;
      for (let i = 0; i < n; i++) s += classifyOne(recs[i] as Rec, maps[i] as Map<number, TransportState>, HOT);
      return s;
    });
    console.log(row(`  ${cls}`, n, m));
  }

  if (twccPackets.length > 0) {
    const fb = newTwccFeedback();
    let maxLen = 0;
    let entries = 0;
    for (const p of twccPackets) {
      parseTwcc(p, 0, p.length, fb);
      entries += fb.deltas.length;
      maxLen = Math.max(maxLen, twccSerializedLength(fb));
    }
    // parsed copies, so serialize measures only the encoder
    const parsed = twccPackets.map((p) => {
      const x = newTwccFeedback();
      parseTwcc(p, 0, p.length, x);
      x.deltas = x.deltas.slice();
      return x;
    });
    const out = new Uint8Array(maxLen);
    const n = twccPackets.length;
    console.log(`TWCC feedback sub-packets from the fixtures: ${n}, ${(entries / n).toFixed(1)} status entries each on average`);
    const mp = await measure(n, secondsPerClass * 2, () => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const p = twccPackets[i] as Uint8Array;
        s += parseTwcc(p, 0, p.length, fb).deltas.length;
      }
      return s;
    });
    console.log(row('  parseTwcc (reused object)', n, mp));
    const ms = await measure(n, secondsPerClass * 2, () => {
      let s = 0;
      for (let i = 0; i < n; i++) s += serializeTwcc(parsed[i] as (typeof parsed)[number], out).length;
      return s;
    });
    console.log(row('  serializeTwcc (reused buffer)', n, ms));
    // round-trip check: the bench measures a codec that reproduces the captured bytes
    let same = 0;
    for (let i = 0; i < n; i++) {
      const p = twccPackets[i] as Uint8Array;
      const w = serializeTwcc(parsed[i] as (typeof parsed)[number], out);
      if (w.length === p.length && w.every((b, j) => b === p[j])) same++;
    }
    console.log(`  round trip byte-exact: ${same}/${n}`);
  }
  gcObserver.disconnect();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
