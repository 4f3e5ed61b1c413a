/**
 * Deterministic synthetic FIFO for Fortune Teller tests: a link with a time-varying rate and
 * Wi-Fi-like aggregated service (A-MPDU-like bursts), fed by a paced/bursty sender, with a
 * finite tail-drop buffer. Emits the event stream the daemon would see (arrival tap before the
 * queue, departure tap when the queue dequeues, drops) and per-packet ground truth.
 *
 * Link model: when the queue is non-empty and the link is free, a transmit opportunity starts
 * after a random channel-access delay (uniform [accessMinUs, accessMaxUs]); it dequeues whole
 * packets from the head up to `maxAggregateBytes` (at least one) — all dequeued at that
 * instant (the departure tap sees them together) — and sends them in
 * air time = bytes * 8 / rate(t). Every packet of the aggregate is fully sent (ground-truth
 * departure) at the end of the air time. The next opportunity starts at the end of the air time
 * plus a new access delay. A rate of 0 is an outage: nothing is dequeued until the rate
 * becomes positive again (the queue stalls). `maxAggregateBytes` = 0 and access 0 gives a
 * plain serializing link (htb-like), departure tap = end of serialization - air time.
 *
 * Sender model: video frames every `frameIntervalUs` (size = videoBps * interval, jittered
 * +-videoJitter), sent as a back-to-back burst of `packetBytes` packets at `ingressBps`; plus
 * a bulk flow paced at `bulkFactor` x the link rate seen `bulkLagUs` earlier (a crude
 * congestion controller that follows the link with a delay and overshoots when it drops).
 */

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RateStep {
  /** Step start (µs). */
  readonly tUs: number;
  readonly rateBps: number;
}

/** Piecewise-constant rate profile, steps sorted by time. */
export class RateProfile {
  readonly steps: readonly RateStep[];
  constructor(steps: readonly RateStep[]) {
    if (steps.length === 0) throw new Error('empty rate profile');
    this.steps = [...steps].sort((a, b) => a.tUs - b.tUs);
  }
  rateAt(tUs: number): number {
    let lo = 0;
    let hi = this.steps.length - 1;
    if (tUs < (this.steps[0]?.tUs ?? 0)) return this.steps[0]?.rateBps ?? 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.steps[mid]?.tUs ?? 0) <= tUs) lo = mid;
      else hi = mid - 1;
    }
    return this.steps[lo]?.rateBps ?? 0;
  }
  /** First step start strictly after tUs, or Infinity. */
  nextChangeAfter(tUs: number): number {
    for (const s of this.steps) if (s.tUs > tUs) return s.tUs;
    return Infinity;
  }
}

/**
 * Parses a `time_s bandwidth_Mbps` trace. The first line's rate applies from 0; each line's
 * rate applies from its time on. `startS`/`durationS` trim (times re-based to 0), `scale`
 * multiplies the rates.
 */
export function parseTrace(text: string, opts: { startS?: number; durationS?: number; scale?: number } = {}): RateProfile {
  const startS = opts.startS ?? 0;
  const endS = startS + (opts.durationS ?? Infinity);
  const scale = opts.scale ?? 1;
  const rows: { t: number; mbps: number }[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) continue;
    const t = Number(parts[0]);
    const mbps = Number(parts[1]);
    if (!Number.isFinite(t) || !Number.isFinite(mbps)) continue;
    rows.push({ t, mbps });
  }
  const steps: RateStep[] = [];
  // the line at time t_i gives the rate of [t_{i-1}, t_i); shift so that each rate starts at the previous time
  let prevT = 0;
  for (const r of rows) {
    const from = prevT;
    prevT = r.t;
    if (r.t <= startS || from >= endS) continue;
    const s = Math.max(from, startS) - startS;
    steps.push({ tUs: Math.round(s * 1e6), rateBps: r.mbps * 1e6 * scale });
  }
  if (steps.length === 0) throw new Error('trace window is empty');
  return new RateProfile(steps);
}

export interface FifoSimConfig {
  readonly seed: number;
  readonly durationUs: number;
  readonly profile: RateProfile;
  readonly bufferBytes: number;
  readonly packetBytes: number;
  /** Max bytes per aggregate (0: one packet per opportunity). */
  readonly maxAggregateBytes: number;
  readonly accessMinUs: number;
  readonly accessMaxUs: number;
  readonly frameIntervalUs: number;
  readonly videoBps: number;
  readonly videoJitter: number;
  readonly ingressBps: number;
  readonly bulkFactor: number;
  readonly bulkLagUs: number;
  /** Probability that the tap loses an arrival / departure event (ground truth unaffected). */
  readonly lossArrivalEventProb: number;
  readonly lossDepartureEventProb: number;
}

export const defaultFifoSimConfig: Omit<FifoSimConfig, 'profile'> = {
  seed: 1,
  durationUs: 10_000_000,
  bufferBytes: 375_000,
  packetBytes: 1200,
  maxAggregateBytes: 16_000,
  // light contention; 100-1500 µs models heavy contention (see accuracy.test.ts)
  accessMinUs: 100,
  accessMaxUs: 500,
  frameIntervalUs: 33_333,
  videoBps: 4_000_000,
  videoJitter: 0.5,
  ingressBps: 1e9,
  bulkFactor: 0.7,
  bulkLagUs: 100_000,
  lossArrivalEventProb: 0,
  lossDepartureEventProb: 0,
};

