/**
 * One WebRTC bandwidth-drop trial on the testbed: the bottleneck starts at rateBps, a call runs
 * for durationS (counted from the moment both peers connected), and at dropAtS the ap agent
 * sets the htb class to dropRateBps over rtnetlink (time known on this process's monotonic
 * clock). These are the WebRTC workloads of the trial skeleton (testbed/trial.ts): its ap agent
 * sets the rates, and whether zhuge runs is the skeleton's setup (testbed/rtc-experiment.ts).
 *
 * Command line (root, compiled: `node dist/testbed/webrtc/drop.js [--rate-mbps 3] [--drop-mbps 0.3]
 * [--drop-at-s 15] [--duration-s 30] [--base-delay-ms 0] [--max-bitrate-mbps M] [--width 640 --height 360]
 * [--json FILE]`) builds its own testbed,
 * prints the summary and tears the testbed down.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startRelay, type RelayHandle } from '../relay.js';
import { down, up, type Testbed } from '../topology.js';
import { iperfDownloadWithArgs, monoNowMs, type IperfResult } from '../traffic.js';
import { runTrial, type TrialContext } from '../trial.js';
import { runRtcCall, type RtcCallOptions, type RtcCallResult } from './call.js';
import { summarizeRtc, type RtcSummary } from './metrics.js';
import { SteadyWatch, steadyCallDurationS, type SteadyStart } from './steady-start.js';
import { r2 } from '../stats.js';

export interface RtcDropScenario {
  rateBps: number;
  dropRateBps: number;
  dropAtS: number;
  durationS: number;
  /** drop from a steady state (steady-start.ts): then dropAtS and durationS are not used */
  steady?: SteadyStart;
}

export interface RtcDropResult {
  scenario: RtcDropScenario;
  dropAtMonoMs: number;
  call: RtcCallResult;
  summary: RtcSummary;
  /** with scenario.steady: whether the call held the cap before the drop, and when the drop came (s after connecting) */
  steady?: { held: boolean; dropAfterS: number };
}

export type RtcCallSettings = Omit<RtcCallOptions, 'durationS' | 'onConnected'>;

/** The call of a drop trial in a trial skeleton started at sc.rateBps; the drop is armed when the peers connect. */
export async function rtcDropCall(tb: Testbed, t: TrialContext, sc: RtcDropScenario, callOpts: RtcCallSettings = {}): Promise<RtcDropResult> {
  if (sc.steady !== undefined) return steadyDropCall(tb, t, sc, sc.steady, callOpts);
  const call = await runRtcCall(tb, {
    ...callOpts,
    durationS: sc.durationS,
    onConnected: () => t.armDrop(sc.dropAtS * 1000, sc.dropRateBps),
  });
  const dropAtMonoMs = t.dropAtMonoMs();
  if (Number.isNaN(dropAtMonoMs)) throw new Error(`the rate drop was not applied: ${String(t.dropError())}`);
  const summary = summarizeRtc(call, dropAtMonoMs, call.endMonoMs, { capacityAfterBps: sc.dropRateBps });
  return { scenario: sc, dropAtMonoMs, call, summary };
}

/** The drop once the capped call held its cap (steady-start.ts); the summary covers steady.afterS after it. */
async function steadyDropCall(tb: Testbed, t: TrialContext, sc: RtcDropScenario, steady: SteadyStart, callOpts: RtcCallSettings): Promise<RtcDropResult> {
  const watch = new SteadyWatch(steady);
  let decided = false;
  let held = false;
  const call = await runRtcCall(tb, {
    ...callOpts,
    maxBitrateBps: steady.capBps,
    durationS: steadyCallDurationS(steady),
    onConnected: (ms) => watch.connected(ms),
    onSample: (smp) => {
      callOpts.onSample?.(smp);
      if (smp.kind === 'sender') watch.add(smp.tMs, smp.bitrateBps);
      if (decided) return;
      const d = watch.decide(monoNowMs());
      if (d === 'wait') return;
      decided = true;
      held = d === 'steady';
      t.armDrop(0, sc.dropRateBps);
    },
  });
  const dropAtMonoMs = t.dropAtMonoMs();
  if (Number.isNaN(dropAtMonoMs)) throw new Error(`the rate drop was not applied: ${String(t.dropError())}`);
  const end = Math.min(call.endMonoMs, dropAtMonoMs + steady.afterS * 1000);
  const summary = summarizeRtc(call, dropAtMonoMs, end, { capacityAfterBps: sc.dropRateBps });
  return { scenario: sc, dropAtMonoMs, call, summary, steady: { held, dropAfterS: r2((dropAtMonoMs - call.connectedMonoMs) / 1000) } };
}

