/**
 * Bandwidth-drop trials on the testbed, without and with zhuge, on one testbed in one run
 * (the demo, the CI integration test and the evaluation all use this).
 *
 * One trial: the bottleneck starts at R, an iperf3 download srv -> cli runs with the chosen
 * congestion control, a ping probe (srv -> cli, every 10 ms) measures what a real-time packet
 * crossing the same queue experiences, and `ss` in srv samples the sender's smoothed RTT; at
 * `dropAtS` the rate falls to R/k. With zhuge, the daemon runs in the ap namespace (its own
 * process, the real binary) for the whole trial.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ApAgent } from './player.js';
import { WallToMono } from '../src/daemon/clock.js';
import { distScript } from './scripts.js';
import { quantile, r2 } from './stats.js';
import type { Testbed } from './topology.js';
import { iperfDownload, monoNowMs, pingProbe, ssSampler, type IperfResult, type RttSample, type SsSample } from './traffic.js';

/** feedbackUpdater.mode of the daemon in the arm with zhuge. */
export type AckMode = 'increments' | 'drain' | 'window';
export const ACK_MODES: readonly AckMode[] = ['increments', 'drain', 'window'];

export interface DropScenario {
  rateMbps: number;
  k: number;
  dropAtS: number;
  durationS: number;
  cc: string;
  /** one-way base delay added by the relay in wan (0 = none) */
  baseDelayMsEachWay: number;
  /**
   * one-way latency of the Wi-Fi hop itself, both directions (a relay on the client's interface,
   * testbed/relay.ts; 0 or absent = none, the veth's ~0): the part of the control loop between
   * the AP's queue and the client and back that zhuge's feedback skips
   */
  wifiHopMsEachWay?: number;
  pingIntervalMs: number;
  /** the daemon's feedbackUpdater.mode in the arm with zhuge (absent: the config default, 'increments') */
  ackMode?: AckMode;
}

export const DEMO_SCENARIO: DropScenario = {
  rateMbps: 30,
  k: 10,
  dropAtS: 10,
  durationS: 20,
  cc: 'bbr',
  baseDelayMsEachWay: 20,
  pingIntervalMs: 10,
};

export interface TrialMetrics {
  /** ping RTT after the drop (lost probes count as 1000 ms) */
  rttP50Ms: number;
  rttP95Ms: number;
  rttP99Ms: number;
  /** time after the drop with ping RTT above 200 ms (lost probes included) */
  rttAbove200msSeconds: number;
  /** ping RTT before the drop (steady state) */
  rttBeforeDropP50Ms: number;
  probesLost: number;
  /** the sender's smoothed RTT (ss): median before the drop, p99 after */
  senderSrttBeforeDropMs: number;
  senderSrttAfterDropP99Ms: number;
  /** from the drop until the sender's srtt first exceeds its pre-drop median by 20 ms (NaN: never) */
  senderRttRiseMs: number;
  /** per-ACK RTT at the sender (tcptrace-style): median before the drop, and the time from the
   * drop until the first ACK whose RTT exceeds that median by 5 / 10 / 20 ms */
  ackRttBeforeDropP50Ms: number;
  ackRttRise5msMs: number;
  ackRttRise10msMs: number;
  ackRttRise20msMs: number;
  ackRttAfterDropP99Ms: number;
  /** received throughput before and after the drop */
  throughputBeforeDropMbps: number;
  throughputMbps: number;
  retransmits: number;
  /** uplink packets the daemon held, and its malformed / internal error counts (with zhuge) */
  zhugeHeldPackets?: number;
  zhugeMeanAddedDelayMs?: number;
  /** feedbackUpdater.mode window: ACKs whose receive window the daemon lowered */
  zhugeClampedAcks?: number;
}

export interface TrialResult {
  zhuge: boolean;
  metrics: TrialMetrics;
  raw: { pings: RttSample[]; ss: SsSample[]; ackRtts: RttSample[]; iperf: IperfResult; dropAtMonoMs: number; startMonoMs: number; daemonStatus?: unknown };
}


/** The ping probe's metrics of a drop trial (TrialMetrics' rtt* and probesLost fields). */
export type PingMetrics = Pick<TrialMetrics, 'rttP50Ms' | 'rttP95Ms' | 'rttP99Ms' | 'rttAbove200msSeconds' | 'rttBeforeDropP50Ms' | 'probesLost'>;

