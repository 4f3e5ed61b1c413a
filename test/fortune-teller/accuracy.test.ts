import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FortuneTeller,
  defaultFortuneTellerConfig,
  type FortuneTellerConfig,
} from '../../src/fortune-teller/index.js';
import {
  EV_ARRIVAL,
  EV_DEPARTURE,
  EV_DROP,
  RateProfile,
  defaultFifoSimConfig,
  parseTrace,
  simulateFifo,
  type FifoSimConfig,
} from '../helpers/fifo-sim.js';

const traceUrl = (name: string): URL =>
  new URL(`../../../shared/traces/zhuge-paper/${name}`, import.meta.url);

interface AccuracyFigures {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  meanSigned: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
  return sorted[i] ?? NaN;
}

/** Runs the FT over the simulated event stream; error = |predicted total at arrival - actual sojourn|. */
function evaluate(sim: FifoSimConfig, ft: FortuneTellerConfig, warmupUs = 1_000_000): AccuracyFigures {
  const r = simulateFifo({ ...sim, ...(JSON.parse(process.env['SIM'] ?? '{}') as object) });
  const teller = new FortuneTeller(ft);
  const errs = new Float64Array(r.packetCount);
  let ne = 0;
  let signed = 0;
  for (let e = 0; e < r.eventCount; e++) {
    const kind = r.evKind[e] ?? 0;
    const t = r.evTUs[e] ?? 0;
    const b = r.evBytes[e] ?? 0;
    const k = r.evKey[e] ?? 0;
    if (kind === EV_ARRIVAL) {
      const id = r.evPacket[e] ?? 0;
      // the arriving packet is not yet in the model: pass its size
      const p = teller.predict(t, b);
      teller.onArrival(t, b, k);
      const dep = r.departureUs[id] ?? -1;
      if (dep < 0 || t < warmupUs) continue;
      const actualMs = (dep - t) / 1000;
      if (actualMs >= 64) continue;
      const d = p.totalMs - actualMs;
      signed += d;
      errs[ne++] = Math.abs(d);
    } else if (kind === EV_DEPARTURE) {
      teller.onDeparture(t, b, k);
    } else if (kind === EV_DROP) {
      teller.onDrop(t, b, k);
    }
  }
  const s = errs.subarray(0, ne).sort();
  return { n: ne, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), meanSigned: signed / ne };
}

function stepProfile(): RateProfile {
  // 30 Mbit/s, drops to 10, then 5, outage-free; changes every 2 s
  const steps = [];
  const rates = [30, 10, 30, 5, 20, 30, 8, 30];
  for (let i = 0; i < rates.length; i++) steps.push({ tUs: i * 2_000_000, rateBps: (rates[i] ?? 30) * 1e6 });
  return new RateProfile(steps);
}

const office = (): RateProfile =>
  parseTrace(readFileSync(traceUrl('office-wifi_0.pitree-trace'), 'utf8'), { startS: 20, durationS: 20 });

/**
 * Rate oracle: knows the sim's true link rate at the arrival instant, its mean access delay and
 * the exact queue; drains the queue ahead in aggregates (ignoring later rate changes and the
 * packets that join the last aggregate later). A yardstick for how much of the error is the
 * link's randomness (access jitter) rather than the rate estimate; not a strict floor.
 */
function oracle(sim: FifoSimConfig, warmupUs = 1_000_000): AccuracyFigures {
  const r = simulateFifo(sim);
  const q: number[] = [];
  let qh = 0;
  let groupUs = -1;
  let groupBytes = 0;
  const acc = (sim.accessMinUs + sim.accessMaxUs) / 2;
  const errs = new Float64Array(r.packetCount);
  let ne = 0;
  let signed = 0;
  for (let e = 0; e < r.eventCount; e++) {
    const kind = r.evKind[e] ?? 0;
    const t = r.evTUs[e] ?? 0;
    const b = r.evBytes[e] ?? 0;
    if (kind === EV_ARRIVAL) {
      const rate = sim.profile.rateAt(t);
      let pos = b;
      for (let i = qh; i < q.length; i++) pos += q[i] ?? 0;
      const endUs = groupUs + (groupBytes * 8e6) / rate;
      let txop = Math.max(endUs, t) + acc;
      let deliv: number;
      const aggMax = sim.maxAggregateBytes > 0 ? sim.maxAggregateBytes : b;
      for (;;) {
        const chunk = Math.min(pos, aggMax);
        deliv = txop + (chunk * 8e6) / rate;
        pos -= chunk;
        if (pos <= 0) break;
        txop = deliv + acc;
      }
      q.push(b);
      const id = r.evPacket[e] ?? 0;
      const dep = r.departureUs[id] ?? -1;
      if (dep < 0 || t < warmupUs || dep - t >= 64_000) continue;
      const d = (deliv - dep) / 1000;
      signed += d;
      errs[ne++] = Math.abs(d);
    } else if (kind === EV_DROP) {
      q.pop();
    } else if (kind === EV_DEPARTURE) {
      if (t !== groupUs) {
        groupUs = t;
        groupBytes = 0;
      }
      groupBytes += b;
      qh++;
    }
  }
  const s = errs.subarray(0, ne).sort();
  return { n: ne, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), meanSigned: signed / ne };
}

