/**
 * Fortune Teller throughput: events/s for onArrival + predict + onDeparture on one core.
 * Self-contained (bench/ is compiled by tsconfig.build.json, test/helpers is not): a small
 * deterministic aggregated FIFO generates the event stream up front, then the timed loop feeds
 * it to a FortuneTeller.
 *
 * A second row runs the same stream with discipline 'fq' (per-flow queues), the packets spread
 * over 64 flows: the FIFO's departure order is one a round-robin queue may produce too, so the
 * work is the per-flow bookkeeping, not a different stream.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/fortune-teller.js [packets]
 */
import { FortuneTeller, defaultFortuneTellerConfig, newPrediction } from '../src/fortune-teller/index.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Stream {
  kind: Uint8Array; // 0 arrival, 1 departure
  tUs: Float64Array;
  bytes: Uint32Array;
  key: Uint32Array;
  /** the packet's flow hash (64 flows) */
  flow: Uint32Array;
  n: number;
}

/** Arrivals at ~70% of a link whose rate changes every 200 ms; A-MPDU-like departures. */
function generate(packets: number, seed: number): Stream {
  const rnd = mulberry32(seed);
  const cap = packets * 2;
  const s: Stream = {
    kind: new Uint8Array(cap), tUs: new Float64Array(cap), bytes: new Uint32Array(cap),
    key: new Uint32Array(cap), flow: new Uint32Array(cap), n: 0,
  };
  const queue = new Uint32Array(packets);
  const size = new Uint32Array(packets);
  let qh = 0;
  let qt = 0;
  let tArr = 0;
  let tTx = 0;
  let rateBps = 30e6;
  let nextRateUs = 200_000;
  const push = (k: number, t: number, b: number, key: number, flow: number): void => {
    s.kind[s.n] = k; s.tUs[s.n] = t; s.bytes[s.n] = b; s.key[s.n] = key; s.flow[s.n] = flow; s.n++;
  };
  let id = 0;
  while (id < packets || qh < qt) {
    if (id < packets && (tArr <= tTx || qh === qt)) {
      const b = 200 + Math.floor(rnd() * 1300);
      size[id] = b;
      queue[qt++] = id;
      push(0, tArr, b, Math.imul(id, 0x9e3779b1) >>> 0, Math.imul(id % 64, 0x85ebca6b) >>> 0);
      if (qh + 1 === qt && tTx < tArr) tTx = tArr + 100 + rnd() * 1000;
      id++;
      tArr += ((850 * 8e6) / rateBps) * (0.2 + 1.6 * rnd()) / 0.7;
      while (tArr >= nextRateUs) { rateBps = (5 + rnd() * 45) * 1e6; nextRateUs += 200_000; }
      continue;
    }
    let agg = 0;
    while (qh < qt && agg < 16_000) {
      const p = queue[qh++] ?? 0;
      const b = size[p] ?? 0;
      agg += b;
      push(1, tTx, b, Math.imul(p, 0x9e3779b1) >>> 0, Math.imul(p % 64, 0x85ebca6b) >>> 0);
    }
    tTx += (agg * 8e6) / rateBps + 100 + rnd() * 1000;
  }
  return s;
}

let lastCounters = '';
function run(s: Stream, discipline: 'fifo' | 'fq'): number {
  const ft = new FortuneTeller({ ...defaultFortuneTellerConfig, discipline });
  const out = newPrediction();
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < s.n; i++) {
    const t = s.tUs[i] ?? 0;
    const b = s.bytes[i] ?? 0;
    const k = s.key[i] ?? 0;
    const f = s.flow[i] ?? 0;
    if (s.kind[i] === 0) {
      sink += ft.predict(t, b, out, f).totalMs;
      ft.onArrival(t, b, k, f);
    } else {
      ft.onDeparture(t, b, k);
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!Number.isFinite(sink)) throw new Error('non-finite prediction');
  const c = ft.counters;
  lastCounters = `matched=${c.matched} retiredAsDrop=${c.retiredAsDrop} overflow=${c.overflowEvictions} ` +
    `mean predicted=${(sink / (s.n / 2)).toFixed(2)} ms`;
  return secs;
}

const packets = Number(process.argv[2] ?? 1_000_000);
const stream = generate(packets, 1);
for (const discipline of ['fifo', 'fq'] as const) {
  run(generate(50_000, 2), discipline); // warm-up (JIT)
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) runs.push(run(stream, discipline));
  runs.sort((a, b) => a - b);
  const best = runs[0] ?? 1;
  const events = stream.n; // arrivals (each with a predict) + departures
  console.log(
    `fortune-teller (${discipline}): ${packets} packets, ${events} events (arrival+predict, departure), ` +
      `best of 3: ${best.toFixed(3)} s -> ${(events / best / 1e6).toFixed(2)} M events/s, ` +
      `${(packets / best / 1e6).toFixed(2)} M packets/s (${lastCounters})`,
  );
}
