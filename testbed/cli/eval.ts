/**
 * `zhuge eval <drop|trace|accuracy|overhead> [options]` — the evaluation harness on the netns
 * testbed (root). Runners live in testbed/eval/; this module parses options, applies the presets
 * (--quick: under 10 minutes for CI; the default: the full run, durations in docs/eval.md), shows
 * progress on stderr and writes the outputs (report.md, JSON, CSV, SVG plots) into --out.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommand } from '../../src/cli/args.js';
import { ALL_K, runDropEval, type DropEvalOptions, type ReportTiming } from '../eval/drop.js';
import { isQuicCc } from '../quic.js';
import { ACK_MODES, type AckMode } from '../daemon-proc.js';
import { runTraceEval, type TraceEvalOptions } from '../eval/trace.js';
import { runAccuracyEval, type AccuracyEvalOptions } from '../eval/accuracy.js';
import { runOverheadEval, type OverheadEvalOptions } from '../eval/overhead.js';
import { machineInfo } from '../eval/machine.js';
import { DEFAULT_CHROMIUM } from '../webrtc/call.js';
import { progressSink } from '../eval/progress.js';
import { summaryJson, writeOutputs } from '../eval/report.js';
import type { EvalResult, EvalRun } from '../eval/stats.js';

const USAGE = `usage: zhuge eval <drop|trace|accuracy|overhead> [options]

  Evaluation experiments on the netns testbed (root), each point without and with zhuge,
  repeated and interleaved in one run. Outputs in --out (default ./results/eval-<exp>-<time>/):
  report.md, results.json, summary.json, runs.csv, summary.csv, machine.json, plots/*.svg.

  drop      steady rate (default 30 Mbit/s, 50 ms base RTT), then a drop to rate/k
  trace     the bottleneck follows bandwidth traces (time_s Mbit/s files or Mahimahi traces)
  accuracy  the Fortune Teller's predicted delay vs the queue's actual sojourn, per trace
  overhead  the daemon's CPU and RSS against packet rate and flow count

options:
  --sender gcc|bbr|cubic|quic   gcc = Chromium WebRTC (GCC, plaintext); bbr/cubic = TCP (iperf3);
                                quic = ngtcp2 download (drop only; needs testbed/quic-experiment)
  --quic-cc CC      the QUIC sender's congestion control: cubic|reno|bbr|bbr2 (default cubic)
  --ack-mode M      drop/trace with bbr|cubic: the daemon's feedbackUpdater.mode, increments (default,
                    the paper's rule), drain (ACKs gated while the Wi-Fi queue is above 50 ms) or
                    window (ACKs' receive window clamped to the predicted rate x (RTT + 50 ms))
  --k LIST          drop factors, comma-separated (default all: ${ALL_K.join(',')})
  --rate-mbit R     steady rate of the drop experiment (default 30)
  --trace FILE      a trace file or a name in shared/traces/zhuge-paper (repeatable)
  --scale F         multiply every trace rate by F (default 1)
  --duration S      seconds per trial (drop: the drop is at 1/2 for gcc, 10 s for TCP)
  --repeat N        repetitions of every point (default: preset)
  --base-rtt-ms MS  base RTT from the relay (default 50)
  --buffer-ms MS    bottleneck bfifo in ms at the steady / mean rate (default 100; TCP drop 200)
  --steady-cap-mbit C  drop with gcc: cap the sender at C Mbit/s and drop once the call has held
                    0.85 of it for 3 s (a call that never does is tried once more, then marked);
                    15 s measured after the drop (--duration is then not used); the quick gcc
                    preset uses min(R/2, 1.5). trace with gcc: the same start (the link at 4/3 C
                    until then), the trace played once the cap is held, --duration measured from there
  --report-timing T gcc: the daemon's flows.rtp.reportTiming, arrival|departure (default: its own)
  --pps LIST        overhead: UDP packet rates     --flows LIST  overhead: parallel TCP flows
  --quick           the CI preset (< 10 min); without it the full preset (docs/eval.md)
  --json            print { scenario, runs: [{ zhuge, metrics, sender, k|trace|load }], resultsDir }
  --out DIR         output directory`;

/** --ack-mode: one of ACK_MODES, only for the TCP senders. */
function ackModeOption(v: string | undefined, s: string): AckMode | undefined {
  if (v === undefined) return undefined;
  if (!(ACK_MODES as readonly string[]).includes(v)) throw new RangeError(`--ack-mode must be ${ACK_MODES.join('|')}, got '${v}'`);
  if (s !== 'bbr' && s !== 'cubic') throw new RangeError('--ack-mode applies to --sender bbr|cubic');
  return v as AckMode;
}

