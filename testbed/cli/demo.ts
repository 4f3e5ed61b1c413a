/**
 * `zhuge demo [--json] [--cc bbr|cubic] [--ack-mode drain|window|increments] [--k K] [--duration S] [--repeat N] [--out DIR]`
 *
 * Builds a netns testbed, runs an iperf3 download srv -> cli plus a 10 ms ping probe through a
 * 30 Mbit/s bottleneck that drops to 3 Mbit/s halfway, once without and once with the daemon,
 * and prints a side-by-side table (or, with --json, one object:
 * `{ scenario, runs: [{ zhuge, metrics }] , resultsDir }`). Raw results go to --out (default
 * ./results/demo-<time>/). Root only (namespaces, iptables).
 *
 * `--quic`: the same drop with a real QUIC download (ngtcp2's gtlsserver -> gtlsclient,
 * testbed/quic-experiment.ts) instead of iperf3; `--cc` is then ngtcp2's congestion control
 * (cubic, the default, reno, bbr or bbr2). Same JSON shape, QUIC metrics.
 */
import { parseCommand } from '../../src/cli/args.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ACK_MODES, type AckMode } from '../daemon-proc.js';
import { DEMO_SCENARIO, runDropExperiment, type DropRun } from '../experiment.js';
import { withLab } from '../lab.js';
import { RTC_SCENARIO, runRtcExperiment } from '../rtc-experiment.js';
import { QUIC_DEMO_SCENARIO, runQuicExperiment, type QuicDropScenario } from '../quic-experiment.js';
import { QUIC_CCS, type QuicCc } from '../quic.js';
import { formatQuicTable, formatRtcTable, formatTable, type DemoJson } from './demo-table.js';

