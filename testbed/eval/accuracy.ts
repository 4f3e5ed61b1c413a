/**
 * The Fortune Teller's accuracy per trace: the bottleneck plays a trace while an iperf3 download
 * fills it; in the ap namespace the packets entering the queue (eth, inbound) and leaving it
 * (wlan, outbound) are captured with the daemon's own tap (testbed/capture-tool.ts, as in
 * test/integration/accuracy.test.ts). The summary is `zhuge replay`'s predictionAccuracy
 * (src/replay/replay.ts); the per-packet (actual, predicted) pairs for the error distribution
 * and the heat map are the same replay's matched pairs (predictionPairs).
 * No daemon runs (the prediction is the Fortune Teller's, offline, on the real queue's taps).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { predictionAccuracy, predictionPairs } from '../../src/replay/replay.js';
import { defaultFortuneTellerConfig, type FortuneTellerConfig } from '../../src/fortune-teller/index.js';
import { ApAgent, playInAp } from '../player.js';
import { bufferBytesFor } from '../topology.js';
import { startCapture, type Capture } from '../capture.js';
import { iperfDownload, monoNowMs } from '../traffic.js';
import { withEvalLab } from './lab.js';
import { heatBins, histogram, meanRateBps, quantile, r3, type EvalResult, type EvalRun } from './stats.js';
import { loadSchedule, maxRateBps } from './trace.js';

export interface AccuracyEvalOptions {
  traces: string[];
  durationS: number;
  cc: string;
  baseRttMs: number;
  bufferMs: number;
  scale: number;
}

/** (actual sojourn ms, predicted ms) per matched departure, in departure order (zhuge replay's matching). */
export function accuracyPairs(ingress: Uint8Array, egress: Uint8Array, config: FortuneTellerConfig = defaultFortuneTellerConfig): Array<[number, number]> {
  return predictionPairs(ingress, egress, config).pairs;
}

export const ACCURACY_LABELS: Array<[string, string]> = [
  ['absErrorP50Ms', '|error| p50 (ms)'],
  ['absErrorP90Ms', '|error| p90 (ms)'],
  ['absErrorP99Ms', '|error| p99 (ms)'],
  ['absErrorUnder64P50Ms', '|error| p50, actual < 64 ms (ms)'],
  ['absErrorUnder64P90Ms', '|error| p90, actual < 64 ms (ms)'],
  ['signedErrorP50Ms', 'signed error p50 (ms)'],
  ['actualP50Ms', 'actual sojourn p50 (ms)'],
  ['actualP99Ms', 'actual sojourn p99 (ms)'],
  ['matchedShare', 'departures matched to an arrival'],
  ['kernelDrops', 'packets the taps missed (kernel drops)'],
];

export async function runAccuracyEval(o: AccuracyEvalOptions, progress: (line: string) => void, log: (line: string) => void, onRun: (r: EvalRun) => void = () => undefined): Promise<EvalResult> {
  const runs: EvalRun[] = [];
  const heat: Record<string, unknown> = {};
  const errHist: Record<string, unknown> = {};
  for (const path of o.traces) {
    const sched = loadSchedule(path, o.durationS, o.scale);
    const name = basename(path);
    const mean = meanRateBps(sched);
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-eval-acc-'));
    try {
      await withEvalLab({ rateBps: sched.steps[0]?.rateBps ?? 8000, bufferBytes: bufferBytesFor(mean, o.bufferMs), baseDelayMsEachWay: o.baseRttMs / 2 }, async (tb) => {
        log(`testbed ${tb.prefix}: accuracy over ${name} (${(sched.durationMs / 1000).toFixed(0)} s, mean ${(mean / 1e6).toFixed(2)} Mbit/s)`);
        const agent = await ApAgent.start(tb);
        const caps: Capture[] = [];
        try {
          await agent.setRate(sched.steps[0]?.rateBps ?? 8000);
          const filter = `ip and dst host ${tb.addrs.cli}`;
          caps.push(await startCapture(tb, tb.ifaces.apEth, 'inbound', join(dir, 'eth.pcap'), filter));
          caps.push(await startCapture(tb, tb.ifaces.apWlan, 'outbound', join(dir, 'wlan.pcap'), filter));
          const t0 = monoNowMs();
          const play = playInAp(tb, { schedule: sched });
          const ticker = setInterval(() => progress(`accuracy ${name}  t=${((monoNowMs() - t0) / 1000).toFixed(0)} s of ${(sched.durationMs / 1000).toFixed(0)} s`), 1000);
          await Promise.all([iperfDownload(tb, { durationS: Math.max(1, Math.floor(sched.durationMs / 1000)), cc: o.cc, intervalS: 1 }), play.done.then(() => agent.setRate(maxRateBps(sched)))]).finally(() =>
            clearInterval(ticker),
          );
          await new Promise((r) => setTimeout(r, 300));
          for (const c of caps) c.child.kill('SIGTERM');
          const done = await Promise.all(caps.map((c) => c.done));
          const eth = readFileSync(join(dir, 'eth.pcap'));
          const wlan = readFileSync(join(dir, 'wlan.pcap'));
          const acc = predictionAccuracy(eth, wlan);
          const pairs = accuracyPairs(eth, wlan);
          const signed = pairs.map(([a, p]) => p - a);
          const metrics: Record<string, number> = {
            absErrorP50Ms: acc.absErrorMsAll.p50,
            absErrorP90Ms: acc.absErrorMsAll.p90,
            absErrorP99Ms: acc.absErrorMsAll.p99,
            absErrorUnder64P50Ms: acc.absErrorMsUnder64.p50,
            absErrorUnder64P90Ms: acc.absErrorMsUnder64.p90,
            signedErrorP50Ms: acc.signedErrorMsAll.p50,
            actualP50Ms: acc.actualDelayMs.p50,
            actualP99Ms: acc.actualDelayMs.p99,
            predictedP50Ms: acc.predictedDelayMs.p50,
            matched: acc.matched,
            matchedShare: acc.departures > 0 ? r3(acc.matched / acc.departures) : Number.NaN,
            kernelDrops: done.reduce((a, d) => a + d.kernelDrops, 0),
            signedErrorP05Ms: r3(quantile(signed, 0.05)),
            signedErrorP95Ms: r3(quantile(signed, 0.95)),
          };
          const maxMs = Math.max(50, Math.min(1000, Math.ceil(quantile(pairs.map(([a]) => a), 0.99) / 10) * 10));
          heat[name] = { binMs: maxMs / 40, maxMs, cells: heatBins(pairs, maxMs / 40, maxMs) };
          errHist[name] = histogram(signed, 1);
          const entry: EvalRun = { zhuge: false, sender: o.cc, trace: name, rep: 0, metrics };
          runs.push(entry);
          onRun(entry);
          log(`${name}: ${acc.matched} matched, |error| p50 ${acc.absErrorMsAll.p50} p90 ${acc.absErrorMsAll.p90} p99 ${acc.absErrorMsAll.p99} ms; actual p50 ${acc.actualDelayMs.p50} p99 ${acc.actualDelayMs.p99} ms`);
        } finally {
          for (const c of caps) if (c.child.exitCode === null) c.child.kill('SIGKILL');
          agent.close();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    experiment: 'accuracy',
    scenario: { ...o },
    runs,
    metricLabels: ACCURACY_LABELS,
    notes: ['predicted = the Fortune Teller\'s total delay (qLong + qShort + tx) at arrival; actual = departure (wlan outbound tap) minus arrival (eth inbound tap), both kernel timestamps'],
    extra: { heat, errorHistogram: errHist },
  };
}
