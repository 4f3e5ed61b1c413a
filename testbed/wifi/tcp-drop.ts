/**
 * The Wi-Fi testbed's TCP drop trial (scenarios/tcp-drop.sh), one arm per UML boot: a cubic
 * download through the AP while the medium's rate drops, with or without zhuge (queue.backend
 * mac80211, the window clamp) on the AP. Boots, then reads the sender's view (iperf3 JSON, 200 ms
 * intervals) and the station's TXQ samples into one summary.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bootUml, REPO_ROOT } from './uml.js';

/** without zhuge; with it (window clamp); with it observing only (TCP untreated: the daemon's own cost) */
export type WifiArm = 'with' | 'without' | 'observe';

export interface WifiTcpDropResult {
  arm: WifiArm;
  /** the sender's smoothed RTT after the drop (ms): median, 90th percentile, max */
  rttP50Ms: number;
  rttP90Ms: number;
  rttMaxMs: number;
  /** time after the drop with the sender's RTT above 100 / 200 ms (s, 200 ms intervals) */
  over100Ms: number;
  over200Ms: number;
  retransmits: number;
  /** goodput before / after the drop (Mbit/s) */
  mbpsBefore: number;
  mbpsAfter: number;
  /** the station's TXQ backlog, largest sample (bytes) */
  txqMaxBytes: number;
  /** with zhuge: ACKs clamped, stations followed, TXQ readings */
  clampedAcks: number;
  stations: number;
  txqReadings: number;
  /** the daemon's CPU time over its run time (share of UML's one CPU), -1 without it */
  daemonCpuShare: number;
  /** one read of the station's aqm file in UML, by node (µs), -1 when not measured */
  aqmReadUs: number;
  /** with zhuge: times its watchdog removed the rules (a stall), over the whole run; -1 without it */
  watchdogTrips: number;
  /** the RTT of each 200 ms interval (ms) */
  rttSeriesMs: number[];
}

interface IperfInterval {
  streams: Array<{ end: number; rtt: number; retransmits: number; bits_per_second: number }>;
}

/** Summarizes one arm's results directory; `dropS`: when the medium's rate dropped, in transfer time. */
export function summarizeTcpDrop(dir: string, arm: WifiArm, dropS: number): WifiTcpDropResult {
  const j = JSON.parse(readFileSync(join(dir, 'iperf.json'), 'utf8')) as { intervals?: IperfInterval[]; error?: string };
  if (j.intervals === undefined || j.intervals.length === 0) throw new Error(`iperf3 gave no intervals in ${dir}: ${j.error ?? ''}`);
  const iv = j.intervals.flatMap((i) => (i.streams[0] !== undefined ? [i.streams[0]] : [])).map((s) => ({ t: s.end, rttMs: s.rtt / 1000, rtx: s.retransmits, mbps: s.bits_per_second / 1e6 }));
  const before = iv.filter((x) => x.t <= dropS);
  const after = iv.filter((x) => x.t > dropS + 0.2);
  const rtts = after.map((x) => x.rttMs).sort((a, b) => a - b);
  const q = (p: number): number => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? 0;
  const mean = (xs: number[]): number => (xs.length > 0 ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  const aqm = existsSync(join(dir, 'aqm.txt')) ? readFileSync(join(dir, 'aqm.txt'), 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[1] ?? 0)) : [];
  let clampedAcks = 0;
  let stations = 0;
  let txqReadings = 0;
  if (existsSync(join(dir, 'status.json'))) {
    const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { flows?: Array<{ window?: { clampedAcks?: number } }>; txq?: { stations?: number; readings?: number } };
    clampedAcks = (st.flows ?? []).reduce((a, f) => a + (f.window?.clampedAcks ?? 0), 0);
    stations = st.txq?.stations ?? 0;
    txqReadings = st.txq?.readings ?? 0;
  }
  let watchdogTrips = -1;
  if (existsSync(join(dir, 'metrics.txt'))) {
    const m = /^zhuge_watchdog_trips_total (\S+)$/m.exec(readFileSync(join(dir, 'metrics.txt'), 'utf8'));
    if (m?.[1] !== undefined) watchdogTrips = Number(m[1]);
  }
  let daemonCpuShare = -1;
  if (existsSync(join(dir, 'zhuge-cpu.txt'))) {
    const [ut, st, hz, from, to] = readFileSync(join(dir, 'zhuge-cpu.txt'), 'utf8').trim().split(/\s+/).map(Number);
    if (ut !== undefined && st !== undefined && hz !== undefined && from !== undefined && to !== undefined && to > from) daemonCpuShare = Number(((ut + st) / hz / (to - from)).toFixed(3));
  }
  const readUs = existsSync(join(dir, 'aqm-read-us.txt')) ? Number(readFileSync(join(dir, 'aqm-read-us.txt'), 'utf8').trim()) : Number.NaN;
  return {
    arm,
    daemonCpuShare,
    aqmReadUs: Number.isFinite(readUs) ? Number(readUs.toFixed(1)) : -1,
    rttP50Ms: Math.round(q(0.5)),
    rttP90Ms: Math.round(q(0.9)),
    rttMaxMs: Math.round(rtts.at(-1) ?? 0),
    over100Ms: Number((after.filter((x) => x.rttMs > 100).length * 0.2).toFixed(1)),
    over200Ms: Number((after.filter((x) => x.rttMs > 200).length * 0.2).toFixed(1)),
    retransmits: iv.reduce((a, x) => a + x.rtx, 0),
    mbpsBefore: Number(mean(before.map((x) => x.mbps)).toFixed(2)),
    mbpsAfter: Number(mean(after.map((x) => x.mbps)).toFixed(2)),
    txqMaxBytes: Math.max(0, ...aqm),
    clampedAcks,
    stations,
    txqReadings,
    watchdogTrips,
    rttSeriesMs: iv.map((x) => Math.round(x.rttMs)),
  };
}