/** Pure: the ping probe after the drop (lost probes count as 1000 ms) and its median before. */
export function summarizePings(pings: readonly RttSample[], dropAtMonoMs: number, endMonoMs: number, pingIntervalMs: number): PingMetrics {
  // a probe belongs to the phase it was sent in: ping prints the reply's receive time
  const sentMs = (p: RttSample): number => p.tMs - p.rttMs;
  const after = pings.filter((p) => sentMs(p) >= dropAtMonoMs && sentMs(p) < endMonoMs);
  const before = pings.filter((p) => sentMs(p) < dropAtMonoMs && sentMs(p) >= dropAtMonoMs - 5000);
  // losses are the sequence numbers missing among the probes sent after the drop, and the
  // interval is the one ping kept: `ping -i 0.01` sends every ~15 ms on a loaded 2-core machine,
  // and counting the nominal interval's "expected" probes made a third of them look lost
  let lost = 0;
  let intervalMs = pingIntervalMs;
  const seqs = after.map((p) => p.seq).filter((q): q is number => q !== undefined);
  if (seqs.length !== after.length) {
    // no sequence numbers (not ping's output): probes expected at the nominal interval
    const expected = Math.floor((Math.min(endMonoMs, (pings.at(-1)?.tMs ?? endMonoMs) + 1) - dropAtMonoMs) / pingIntervalMs);
    lost = Math.max(0, expected - after.length);
  } else if (seqs.length > 1) {
    const lo = Math.min(...seqs);
    const hi = Math.max(...seqs);
    lost = hi - lo + 1 - new Set(seqs).size;
    const first = after.find((p) => p.seq === lo);
    const last = after.find((p) => p.seq === hi);
    if (first !== undefined && last !== undefined && hi > lo) intervalMs = (sentMs(last) - sentMs(first)) / (hi - lo);
  }
  const rtts = after.map((p) => p.rttMs).concat(new Array<number>(lost).fill(1000));
  const above = rtts.filter((r) => r > 200).length;
  return {
    rttP50Ms: r2(quantile(rtts, 0.5)),
    rttP95Ms: r2(quantile(rtts, 0.95)),
    rttP99Ms: r2(quantile(rtts, 0.99)),
    rttAbove200msSeconds: r2((above * intervalMs) / 1000),
    rttBeforeDropP50Ms: r2(quantile(before.map((p) => p.rttMs), 0.5)),
    probesLost: lost,
  };
}

/** Pure: the metrics of one trial from its raw samples. */
export function summarizeTrial(
  pings: readonly RttSample[],
  ss: readonly SsSample[],
  iperf: IperfResult,
  dropAtMonoMs: number,
  endMonoMs: number,
  pingIntervalMs: number,
  startMonoMs: number,
  ackRtts: readonly RttSample[] = [],
): TrialMetrics {
  const ackBefore = ackRtts.filter((s) => s.tMs < dropAtMonoMs && s.tMs >= dropAtMonoMs - 2000).map((s) => s.rttMs);
  const ackBase = quantile(ackBefore, 0.5);
  const ackRise = (thresholdMs: number): number => {
    const hit = ackRtts.find((s) => s.tMs >= dropAtMonoMs && s.rttMs > ackBase + thresholdMs);
    return hit === undefined ? Number.NaN : r2(hit.tMs - dropAtMonoMs);
  };
  const ssBefore = ss.filter((s) => s.tMs < dropAtMonoMs && s.tMs >= dropAtMonoMs - 5000).map((s) => s.rttMs);
  const base = quantile(ssBefore, 0.5);
  const rise = ss.find((s) => s.tMs >= dropAtMonoMs && s.rttMs > base + 20);
  const recvAfter = iperf.receiver.filter((i) => i.startMs >= dropAtMonoMs - 1);
  const recvBefore = iperf.receiver.filter((i) => i.endMs <= dropAtMonoMs + 1 && i.startMs >= startMonoMs + 2000);
  const mbps = (ivs: typeof recvAfter): number => {
    let bits = 0;
    let ms = 0;
    for (const i of ivs) {
      bits += i.bps * ((i.endMs - i.startMs) / 1000);
      ms += i.endMs - i.startMs;
    }
    return ms > 0 ? bits / (ms / 1000) / 1e6 : Number.NaN;
  };
  return {
    ...summarizePings(pings, dropAtMonoMs, endMonoMs, pingIntervalMs),
    senderSrttBeforeDropMs: r2(base),
    senderSrttAfterDropP99Ms: r2(quantile(ss.filter((s) => s.tMs >= dropAtMonoMs).map((s) => s.rttMs), 0.99)),
    senderRttRiseMs: rise === undefined ? Number.NaN : r2(rise.tMs - dropAtMonoMs),
    ackRttBeforeDropP50Ms: r2(ackBase),
    ackRttRise5msMs: ackRise(5),
    ackRttRise10msMs: ackRise(10),
    ackRttRise20msMs: ackRise(20),
    ackRttAfterDropP99Ms: r2(quantile(ackRtts.filter((s) => s.tMs >= dropAtMonoMs).map((s) => s.rttMs), 0.99)),
    throughputBeforeDropMbps: r2(mbps(recvBefore)),
    throughputMbps: r2(mbps(recvAfter)),
    retransmits: iperf.sender.reduce((a, i) => a + (i.retransmits ?? 0), 0),
  };
}