export const EV_ARRIVAL = 0;
export const EV_DEPARTURE = 1;
export const EV_DROP = 2;

export interface SimResult {
  /** Events in time order: kind (EV_*), tUs, bytes, key (packet id). */
  readonly evKind: Uint8Array;
  readonly evTUs: Float64Array;
  readonly evBytes: Uint32Array;
  readonly evKey: Uint32Array;
  readonly evPacket: Uint32Array;
  readonly eventCount: number;
  /** Ground truth per packet (index = packet id). departure -1 when dropped. */
  readonly arrivalUs: Float64Array;
  readonly dequeueUs: Float64Array;
  readonly departureUs: Float64Array;
  readonly bytes: Uint32Array;
  readonly packetCount: number;
  readonly drops: number;
}

function hashKey(id: number, seed: number): number {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) ^ seed;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function simulateFifo(cfg: FifoSimConfig): SimResult {
  const rnd = mulberry32(cfg.seed);
  // ---- arrivals
  const arr: { t: number; b: number }[] = [];
  const pkt = cfg.packetBytes;
  const gapUs = (pkt * 8 * 1e6) / cfg.ingressBps;
  for (let t = 0; t < cfg.durationUs; t += cfg.frameIntervalUs) {
    const frameBytes = ((cfg.videoBps * cfg.frameIntervalUs) / 8e6) * (1 + cfg.videoJitter * (2 * rnd() - 1));
    const n = Math.max(1, Math.round(frameBytes / pkt));
    for (let i = 0; i < n; i++) arr.push({ t: Math.round(t + i * gapUs), b: pkt });
  }
  if (cfg.bulkFactor > 0) {
    let t = 0;
    while (t < cfg.durationUs) {
      const r = Math.max(cfg.profile.rateAt(t - cfg.bulkLagUs), 200_000) * cfg.bulkFactor;
      arr.push({ t: Math.round(t), b: pkt });
      // exponential-ish jitter around the paced gap
      t += ((pkt * 8 * 1e6) / r) * (0.5 + rnd());
    }
  }
  arr.sort((a, b) => a.t - b.t);
  const n = arr.length;
  const arrivalUs = new Float64Array(n);
  const dequeueUs = new Float64Array(n).fill(-1);
  const departureUs = new Float64Array(n).fill(-1);
  const bytes = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const a = arr[i];
    if (a === undefined) continue;
    arrivalUs[i] = a.t;
    bytes[i] = a.b;
  }
  // ---- events
  const cap = n * 3 + 16;
  const evKind = new Uint8Array(cap);
  const evTUs = new Float64Array(cap);
  const evBytes = new Uint32Array(cap);
  const evKey = new Uint32Array(cap);
  const evPacket = new Uint32Array(cap);
  let ne = 0;
  const emit = (kind: number, t: number, id: number): void => {
    evKind[ne] = kind;
    evTUs[ne] = t;
    evBytes[ne] = bytes[id] ?? 0;
    evKey[ne] = hashKey(id, cfg.seed);
    evPacket[ne] = id;
    ne++;
  };
  const access = (): number => Math.round(cfg.accessMinUs + (cfg.accessMaxUs - cfg.accessMinUs) * rnd());
  // ---- queue + link
  const q = new Uint32Array(n);
  let qh = 0;
  let qt = 0;
  let qBytes = 0;
  let linkFreeUs = 0;
  let nextTxop = Infinity;
  let drops = 0;
  let i = 0;
  while (i < n || qh < qt) {
    const tA = i < n ? (arrivalUs[i] ?? Infinity) : Infinity;
    if (tA <= nextTxop) {
      const b = bytes[i] ?? 0;
      if (rnd() >= cfg.lossArrivalEventProb) emit(EV_ARRIVAL, tA, i);
      if (qBytes + b > cfg.bufferBytes) {
        drops++;
        emit(EV_DROP, tA, i);
      } else {
        q[qt++] = i;
        qBytes += b;
        if (nextTxop === Infinity) nextTxop = Math.max(tA, linkFreeUs) + access();
      }
      i++;
      continue;
    }
    const t = nextTxop;
    const rate = cfg.profile.rateAt(t);
    if (rate <= 0) {
      const next = cfg.profile.nextChangeAfter(t);
      nextTxop = next === Infinity ? Infinity : next + access();
      if (next === Infinity) break;
      continue;
    }
    let aggBytes = 0;
    const first = qh;
    while (qh < qt) {
      const id = q[qh] ?? 0;
      const b = bytes[id] ?? 0;
      if (qh > first && aggBytes + b > cfg.maxAggregateBytes) break;
      aggBytes += b;
      qh++;
    }
    const airUs = (aggBytes * 8 * 1e6) / rate;
    for (let j = first; j < qh; j++) {
      const id = q[j] ?? 0;
      dequeueUs[id] = t;
      departureUs[id] = t + airUs;
      if (rnd() >= cfg.lossDepartureEventProb) emit(EV_DEPARTURE, t, id);
    }
    qBytes -= aggBytes;
    linkFreeUs = t + airUs;
    nextTxop = qh < qt ? linkFreeUs + access() : Infinity;
  }
  return {
    evKind, evTUs, evBytes, evKey, evPacket, eventCount: ne,
    arrivalUs, dequeueUs, departureUs, bytes, packetCount: n, drops,
  };
}
