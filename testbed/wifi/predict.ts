/**
 * The Wi-Fi testbed's prediction trial (scenarios/predict.sh): two stations at different airtime
 * rates, a TCP download to each, zhuge on the AP with queue.backend mac80211 writing its
 * prediction for every downlink packet (--prediction-log). The medium logs when each packet
 * reached its station, under the same match key: the actual delay of a packet is its delivery
 * minus its arrival on the AP's Ethernet side (both wall-clock µs inside one UML kernel), set
 * beside what zhuge predicted for it at that arrival.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bootUml, cachedUmlKernel, REPO_ROOT } from './uml.js';

/** One packet: predicted at arrival, delivered by the medium. */
export interface PredictedPacket {
  station: number;
  /** the daemon's station queue (0: its default queue: the packet's address not yet learnt) */
  queue: number;
  actualMs: number;
  predictedMs: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
}

export interface StationPrediction {
  station: number;
  /** packets delivered to it that zhuge predicted */
  matched: number;
  /** of them, predicted at a station queue (not the default one) */
  atStationQueue: number;
  actualMs: Percentiles;
  predictedMs: Percentiles;
  absErrorMs: Percentiles;
  /** predicted - actual */
  signedErrorMs: Percentiles;
}

export interface PredictTrialResult {
  out: string;
  /** "d" lines of the medium: IP packets delivered to the stations */
  delivered: number;
  /** prediction lines of the daemon */
  predicted: number;
  stations: StationPrediction[];
  /** the goodput each station's download got (Mbit/s), by station */
  mbps: Record<number, number>;
  /** the daemon's /status at the end (prediction log counters, txq readings) */
  status: { predictionLog?: { written: number; dropped: number; writeErrors: number }; txq?: { stations?: number; readings?: number; parseErrors?: number } };
}

/** A percentile of a sorted array (nearest rank below). */
function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function percentiles(xs: readonly number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: pct(s, 0.5), p90: pct(s, 0.9) };
}

/**
 * Joins the daemon's prediction log with the medium's delivery lines by match key: each delivery
 * takes the latest unused prediction of its key that arrived before it (within 5 s). Packets the
 * medium delivered from a station (uplink) are not in the prediction log and find nothing.
 */
export function joinPredictions(predictionLog: string, mediumLog: string): { packets: PredictedPacket[]; delivered: number; predicted: number } {
  const byKey = new Map<number, Array<{ tUs: number; queue: number; totalMs: number; used: boolean }>>();
  let predicted = 0;
  for (const line of predictionLog.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [t, k, q, total] = line.split(' ').map(Number);
    if (t === undefined || k === undefined || q === undefined || total === undefined || !Number.isFinite(t)) continue;
    predicted++;
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push({ tUs: t, queue: q, totalMs: total, used: false });
  }
  const packets: PredictedPacket[] = [];
  let delivered = 0;
  for (const line of mediumLog.split('\n')) {
    if (!line.startsWith('d ')) continue;
    const [, t, st, k] = line.split(' ').map(Number);
    if (t === undefined || st === undefined || k === undefined) continue;
    delivered++;
    const list = byKey.get(k);
    if (list === undefined) continue;
    let best: (typeof list)[number] | undefined;
    for (const e of list) if (!e.used && e.tUs <= t && t - e.tUs < 5e6 && (best === undefined || e.tUs > best.tUs)) best = e;
    if (best === undefined) continue;
    best.used = true;
    packets.push({ station: st, queue: best.queue, actualMs: (t - best.tUs) / 1000, predictedMs: best.totalMs });
  }
  return { packets, delivered, predicted };
}

/** Per station: the matched packets' actual and predicted delays and the error, p50 / p90. */
export function summarizeByStation(packets: readonly PredictedPacket[]): StationPrediction[] {
  const stations = [...new Set(packets.map((p) => p.station))].sort((a, b) => a - b);
  return stations.map((station) => {
    const ps = packets.filter((p) => p.station === station);
    return {
      station,
      matched: ps.length,
      atStationQueue: ps.filter((p) => p.queue > 0).length,
      actualMs: percentiles(ps.map((p) => p.actualMs)),
      predictedMs: percentiles(ps.map((p) => p.predictedMs)),
      absErrorMs: percentiles(ps.map((p) => Math.abs(p.predictedMs - p.actualMs))),
      signedErrorMs: percentiles(ps.map((p) => p.predictedMs - p.actualMs)),
    };
  });
}