// ---- the daemon as a process in the ap namespace ----------------------------------------------

export interface DaemonProc {
  child: ChildProcess;
  logLines: string[];
  /** GET /status through the ap namespace (curl-free: node fetch inside `ip netns exec`). */
  status(): Promise<unknown>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  configPath: string;
}

export interface DaemonProcOptions {
  metricsPort?: number;
  extraYaml?: string;
  logLevel?: string;
}

/** The daemon config lines for a scenario's ackMode ('' when absent: the daemon's default). */
export function ackModeYaml(ackMode: DropScenario['ackMode']): string {
  return ackMode !== undefined ? `feedbackUpdater:\n  mode: ${ackMode}\n` : '';
}

export function daemonConfigYaml(tb: Testbed, o: DaemonProcOptions = {}): string {
  return [
    'interfaces:',
    `  eth: ${tb.ifaces.apEth}`,
    `  wlan: ${tb.ifaces.apWlan}`,
    'metrics:',
    `  listen: 127.0.0.1:${o.metricsPort ?? 9469}`,
    'log:',
    `  level: ${o.logLevel ?? 'info'}`,
    o.extraYaml ?? '',
  ].join('\n');
}

/** Starts `zhuge run` in the ap namespace; resolves once it logged "zhuge started". */
export async function startDaemon(tb: Testbed, o: DaemonProcOptions = {}): Promise<DaemonProc> {
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-daemon-'));
  const configPath = join(dir, 'zhuge.yaml');
  writeFileSync(configPath, daemonConfigYaml(tb, o));
  const port = o.metricsPort ?? 9469;
  const child = spawn('ip', ['netns', 'exec', tb.ns.ap, process.execPath, distScript('../src/cli'), 'run', '--config', configPath, '--instance', tb.prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const t = setTimeout(() => reject(new Error(`zhuge did not start in 15 s: ${stderr}${logLines.join('\n')}`)), 15_000);
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (logLines.length < 10_000) logLines.push(l);
        if (!ready && l.includes('"zhuge started"')) {
          ready = true;
          clearTimeout(t);
          resolve();
        }
      });
    }
    void exited.then((code) => {
      if (!ready) {
        clearTimeout(t);
        reject(new Error(`zhuge exited ${String(code)} before starting: ${stderr}${logLines.join('\n')}`));
      }
    });
  });
  return {
    child,
    logLines,
    configPath,
    status: async () => {
      const r = await tb.exec('ap', process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/status').then(r=>r.text()).then(t=>process.stdout.write(t))`]);
      return JSON.parse(r.stdout) as unknown;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// ---- the sender's per-ACK RTT (testbed/rtt-tap.ts in srv) ------------------------------------

export async function startRttTap(tb: Testbed, port = 5201): Promise<{ stop(): Promise<RttSample[]> }> {
  const w2m = new WallToMono();
  const child = tb.spawn('srv', process.execPath, [distScript('rtt-tap'), '--dev', tb.ifaces.srv, '--sender', tb.addrs.srv, '--port', String(port)]);
  const samples: RttSample[] = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = JSON.parse(l) as { event?: string; tUs?: number; rttMs?: number };
        if (m.event === 'ready') {
          ready = true;
          resolve();
        } else if (m.tUs !== undefined && m.rttMs !== undefined) samples.push({ tMs: w2m.toMono(m.tUs) / 1000, rttMs: m.rttMs });
      });
    }
    void exited.then(() => {
      if (!ready) reject(new Error(`rtt tap exited: ${stderr}`));
    });
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      return samples;
    },
  };
}

// ---- one trial -----------------------------------------------------------------------------

export type Progress = (msg: string) => void;