/** One drop trial without zhuge (the command line below). */
export function runRtcDropTrial(tb: Testbed, sc: RtcDropScenario, callOpts: RtcCallSettings = {}): Promise<RtcDropResult> {
  return runTrial(tb, { withZhuge: false, rateBps: sc.rateBps, settleMs: 0 }, (t) => rtcDropCall(tb, t, sc, callOpts));
}

export interface RtcCompetitionScenario {
  rateBps: number;
  durationS: number;
  /** when the competing downloads start (from the call's connection); they run to the end */
  bulkAtS: number;
  /** untreated cubic iperf3 downloads, download i from sender port bulkCportBase + i to server port bulkPortBase + i */
  bulkFlows: number;
  bulkCportBase: number;
  bulkPortBase: number;
}

export interface RtcCompetitionResult {
  scenario: RtcCompetitionScenario;
  bulkAtMonoMs: number;
  call: RtcCallResult;
  summary: RtcSummary;
  /** each competing download's received rate (Mbit/s) over its run */
  bulkMbps: number[];
}

/**
 * One WebRTC call with competition (the paper's "scp" case on an AP with per-flow queues, see
 * Testbed.perFlowQueues): at bulkAtS, bulkFlows untreated cubic downloads start and run to the end
 * of the call, each in a queue of its own. The call's share of the link falls from the link to
 * 1 / (bulkFlows + 1) of it: the summary's "drop" is their start and its capacity after is that share.
 */
export async function rtcCompetitionCall(tb: Testbed, t: TrialContext, sc: RtcCompetitionScenario, callOpts: RtcCallSettings = {}): Promise<RtcCompetitionResult> {
  let timer: NodeJS.Timeout | undefined;
  t.onCleanup(() => clearTimeout(timer));
  let bulkAtMonoMs = Number.NaN;
  let bulk: Promise<IperfResult[]> | undefined;
  const call = await runRtcCall(tb, {
    ...callOpts,
    durationS: sc.durationS,
    onConnected: () => {
      timer = setTimeout(() => {
        bulkAtMonoMs = monoNowMs();
        const runS = Math.max(1, sc.durationS - sc.bulkAtS);
        bulk = Promise.all(
          Array.from({ length: sc.bulkFlows }, (_, i) =>
            iperfDownloadWithArgs(tb, { durationS: runS, cc: 'cubic', port: sc.bulkPortBase + i, intervalS: 0.5 }, ['--cport', String(sc.bulkCportBase + i)]),
          ),
        );
      }, sc.bulkAtS * 1000);
    },
  });
  if (bulk === undefined) throw new Error('the competing downloads did not start');
  const done = await bulk;
  const summary = summarizeRtc(call, bulkAtMonoMs, call.endMonoMs, { capacityAfterBps: sc.rateBps / (sc.bulkFlows + 1) });
  return { scenario: sc, bulkAtMonoMs, call, summary, bulkMbps: done.map((r) => r2(r.receiverBps / 1e6)) };
}

function arg(argv: string[], name: string, dflt: number): number {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isFinite(v)) throw new Error(`${name} needs a number`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const sc: RtcDropScenario = {
    rateBps: arg(argv, '--rate-mbps', 3) * 1e6,
    dropRateBps: arg(argv, '--drop-mbps', 0.3) * 1e6,
    dropAtS: arg(argv, '--drop-at-s', 15),
    durationS: arg(argv, '--duration-s', 30),
  };
  const baseDelayMs = arg(argv, '--base-delay-ms', 0);
  const jsonIdx = argv.indexOf('--json');
  const tb = await up({ rateBps: sc.rateBps, bufferMs: 100 });
  let relay: RelayHandle | undefined;
  // runRtcCall kills its browsers on SIGINT and re-raises it; this handler then removes the lab
  let stopping = false;
  const onSig = (): void => {
    if (stopping) return;
    stopping = true;
    void down(tb.prefix).finally(() => process.exit(130));
  };
  process.on('SIGTERM', onSig);
  process.on('SIGINT', onSig);
  try {
    if (baseDelayMs > 0) relay = await startRelay(tb, { downMs: baseDelayMs });
    const maxMbps = arg(argv, '--max-bitrate-mbps', 0);
    const r = await runRtcDropTrial(tb, sc, {
      width: arg(argv, '--width', 640),
      height: arg(argv, '--height', 360),
      ...(maxMbps > 0 ? { maxBitrateBps: maxMbps * 1e6 } : {}),
    });
    const c = r.call;
    process.stdout.write(
      `${JSON.stringify({ scenario: sc, summary: r.summary, cpu: c.cpu, frames: c.frames.length, undecoded: c.undecodedFrames, pair: c.selectedPair.sender, errors: c.pageErrors.slice(0, 10) }, null, 1)}\n`,
    );
    if (jsonIdx >= 0 && argv[jsonIdx + 1] !== undefined) writeFileSync(argv[jsonIdx + 1] ?? '', JSON.stringify(r));
  } finally {
    await relay?.stop();
    await down(tb.prefix);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`rtc drop: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