/**
 * Why an arm with zhuge measured nothing of the clamp, from its scenario log, or undefined: its
 * daemon did not start in time, or a stall made the watchdog remove the rules before the transfer
 * (its handshake may then pass unseen: no window scale, nothing clamped).
 */
export function armNotMeasured(scenarioLog: string): string | undefined {
  if (scenarioLog.includes('zhuge did not start')) return 'the daemon did not start';
  const trips = /watchdog trips before the transfer: (\d+)/.exec(scenarioLog);
  if (trips?.[1] !== undefined && Number(trips[1]) > 0) return `the watchdog removed the rules ${trips[1]} time(s) before the transfer`;
  return undefined;
}

export interface WifiTcpDropOptions {
  kernel: string;
  arm: WifiArm;
  /** medium profile, "S:MBPS,..." (default 6 -> 1.5 Mbit/s at 5 s) */
  profile?: string;
  seconds?: number;
  /** keep the results directory (default: removed once summarized) */
  keep?: boolean;
}

/** One arm: boots UML with the scenario, summarizes, cleans up. Throws with the scenario's log when it went wrong. */
export async function runWifiTcpDrop(o: WifiTcpDropOptions): Promise<WifiTcpDropResult & { out: string; scenarioLog: string }> {
  const profile = o.profile ?? '0:6,5:1.5';
  const r = await bootUml({
    kernel: o.kernel,
    pendingLimit: 8,
    memMb: 768,
    scenario: join(REPO_ROOT, 'testbed/wifi/scenarios/tcp-drop.sh'),
    env: { ZHUGE_ARM: o.arm, MEDIUM_PROFILE: profile, TCP_SECONDS: String(o.seconds ?? 14) },
    timeoutMs: 240_000,
  });
  const log = existsSync(join(r.out, 'scenario.log')) ? readFileSync(join(r.out, 'scenario.log'), 'utf8') : '';
  if (r.state !== 'associated') throw new Error(`UML: ${r.initLog.join(' | ')}\n${r.console.slice(-2000)}`);
  // the transfer starts ~right after the medium registered; the drop is the profile's second step
  const dropS = Number(profile.split(',')[1]?.split(':')[0] ?? 5) - 0.3;
  try {
    const s = summarizeTcpDrop(r.out, o.arm, dropS);
    if (o.keep !== true) rmSync(r.out, { recursive: true, force: true });
    return { ...s, out: r.out, scenarioLog: log };
  } catch (e) {
    throw new Error(`${String(e)}\nscenario log:\n${log}`, { cause: e });
  }
}