function iperfMbps(file: string): number {
  if (!existsSync(file)) return Number.NaN;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { end?: { sum_received?: { bits_per_second?: number } } };
    return (j.end?.sum_received?.bits_per_second ?? Number.NaN) / 1e6;
  } catch {
    return Number.NaN;
  }
}

export interface PredictTrialOptions {
  kernel: string;
  /** the medium's profile for each station (default 0:3 and 0:1: 3 and 1 Mbit/s) */
  sta1Profile?: string;
  sta2Profile?: string;
  seconds?: number;
  /** the download to station 1 paced at this rate (iperf3 -b, e.g. "0.3M"), else as fast as it goes */
  sta1Pace?: string;
  /** without: no daemon (what the testbed carries alone) */
  arm?: 'with' | 'without';
  timeoutMs?: number;
}

/** Boots UML with two stations and the prediction scenario, and joins what it left. */
export async function runPredictTrial(o: PredictTrialOptions): Promise<PredictTrialResult> {
  const r = await bootUml({
    kernel: o.kernel,
    radios: 3,
    pendingLimit: 8,
    memMb: 512,
    scenario: join(REPO_ROOT, 'testbed/wifi/scenarios/predict.sh'),
    env: { ZHUGE_STATIONS: '2', STA1_PROFILE: o.sta1Profile ?? '0:3', STA2_PROFILE: o.sta2Profile ?? '0:1', TCP_SECONDS: String(o.seconds ?? 10), ZHUGE_ARM: o.arm ?? 'with', ...(o.sta1Pace !== undefined ? { STA1_PACE: o.sta1Pace } : {}) },
    timeoutMs: o.timeoutMs ?? 240_000,
  });
  const read = (f: string): string => (existsSync(join(r.out, f)) ? readFileSync(join(r.out, f), 'utf8') : '');
  if (r.state !== 'associated') throw new Error(`the stations did not associate (${r.state ?? 'no state'}): ${r.initLog.join(' | ')}`);
  const j = joinPredictions(read('predictions.log'), read('medium.log'));
  let status: PredictTrialResult['status'] = {};
  try {
    status = JSON.parse(read('status.json')) as PredictTrialResult['status'];
  } catch {
    // no status: the daemon did not answer (the scenario log says why)
  }
  return {
    out: r.out,
    delivered: j.delivered,
    predicted: j.predicted,
    stations: summarizeByStation(j.packets),
    mbps: { 1: iperfMbps(join(r.out, 'iperf-1.json')), 2: iperfMbps(join(r.out, 'iperf-2.json')) },
    status,
  };
}

/** One line per station for a test's or a person's reading. */
export function formatPredictTrial(r: PredictTrialResult): string {
  const f = (p: Percentiles): string => `p50 ${p.p50.toFixed(1)} p90 ${p.p90.toFixed(1)}`;
  return [
    `delivered ${r.delivered} IP packets, ${r.predicted} predictions; results ${r.out}`,
    ...r.stations.map(
      (s) =>
        `  station ${s.station} (${(r.mbps[s.station] ?? Number.NaN).toFixed(2)} Mbit/s): matched ${s.matched} (${s.atStationQueue} at its queue); actual ms ${f(s.actualMs)}; predicted ms ${f(s.predictedMs)}; |error| ms ${f(s.absErrorMs)}; signed ${f(s.signedErrorMs)}`,
    ),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kernel = cachedUmlKernel();
  if (kernel === undefined) throw new Error('the UML kernel is not built (scripts/build-uml.sh)');
  const [sta1, sta2, arm, pace] = process.argv.slice(2);
  runPredictTrial({
    kernel,
    ...(sta1 !== undefined ? { sta1Profile: sta1 } : {}),
    ...(sta2 !== undefined ? { sta2Profile: sta2 } : {}),
    ...(arm === 'without' ? { arm } : {}),
    ...(pace !== undefined && pace !== '' ? { sta1Pace: pace } : {}),
  })
    .then((r) => console.log(formatPredictTrial(r)))
    .catch((e: unknown) => {
      console.error(String(e));
      process.exit(1);
    });
}