const USAGE = `usage: zhuge demo [--json] [--cc bbr|cubic] [--ack-mode drain|window|increments] [--k K] [--rate-mbit R] [--duration S] [--wifi-hop-ms MS] [--repeat N] [--out DIR]
       zhuge demo --rtc [--json] [--repeat N] [--evidence] [--out DIR]
       zhuge demo --quic [--json] [--cc cubic|reno|bbr|bbr2] [--k K] [--rate-mbit R] [--duration S] [--wifi-hop-ms MS] [--repeat N] [--out DIR]

  Bandwidth-drop demo on a netns testbed (root): R Mbit/s (default 30) dropping to R/K
  (default K=10) halfway through S seconds (default 20), an iperf3 download with the chosen
  congestion control (default bbr) and a ping probe, without and with zhuge, side by side.
  --repeat N runs N interleaved pairs (default 1). Raw results: --out (default ./results/demo-<time>).
  --wifi-hop-ms MS: one-way latency of the Wi-Fi hop itself, added in both directions between the
  AP and the client (default 0: the testbed's veth). Real Wi-Fi has a few ms (channel access,
  aggregation, the client's own uplink contention); it is the part of the control loop zhuge skips.
  --ack-mode: the daemon's out-of-band rule in the arm with zhuge (feedbackUpdater.mode): window
  (default here: no ACK delayed, their receive window clamped to the flow's share of the predicted
  rate x (RTT + 50 ms); docs/results/tcp-window.md), drain (ACKs gated while the Wi-Fi queue is
  above 100 ms; docs/results/tcp-drain.md) or increments (the paper's rule and the daemon's
  default, which these senders do not react to; docs/results/tcp-drop.md).
  --rtc: a WebRTC call between two headless Chromium browsers (Debian's chromium, plaintext RTCP)
  instead, 3 Mbit/s dropping to 0.3 Mbit/s from a steady state (the sender capped at 1.5 Mbit/s,
  the drop once the call has held 0.85 of that for 3 s, 10-30 s after connecting; 15 s measured
  after it): frame delay, frame rate, bitrate, RTT and how soon GCC's estimate falls below the
  new capacity, without and with zhuge. --evidence
  also saves each call's per-packet table (what zhuge and the client reported against when each
  packet arrived, left the Wi-Fi queue and reached the client; docs/results/rtc-evidence.md) in
  DIR/evidence/<pair>-<without|with>/.
  --quic: the same drop with a QUIC download between Debian's ngtcp2 peers (gtlsserver in srv,
  gtlsclient in cli; --cc is ngtcp2's, default cubic): how soon the QUIC sender's RTT estimate
  (its qlog) rises after the drop, and the ping RTT, without and with zhuge.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('demo', USAGE, argv, {
    json: { type: 'boolean', default: false },
    rtc: { type: 'boolean', default: false },
    evidence: { type: 'boolean', default: false },
    quic: { type: 'boolean', default: false },
    cc: { type: 'string' },
    'ack-mode': { type: 'string', default: 'window' },
    'wifi-hop-ms': { type: 'string', default: '0' },
    k: { type: 'string', default: String(DEMO_SCENARIO.k) },
    'rate-mbit': { type: 'string', default: String(DEMO_SCENARIO.rateMbps) },
    duration: { type: 'string', default: String(DEMO_SCENARIO.durationS) },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string' },
  });
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const k = Number(values.k);
  const rate = Number(values['rate-mbit']);
  const duration = Number(values.duration);
  const repeat = Number(values.repeat);
  const cc = values.cc ?? (values.quic ? QUIC_DEMO_SCENARIO.cc : DEMO_SCENARIO.cc);
  const ccs: readonly string[] = values.quic ? QUIC_CCS : ['bbr', 'cubic', 'reno'];
  const ackMode = values['ack-mode'];
  const hopMs = Number(values['wifi-hop-ms']);
  if (!(hopMs >= 0) || !(k > 1) || !(rate > 0) || !(duration >= 6) || !Number.isInteger(repeat) || repeat < 1 || !ccs.includes(cc) || (values.quic && values.rtc) || !(ACK_MODES as readonly string[]).includes(ackMode)) {
    console.error(`zhuge demo: invalid option value\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('zhuge demo: must run as root (it builds network namespaces and iptables rules)');
    return 4;
  }
  const scenario = { ...DEMO_SCENARIO, k, rateMbps: rate, durationS: duration, dropAtS: duration / 2, cc, ackMode: ackMode as AckMode, wifiHopMsEachWay: hopMs };
  const dir = resolve(values.out ?? join('results', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  mkdirSync(dir, { recursive: true });
  if (values.rtc) return runRtcDemo(repeat, values.json, dir, values.evidence);
  if (values.quic) {
    const qsc: QuicDropScenario = { ...QUIC_DEMO_SCENARIO, k, rateMbps: rate, durationS: duration, dropAtS: duration / 2, cc: cc as QuicCc, ackMode: ackMode as AckMode, wifiHopMsEachWay: hopMs };
    return runQuicDemo(qsc, repeat, values.json, dir);
  }
  const say = (s: string): void => {
    if (!values.json) process.stderr.write(`${s}\n`);
  };
  const live = (s: string): void => {
    if (!values.json && process.stderr.isTTY) process.stderr.write(`\r${s}   `);
    else if (!values.json) process.stderr.write(`${s}\n`);
  };
  let result: DropRun;
  try {
    say(`building the testbed (${rate} Mbit/s bottleneck, ${2 * scenario.baseDelayMsEachWay} ms base RTT) ...`);
    // the sender's congestion control is set per socket (iperf3 -C): a host may not allow it as a namespace default
    result = await withLab({ rateBps: rate * 1e6, bufferMs: 200, baseDelayMsEachWay: scenario.baseDelayMsEachWay, wifiHopMsEachWay: hopMs }, async (tb) => {
      say(`testbed ${tb.prefix}: srv ${tb.addrs.srv} -> ap (${tb.ifaces.apEth} / ${tb.ifaces.apWlan}) -> cli ${tb.addrs.cli}`);
      say(`${repeat} x (without, with zhuge): ${scenario.cc} download, ${rate} -> ${rate / k} Mbit/s at ${scenario.dropAtS} s of ${duration} s`);
      return runDropExperiment(tb, { scenario, repeat, progress: live });
    });
    if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
  } catch (err) {
    console.error(`zhuge demo: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const out = saveDemo(dir, result);
  if (values.json) {
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  console.log(formatTable(out));
  console.log(`\nraw results: ${dir}/results.json (per-probe RTTs, sender srtt samples, iperf3 intervals)`);
  return 0;
}

async function runRtcDemo(repeat: number, json: boolean, dir: string, evidence: boolean): Promise<number> {
  const say = (m: string): void => {
    if (!json) process.stderr.write(`${m}\n`);
  };
  const sc = RTC_SCENARIO;
  try {
    say(`building the testbed (${sc.rateBps / 1e6} Mbit/s bottleneck, ${2 * sc.baseDelayMsEachWay} ms base RTT) ...`);
    const result = await withLab({ rateBps: sc.rateBps, bufferMs: 100, baseDelayMsEachWay: sc.baseDelayMsEachWay }, (tb) => runRtcExperiment(tb, sc, repeat, say, evidence ? join(dir, 'evidence') : undefined));
    const out = saveDemo(dir, result);
    if (json) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(formatRtcTable(out));
      console.log(`\nraw results: ${dir}/results.json${evidence ? `, per-packet evidence: ${dir}/evidence/` : ''}`);
    }
    return 0;
  } catch (err) {
    console.error(`zhuge demo --rtc: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function runQuicDemo(sc: QuicDropScenario, repeat: number, json: boolean, dir: string): Promise<number> {
  const say = (m: string): void => {
    if (!json) process.stderr.write(`${m}\n`);
  };
  try {
    say(`building the testbed (${sc.rateMbps} Mbit/s bottleneck, ${2 * sc.baseDelayMsEachWay} ms base RTT) ...`);
    const result = await withLab({ rateBps: sc.rateMbps * 1e6, bufferMs: 200, baseDelayMsEachWay: sc.baseDelayMsEachWay, wifiHopMsEachWay: sc.wifiHopMsEachWay ?? 0 }, (tb) => {
      say(`testbed ${tb.prefix}: gtlsserver ${tb.addrs.srv}:${sc.port} -> ap (${tb.ifaces.apEth} / ${tb.ifaces.apWlan}) -> gtlsclient ${tb.addrs.cli}`);
      say(`${repeat} x (without, with zhuge): QUIC ${sc.cc} download, ${sc.rateMbps} -> ${sc.rateMbps / sc.k} Mbit/s at ${sc.dropAtS} s of ${sc.durationS} s`);
      return runQuicExperiment(tb, sc, repeat, json ? () => {} : say);
    });
    const out = saveDemo(dir, result);
    if (json) console.log(JSON.stringify(out, null, 2));
    else {
      process.stderr.write(`${formatQuicTable(out)}\n`);
      say(`\nraw results: ${dir}/results.json (per-probe RTTs, the sender's qlog RTT samples, received bytes per 100 ms)`);
    }
    return 0;
  } catch (err) {
    console.error(`zhuge demo --quic: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** Writes results.json (the trials' raw samples too) and summary.json (the demo's JSON) into dir; the latter. */
function saveDemo<S, M>(dir: string, result: { scenario: S; runs: ReadonlyArray<{ zhuge: boolean; metrics: M }> }): DemoJson<S, M> {
  writeFileSync(join(dir, 'results.json'), JSON.stringify(result, null, 1));
  const out: DemoJson<S, M> = { scenario: result.scenario, runs: result.runs.map((r) => ({ zhuge: r.zhuge, metrics: r.metrics })), resultsDir: dir };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(out, null, 2));
  return out;
}