type Sender = 'gcc' | 'bbr' | 'cubic' | 'quic';
const EXPERIMENTS = ['drop', 'trace', 'accuracy', 'overhead'] as const;
type Exp = (typeof EXPERIMENTS)[number];

/** The shared traces directory: <repo>/../shared/traces/zhuge-paper (from src/ or dist/src/). */
export function tracesDir(): string {
  if (process.env['ZHUGE_TRACES'] !== undefined) return process.env['ZHUGE_TRACES'];
  const up = import.meta.url.endsWith('.ts') ? '../../../' : '../../../../';
  return fileURLToPath(new URL(`${up}shared/traces/zhuge-paper/`, import.meta.url));
}

/** A trace argument: a path, or a name (with or without .pitree-trace) in tracesDir(). */
export function resolveTrace(arg: string): string {
  if (existsSync(arg) || isAbsolute(arg) || arg.includes('/')) return resolve(arg);
  const name = arg.endsWith('.pitree-trace') ? arg : `${arg}.pitree-trace`;
  return join(tracesDir(), name);
}

export function parseList(s: string, what: string): number[] {
  const xs = s.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new RangeError(`--${what} needs a comma-separated list of positive numbers, got '${s}'`);
  return xs;
}

export async function run(argv: string[]): Promise<number> {
  const [exp, ...rest] = argv;
  if (exp === '--help' || exp === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (exp === undefined || !(EXPERIMENTS as readonly string[]).includes(exp)) {
    console.error(`zhuge eval: name an experiment (${EXPERIMENTS.join('|')})\n${USAGE}`);
    return 2;
  }
  const parsed = parseCommand('eval', USAGE, rest, {
    sender: { type: 'string' },
    'quic-cc': { type: 'string', default: 'cubic' },
    'ack-mode': { type: 'string' },
    k: { type: 'string' },
    'rate-mbit': { type: 'string' },
    trace: { type: 'string', multiple: true },
    scale: { type: 'string', default: '1' },
    duration: { type: 'string' },
    repeat: { type: 'string' },
    'base-rtt-ms': { type: 'string', default: '50' },
    'buffer-ms': { type: 'string' },
    'steady-cap-mbit': { type: 'string' },
    'report-timing': { type: 'string' },
    pps: { type: 'string' },
    flows: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  });
  if (parsed.exit !== undefined) return parsed.exit;
  const v = parsed.values;
  let plan: Plan;
  try {
    plan = buildPlan(exp as Exp, v);
  } catch (e) {
    console.error(`zhuge eval: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('zhuge eval: must run as root (it builds network namespaces and iptables rules)');
    return 4;
  }
  const startedAt = new Date();
  const dir = resolve(v.out ?? join('results', `eval-${exp}-${startedAt.toISOString().replace(/[:.]/g, '-')}`));
  const sink = progressSink({ tty: process.stderr.isTTY === true, quiet: false, write: (s) => process.stderr.write(s), nowMs: () => performance.now() });
  const machine = machineInfo(plan.usesChromium ? { chromiumPath: DEFAULT_CHROMIUM } : {});
  sink.log(`zhuge eval ${exp}: ${plan.describe}`);
  sink.log(`equivalent explicit command: ${plan.command}`);
  // each finished run is appended here at once (an interrupted run keeps what it measured)
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, 'runs.partial.jsonl');
  sink.log(`results: ${dir} (runs so far: ${partial})`);
  let result: EvalResult;
  try {
    result = await plan.run(
      (l) => sink.update(l),
      (l) => sink.log(l),
      (r) => appendFileSync(partial, `${JSON.stringify(r)}\n`),
    );
  } catch (e) {
    sink.done();
    console.error(`zhuge eval ${exp}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  sink.done();
  const elapsedS = (Date.now() - startedAt.getTime()) / 1000;
  const command = `${plan.command}${v.out !== undefined ? ` --out ${dir}` : ''}`;
  await writeOutputs(dir, result, { command, typed: `zhuge eval ${argv.join(' ')}`, startedAt: startedAt.toISOString(), elapsedS, machine, resultsDir: dir });
  rmSync(partial, { force: true });
  if (v.json) console.log(JSON.stringify(summaryJson(result, dir), null, 2));
  else console.log(`zhuge eval ${exp}: ${result.runs.length} runs in ${(elapsedS / 60).toFixed(1)} min; report: ${join(dir, 'report.md')}`);
  return 0;
}

interface Plan {
  describe: string;
  /** a WebRTC sender: the report records the browser's version */
  usesChromium: boolean;
  /** the equivalent command with every option explicit (recorded in the report) */
  command: string;
  run(progress: (l: string) => void, log: (l: string) => void, onRun: (r: EvalRun) => void): Promise<EvalResult>;
}

interface Values {
  sender?: string | undefined;
  'quic-cc'?: string | undefined;
  'ack-mode'?: string | undefined;
  k?: string | undefined;
  'rate-mbit'?: string | undefined;
  trace?: readonly string[] | undefined;
  scale?: string | undefined;
  duration?: string | undefined;
  repeat?: string | undefined;
  'base-rtt-ms'?: string | undefined;
  'buffer-ms'?: string | undefined;
  'steady-cap-mbit'?: string | undefined;
  'report-timing'?: string | undefined;
  pps?: string | undefined;
  flows?: string | undefined;
  quick?: boolean | undefined;
}

function num(s: string | undefined, dflt: number, what: string, min = 0): number {
  if (s === undefined) return dflt;
  const x = Number(s);
  if (!Number.isFinite(x) || x <= min) throw new RangeError(`--${what} must be a number > ${min}, got '${s}'`);
  return x;
}

function int(s: string | undefined, dflt: number, what: string): number {
  const x = num(s, dflt, what);
  if (!Number.isInteger(x)) throw new RangeError(`--${what} must be an integer, got '${s ?? ''}'`);
  return x;
}

function sender<S extends Sender>(s: string | undefined, dflt: S, allowed: readonly S[]): S {
  const x = s ?? dflt;
  if (!(allowed as readonly string[]).includes(x)) {
    throw new RangeError(`--sender must be one of ${allowed.join('|')}, got '${x}'${x === 'quic' ? ' (QUIC runs in the drop experiment only)' : ''}`);
  }
  return x as S;
}

/** --report-timing: arrival|departure, only for the gcc sender. */
function reportTimingOption(v: string | undefined, s: string): ReportTiming | undefined {
  if (v === undefined) return undefined;
  if (v !== 'arrival' && v !== 'departure') throw new RangeError(`--report-timing must be arrival|departure, got '${v}'`);
  if (s !== 'gcc') throw new RangeError('--report-timing applies to --sender gcc');
  return v;
}

/** Options to plan (pure apart from resolving trace paths); exported for the unit tests. */
export function buildPlan(exp: Exp, v: Values): Plan {
  const quick = v.quick === true;
  const baseRttMs = num(v['base-rtt-ms'], 50, 'base-rtt-ms', -1);
  const scale = num(v.scale, 1, 'scale');
  if (exp === 'drop') {
    const s = sender(v.sender, 'gcc', ['gcc', 'bbr', 'cubic', 'quic'] as const);
    const rtc = s === 'gcc';
    const rateMbps = num(v['rate-mbit'], quick && rtc ? 3 : 30, 'rate-mbit');
    const ks = v.k !== undefined ? parseList(v.k, 'k') : quick ? [rtc ? 10 : 10] : [...ALL_K];
    if (ks.some((k) => k <= 1)) throw new RangeError('--k values must be > 1');
    const durationS = num(v.duration, rtc ? 30 : quick ? 20 : 25, 'duration');
    const dropAtS = rtc ? durationS / 2 : Math.min(10, durationS / 2);
    if (durationS < 6) throw new RangeError('--duration must be ≥ 6 s');
    const quicCc = v['quic-cc'] ?? 'cubic';
    if (!isQuicCc(quicCc)) throw new RangeError(`--quic-cc must be cubic|reno|bbr|bbr2, got '${quicCc}'`);
    const ackMode = ackModeOption(v['ack-mode'], s);
    // the quick RTC preset drops from a steady state (the sender capped at half the rate, as `zhuge demo --rtc`):
    // a drop from an uncontrolled ramp-up reaches the two arms at different rates and a pair is a coin flip
    const steadyCapMbps = v['steady-cap-mbit'] !== undefined ? num(v['steady-cap-mbit'], 0, 'steady-cap-mbit') : quick && rtc ? Math.min(rateMbps / 2, 1.5) : undefined;
    if (steadyCapMbps !== undefined && !rtc) throw new RangeError('--steady-cap-mbit applies to --sender gcc');
    if (steadyCapMbps !== undefined && steadyCapMbps >= rateMbps) throw new RangeError('--steady-cap-mbit must be below --rate-mbit (the link must not be the bottleneck before the drop)');
    const reportTiming = reportTimingOption(v['report-timing'], s);
    const o: DropEvalOptions = {
      sender: s,
      ...(s === 'quic' ? { quicCc } : {}),
      rateMbps,
      ks,
      durationS,
      dropAtS,
      repeat: int(v.repeat, quick ? 2 : 3, 'repeat'),
      baseRttMs,
      bufferMs: num(v['buffer-ms'], rtc ? 100 : 200, 'buffer-ms'),
      ...(ackMode !== undefined ? { ackMode } : {}),
      ...(steadyCapMbps !== undefined ? { steadyCapMbps } : {}),
      ...(reportTiming !== undefined ? { reportTiming } : {}),
    };
    const when = steadyCapMbps !== undefined ? `once steady at a ${steadyCapMbps} Mbit/s cap, 15 s after` : `at ${dropAtS} s of ${durationS} s`;
    return {
      usesChromium: rtc,
      describe: `${o.sender}, ${rateMbps} Mbit/s -> rate/k ${when}, k ${ks.join(',')}, ${o.repeat} x (without, with${reportTiming !== undefined ? ` reportTiming ${reportTiming}` : ''})`,
      command: `zhuge eval drop --sender ${s}${s === 'quic' ? ` --quic-cc ${quicCc}` : ''}${ackMode !== undefined ? ` --ack-mode ${ackMode}` : ''}${steadyCapMbps !== undefined ? ` --steady-cap-mbit ${steadyCapMbps}` : ''}${reportTiming !== undefined ? ` --report-timing ${reportTiming}` : ''} --rate-mbit ${rateMbps} --k ${ks.join(',')} --duration ${durationS} --repeat ${o.repeat} --base-rtt-ms ${baseRttMs} --buffer-ms ${o.bufferMs}`,
      run: (p, l, r) => runDropEval(o, p, l, r),
    };
  }
  if (exp === 'trace') {
    const s = sender(v.sender, 'bbr', ['gcc', 'bbr', 'cubic'] as const);
    const ackMode = ackModeOption(v['ack-mode'], s);
    const reportTiming = reportTimingOption(v['report-timing'], s);
    const steadyCapMbps = v['steady-cap-mbit'] !== undefined ? num(v['steady-cap-mbit'], 0, 'steady-cap-mbit') : undefined;
    if (steadyCapMbps !== undefined && s !== 'gcc') throw new RangeError('--steady-cap-mbit applies to --sender gcc');
    const dflt = quick ? [s === 'gcc' ? 'abc4g_0' : 'office-wifi_0'] : ['office-wifi_0', 'office-wifi_1', 'office-wifi_2', 'office-wifi_3', 'abc4g_0', 'abc4g_1', 'abc4g_2', 'abc4g_3'];
    const traces = (v.trace ?? dflt).map(resolveTrace);
    for (const t of traces) if (!existsSync(t)) throw new Error(`trace file not found: ${t}`);
    const o: TraceEvalOptions = {
      sender: s,
      traces,
      durationS: num(v.duration, quick ? 30 : 120, 'duration'),
      repeat: int(v.repeat, quick ? 1 : 2, 'repeat'),
      baseRttMs,
      bufferMs: num(v['buffer-ms'], 100, 'buffer-ms'),
      scale,
      ...(ackMode !== undefined ? { ackMode } : {}),
      ...(reportTiming !== undefined ? { reportTiming } : {}),
      ...(steadyCapMbps !== undefined ? { steadyCapMbps } : {}),
    };
    return {
      usesChromium: s === 'gcc',
      describe: `${s} over ${traces.length} trace(s), ${o.durationS} s each${steadyCapMbps !== undefined ? ` from a steady ${steadyCapMbps} Mbit/s cap` : ''}, ${o.repeat} x (without, with${reportTiming !== undefined ? ` reportTiming ${reportTiming}` : ''})`,
      command: `zhuge eval trace --sender ${s}${ackMode !== undefined ? ` --ack-mode ${ackMode}` : ''}${reportTiming !== undefined ? ` --report-timing ${reportTiming}` : ''}${steadyCapMbps !== undefined ? ` --steady-cap-mbit ${steadyCapMbps}` : ''} ${traces.map((t) => `--trace ${t}`).join(' ')} --duration ${o.durationS} --repeat ${o.repeat} --scale ${scale} --base-rtt-ms ${baseRttMs} --buffer-ms ${o.bufferMs}`,
      run: (p, l, r) => runTraceEval(o, p, l, r),
    };
  }
  if (exp === 'accuracy') {
    const s = sender(v.sender, 'bbr', ['bbr', 'cubic'] as const);
    const dflt = quick ? ['office-wifi_0', 'abc4g_0'] : ['office-wifi_0', 'office-wifi_1', 'office-wifi_2', 'office-wifi_3', 'abc4g_0', 'abc4g_1', 'abc4g_2', 'abc4g_3'];
    const traces = (v.trace ?? dflt).map(resolveTrace);
    for (const t of traces) if (!existsSync(t)) throw new Error(`trace file not found: ${t}`);
    const o: AccuracyEvalOptions = { traces, durationS: num(v.duration, quick ? 20 : 60, 'duration'), cc: s, baseRttMs, bufferMs: num(v['buffer-ms'], 100, 'buffer-ms'), scale };
    return {
      usesChromium: false,
      describe: `Fortune Teller accuracy over ${traces.length} trace(s), ${o.durationS} s each, ${s} download`,
      command: `zhuge eval accuracy --sender ${s} ${traces.map((t) => `--trace ${t}`).join(' ')} --duration ${o.durationS} --scale ${scale} --base-rtt-ms ${baseRttMs} --buffer-ms ${o.bufferMs}`,
      run: (p, l, r) => runAccuracyEval(o, p, l, r),
    };
  }
  const o: OverheadEvalOptions = {
    pps: v.pps !== undefined ? parseList(v.pps, 'pps') : quick ? [1000, 5000, 20000] : [1000, 5000, 10000, 20000, 50000, 100000],
    flows: v.flows !== undefined ? parseList(v.flows, 'flows').map(Math.round) : quick ? [1, 16] : [1, 4, 16, 64, 128],
    flowsTotalMbps: 50,
    durationS: num(v.duration, quick ? 5 : 20, 'duration'),
    repeat: int(v.repeat, quick ? 1 : 3, 'repeat'),
  };
  if (o.flows.some((f) => f > 128)) throw new RangeError('--flows: iperf3 allows at most 128 parallel streams');
  return {
    usesChromium: false,
    describe: `daemon CPU/RSS: idle, UDP ${o.pps.join(',')} pps, TCP ${o.flows.join(',')} flows; ${o.durationS} s each, ${o.repeat} x`,
    command: `zhuge eval overhead --pps ${o.pps.join(',')} --flows ${o.flows.join(',')} --duration ${o.durationS} --repeat ${o.repeat}`,
    run: (p, l, r) => runOverheadEval(o, p, l, r),
  };
}