const fmt = (f: AccuracyFigures): string =>
  `n=${f.n} p50=${f.p50.toFixed(3)} ms p90=${f.p90.toFixed(3)} ms p99=${f.p99.toFixed(3)} ms ` +
  `mean signed=${f.meanSigned.toFixed(3)} ms`;

interface Case {
  name: string;
  sim: FifoSimConfig;
}

const wired = { maxAggregateBytes: 0, accessMinUs: 0, accessMaxUs: 0 };
const heavy = { accessMinUs: 100, accessMaxUs: 1500 };
const cases: Case[] = [
  ...[1, 2, 3].map((seed) => ({
    name: `steps 30/10/5/20/8 Mbit/s, aggregated, seed ${seed}`,
    sim: { ...defaultFifoSimConfig, seed, durationUs: 16_000_000, profile: stepProfile() },
  })),
  ...[7, 9].map((seed) => ({
    name: `office-wifi_0 20-40 s, aggregated, seed ${seed}`,
    sim: { ...defaultFifoSimConfig, seed, durationUs: 20_000_000, profile: office() },
  })),
  ...[4, 5].map((seed) => ({
    name: `steps, serializing link, seed ${seed}`,
    sim: { ...defaultFifoSimConfig, ...wired, seed, durationUs: 16_000_000, profile: stepProfile() },
  })),
  {
    name: 'office-wifi_0 20-40 s, serializing link',
    sim: { ...defaultFifoSimConfig, ...wired, seed: 8, durationUs: 20_000_000, profile: office() },
  },
];
const heavyCases: Case[] = [
  {
    name: 'steps, aggregated, heavy contention (access 100-1500 us)',
    sim: { ...defaultFifoSimConfig, ...heavy, seed: 1, durationUs: 16_000_000, profile: stepProfile() },
  },
  {
    name: 'office-wifi_0 20-40 s, aggregated, heavy contention',
    sim: { ...defaultFifoSimConfig, ...heavy, seed: 7, durationUs: 20_000_000, profile: office() },
  },
];

const ftConfig = (): FortuneTellerConfig => ({
  ...defaultFortuneTellerConfig,
  ...(JSON.parse(process.env['FTCFG'] ?? '{}') as object),
});

function check(c: Case): void {
  const f = evaluate(c.sim, ftConfig());
  console.log(`[ft-accuracy] ${c.name}: ${fmt(f)}`);
  expect(f.n).toBeGreaterThan(1000);
  expect(f.p50).toBeLessThanOrEqual(1);
  expect(f.p90).toBeLessThanOrEqual(5);
}

describe('Fortune Teller accuracy on the synthetic FIFO', () => {
  it.each(cases)('$name: |error| p50 <= 1 ms, p90 <= 5 ms (actual < 64 ms)', check);

  // yardstick: with heavy contention, the FT must do about as well as the rate oracle
  it.each(heavyCases)('$name: |error| p50 within 0.5 ms of the rate oracle', (c) => {
    const f = evaluate(c.sim, ftConfig());
    const o = oracle(c.sim);
    console.log(`[ft-accuracy] ${c.name}: FT ${fmt(f)} | oracle ${fmt(o)}`);
    expect(f.n).toBeGreaterThan(1000);
    expect(f.p50).toBeLessThanOrEqual(o.p50 + 0.5);
  });

  // KNOWN FAILING (reported): with heavy contention (access jitter 100-1500 us) the p50 bound is
  // not met (the rate oracle's p50 is ~1.9 ms there too); it.fails turns red once it is met.
  it.fails.each(heavyCases)('KNOWN FAILING, bounds not met with heavy contention: $name', check);
});