export async function runDropTrial(tb: Testbed, sc: DropScenario, withZhuge: boolean, progress: Progress = () => {}, daemonOpts: DaemonProcOptions = {}): Promise<TrialResult> {
  const agent = await ApAgent.start(tb);
  let daemon: DaemonProc | undefined;
  let dropTimer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let ss: ReturnType<typeof ssSampler> | undefined;
  try {
    await agent.setRate(sc.rateMbps * 1e6);
    // the namespace default is best effort (a host may not allow e.g. cubic as a default);
    // iperf3 -C sets the congestion control on the socket in any case
    await tb.setCongestionControl('srv', sc.cc).catch(() => undefined);
    if (withZhuge) {
      daemon = await startDaemon(tb, { ...daemonOpts, extraYaml: `${ackModeYaml(sc.ackMode)}${daemonOpts.extraYaml ?? ''}` });
    }
    // let the queue drain and the previous trial's state go
    await new Promise((r) => setTimeout(r, 500));
    const durationMs = sc.durationS * 1000;
    const startMonoMs = monoNowMs();
    const pingP = pingProbe(tb, { durationMs: durationMs + 500, intervalMs: sc.pingIntervalMs });
    ss = ssSampler(tb, { durationMs: durationMs + 500, periodMs: 20 });
    const rttTap = await startRttTap(tb);
    const iperfP = iperfDownload(tb, { durationS: sc.durationS, cc: sc.cc, intervalS: 0.1 });
    // the drop is driven from here through the running ap agent (one rtnetlink request), so its
    // time is known on this process's clock to a fraction of a millisecond
    const playStartMs = monoNowMs();
    let dropAtMonoMs = Number.NaN;
    dropTimer = setTimeout(() => {
      agent
        .setRate(Math.max(8000, Math.round((sc.rateMbps * 1e6) / sc.k)))
        .then(() => (dropAtMonoMs = monoNowMs()))
        .catch(() => undefined);
    }, sc.dropAtS * 1000);
    ticker = setInterval(() => {
      const t = (monoNowMs() - playStartMs) / 1000;
      progress(`${withZhuge ? 'with zhuge   ' : 'without zhuge'}  t=${t.toFixed(0).padStart(3)} s  rate ${t < sc.dropAtS ? sc.rateMbps : r2(sc.rateMbps / sc.k)} Mbit/s`);
    }, 1000);
    const [pings, iperf] = await Promise.all([pingP, iperfP]);
    clearTimeout(dropTimer);
    clearInterval(ticker);
    const ackRtts = await rttTap.stop();
    if (Number.isNaN(dropAtMonoMs)) throw new Error('the rate drop was not applied');
    ss.stop();
    const ssSamples = await ss.done;
    const endMonoMs = startMonoMs + durationMs;
    const metrics = summarizeTrial(pings, ssSamples, iperf, dropAtMonoMs, endMonoMs, sc.pingIntervalMs, startMonoMs, ackRtts);
    let daemonStatus: unknown;
    if (daemon !== undefined) {
      daemonStatus = await daemon.status().catch(() => undefined);
      const flows = (daemonStatus as { flows?: Array<{ heldTotal?: number; addedDelayMs?: number; window?: { clampedAcks: number } }> } | undefined)?.flows ?? [];
      const held = flows.reduce((a, f) => a + (f.heldTotal ?? 0), 0);
      metrics.zhugeHeldPackets = held;
      if (sc.ackMode === 'window') metrics.zhugeClampedAcks = flows.reduce((a, f) => a + (f.window?.clampedAcks ?? 0), 0);
      metrics.zhugeMeanAddedDelayMs = r2(held > 0 ? flows.reduce((a, f) => a + (f.heldTotal ?? 0) * (f.addedDelayMs ?? 0), 0) / held : 0);
      const code = await daemon.stop();
      daemon = undefined;
      if (code !== 0) throw new Error(`zhuge exited ${String(code)} after SIGTERM`);
    }
    return { zhuge: withZhuge, metrics, raw: { pings, ss: ssSamples, ackRtts, iperf, dropAtMonoMs, startMonoMs, daemonStatus } };
  } finally {
    // a failed trial (e.g. iperf3 killed) must not leave its timers running: they kept the
    // process alive and printing after the evaluation gave up
    clearTimeout(dropTimer);
    clearInterval(ticker);
    ss?.stop();
    if (daemon !== undefined) await daemon.stop();
    agent.close();
  }
}

export interface DropRunOptions {
  scenario: DropScenario;
  /** trials per arm; arms interleave (without, with, without, with, ...) */
  repeat: number;
  progress?: Progress;
}

export interface DropRun {
  scenario: DropScenario;
  runs: TrialResult[];
}

export async function runDropExperiment(tb: Testbed, o: DropRunOptions): Promise<DropRun> {
  const runs: TrialResult[] = [];
  for (let i = 0; i < o.repeat; i++) {
    for (const withZhuge of [false, true]) {
      runs.push(await runDropTrial(tb, o.scenario, withZhuge, o.progress));
    }
  }
  return { scenario: o.scenario, runs };
}

export { distScript };
