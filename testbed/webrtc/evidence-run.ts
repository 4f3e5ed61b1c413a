/**
 * Interleaved WebRTC drop calls without and with zhuge, each with its per-packet evidence
 * (evidence.ts): root, compiled,
 *
 *   node dist/testbed/webrtc/evidence-run.js --out DIR [--pairs 1] [--rate-mbps 3] [--drop-mbps 0.3]
 *        [--drop-at-s 15] [--duration-s 30] [--base-delay-ms 20] [--trace FILE --scale F]
 *        [--arms without,departure,departure-norepair] [--steady-cap-mbps C] [--daemon-trace]

--steady-cap-mbps: the sender capped at C and the drop armed once the call held it (steady-start.ts).
--daemon-trace: the daemon at log level trace, its log kept as daemon.log (each feedback build's lead and horizon).
--chromium-log: both browsers' logs kept as DIR/<i>-<arm>/<netns>.log, and the sender's GCC outputs (its target, the
  encoders' target after the congestion window's pushback, the pacer's rate) as gcc.tsv (chromium-log.ts).

With --trace the call runs over the trace (its rates x scale, cut to the duration) instead of the drop.
 *
 * Arms: without zhuge, and with it under each flows.rtp.reportTiming named (departure-norepair:
 * with flows.rtp.repairDrops off; departure-defer: with flows.rtp.beyondLead defer; -verified / -persisted: flows.rtp.leadEarnedBy verified / persisted; -estimate: flows.rtp.unmeasured estimate, the default before the fourth round; -wait: wait, the default; -link / -stack: flows.rtp.reportSpacing; -cap: flows.rtp.sojournCap sojourn; -shaper: queue.rateFrom shaper; -leadN: flows.rtp.maxLeadMs N). Leaves DIR/<i>-<arm>/{ap-eth,ap-wlan,client}.pcap, packets.tsv, summary.json, call.json
 * and prints one line per call.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSchedule } from '../eval/trace.js';
import { startDaemon, type DaemonProc } from '../daemon-proc.js';
import { withLab } from '../lab.js';
import { ApAgent } from '../player.js';
import { bufferBytesFor, type Testbed } from '../topology.js';
import { meanRateBps } from '../eval/stats.js';
import type { RtcCallResult } from './call.js';
import { runRtcDropTrial, type RtcDropScenario } from './drop.js';
import { summarizeRtc, type RtcSummary } from './metrics.js';
import { startEvidenceCaptures, writeEvidence } from './evidence.js';
import { STEADY_START_DEFAULTS, type SteadyStart } from './steady-start.js';
import { runTraceCall, traceCallFirstRateBps } from './trace-call.js';
import { dayMsOf, parseChromiumBwe, summarizePushback } from './chromium-log.js';
import { monoNowMs } from '../traffic.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      pairs: { type: 'string', default: '1' },
      'rate-mbps': { type: 'string', default: '3' },
      'drop-mbps': { type: 'string', default: '0.3' },
      'drop-at-s': { type: 'string', default: '15' },
      'duration-s': { type: 'string', default: '30' },
      'base-delay-ms': { type: 'string', default: '20' },
      trace: { type: 'string' },
      arms: { type: 'string', default: 'without,arrival' },
      'steady-cap-mbps': { type: 'string' },
      scale: { type: 'string', default: '1' },
      'daemon-trace': { type: 'boolean', default: false },
      'chromium-log': { type: 'boolean', default: false },
    },
  });
  const out = values.out;
  if (out === undefined) throw new Error('--out DIR is required');
  const sc: RtcDropScenario = {
    rateBps: Number(values['rate-mbps']) * 1e6,
    dropRateBps: Number(values['drop-mbps']) * 1e6,
    dropAtS: Number(values['drop-at-s']),
    durationS: Number(values['duration-s']),
    ...(values['steady-cap-mbps'] !== undefined ? { steady: { ...STEADY_START_DEFAULTS, capBps: Number(values['steady-cap-mbps']) * 1e6 } } : {}),
  };
  const pairs = Number(values.pairs);
  // a trace's queue: 100 ms at its mean rate, as the trace evaluation sizes it (testbed/eval/trace.ts)
  const traceBuffer = values.trace !== undefined ? { bufferBytes: bufferBytesFor(meanRateBps(loadSchedule(values.trace, sc.durationS, Number(values.scale))), 100) } : {};
  await withLab({ rateBps: sc.rateBps, bufferMs: 100, ...traceBuffer, baseDelayMsEachWay: Number(values['base-delay-ms']) }, async (tb) => {
    for (let i = 0; i < pairs; i++) {
      for (const arm of (values.arms ?? '').split(',')) {
        const withZhuge = arm !== 'without';
        const dir = join(out, `${i}-${arm}`);
        mkdirSync(dir, { recursive: true });
        const caps = await startEvidenceCaptures(tb, dir);
        // the browsers' own logs, GCC's decisions among them (chromium-log.ts), kept in the call's directory
        if (values['chromium-log'] === true) process.env['ZHUGE_CHROMIUM_LOG_DIR'] = dir;
        let daemon: DaemonProc | undefined;
        let status: unknown;
        try {
          // arms: arrival | departure, '-norepair' turns flows.rtp.repairDrops off, '-defer' sets flows.rtp.beyondLead defer
          const timing = arm.split('-')[0] ?? 'departure';
          const repair = !arm.includes('-norepair');
          const beyond = arm.includes('-defer') ? 'defer' : 'clamp';
          const earned = arm.includes('-verified') ? 'verified' : arm.includes('-persisted') ? 'persisted' : 'calm';
          const unmeasured = arm.includes('-estimate') ? 'estimate' : 'wait';
          const spacing = arm.includes('-link') ? 'link' : arm.includes('-stack') ? 'stack' : undefined;
          const cap = arm.includes('-cap') ? '\n    sojournCap: sojourn' : '';
          const shaper = arm.includes('-shaper') ? 'queue:\n  rateFrom: shaper\n' : '';
          const leadMs = /-lead(\d+)/.exec(arm)?.[1];
          const signal = arm.includes('-remb') ? 'remb' : arm.includes('-both') ? 'both' : arm.includes('-twcc') ? 'twcc' : undefined;
          const recovery = arm.includes('-recover') ? '\n    capRecovery: measured' : arm.includes('-track') ? '\n    capRecovery: track' : '';
          const delayFrom = arm.includes('-observed') ? '\n    capDelayFrom: observed' : '';
          const floor = /-floor(\d+)/.exec(arm)?.[1];
          const capFloor = floor !== undefined ? `\n    capFloor: ${Number(floor) / 100}` : '';
          const maxLead = leadMs !== undefined ? `\n    maxLeadMs: ${leadMs}` : '';
          const yaml = `${shaper}flows:\n  rtp:\n    enabled: true\n    reportTiming: ${timing}\n    repairDrops: ${String(repair)}\n    beyondLead: ${beyond}\n    leadEarnedBy: ${earned}\n    unmeasured: ${unmeasured}${spacing !== undefined ? `\n    reportSpacing: ${spacing}` : ''}${cap}${maxLead}${signal !== undefined ? `\n    signal: ${signal}` : ''}${recovery}${capFloor}${delayFrom}`;
          if (withZhuge) daemon = await startDaemon(tb, { metricsPort: 9482, extraYaml: yaml, ...(values['daemon-trace'] === true ? { logLevel: 'trace' } : {}) });
          const r = values.trace !== undefined ? await traceCall(tb, values.trace, Number(values.scale), sc.durationS, sc.steady) : await runRtcDropTrial(tb, sc);
          let offsetUs: number | undefined;
          if (daemon !== undefined) {
            const st = await daemon.status().catch(() => undefined);
            status = st;
            const c = (st as { clock?: { wallMinusMonoUs?: number } } | undefined)?.clock?.wallMinusMonoUs;
            if (typeof c === 'number') offsetUs = c;
          }
          const steady = (r as { steady?: { held: boolean; dropAfterS: number } }).steady;
          writeFileSync(join(dir, 'call.json'), JSON.stringify({ steady, scenario: values.trace !== undefined ? { trace: values.trace, scale: Number(values.scale), durationS: sc.durationS } : sc, dropAtMonoMs: r.dropAtMonoMs, summary: r.summary, daemonStatus: status }));
          writeFileSync(join(dir, 'sender.tsv'), senderTsv(r.call, r.dropAtMonoMs));
          writeFileSync(join(dir, 'receiver.tsv'), receiverTsv(r.call, r.dropAtMonoMs));
          const gcc = values['chromium-log'] === true ? writeGccTsv(dir, tb.ns.srv, r.dropAtMonoMs) : '';
          if (daemon !== undefined && values['daemon-trace'] === true) writeFileSync(join(dir, 'daemon.log'), `${daemon.logLines.join('\n')}\n`);
          await daemon?.stop();
          daemon = undefined;
          await caps.stop();
          const ev = writeEvidence(dir, r.call.offerSdp, offsetUs);
          const z = ev.summary.series.zhuge;
          const s = ev.summary.series.sender;
          process.stdout.write(
            `${dir}: ${steady !== undefined ? `steady ${String(steady.held)} (drop at ${steady.dropAfterS} s) ` : ''}frame>400ms ${r.summary.frameDelayAbove400msSeconds.toFixed(2)} s, p99 ${r.summary.frameDelayP99Ms.toFixed(0)} ms, ` +
              `${gcc}sender series: backwards ${s.backwards}, |err| p50/p90/p99 ${String(s.absErrorP50Ms)}/${String(s.absErrorP90Ms)}/${String(s.absErrorP99Ms)} ms; ` +
              `zhuge series: ${z.reported} reported, backwards ${z.backwards} (max ${z.largestBackwardMs} ms), dropped-reported-received ${z.droppedReportedReceived}; queue drops ${ev.summary.queueDrops}; ` +
              `${recoveryLine(r.call, status)}\n`,
          );
        } finally {
          await daemon?.stop();
          await caps.stop().catch(() => undefined);
        }
      }
    }
  });
}

/** Loss recovery as both ends and the daemon saw it: freezes, NACKs, retransmissions, zhuge's repairs. */
function recoveryLine(call: RtcCallResult, status: unknown): string {
  const rx = call.receiver[call.receiver.length - 1];
  const tx = call.sender[call.sender.length - 1];
  const c = (status as { rtp?: { counters?: { reportTiming?: { droppedAfterReport?: number; droppedBeforeReport?: number }; repair?: { queued?: number; noCopy?: number } } } } | undefined)?.rtp?.counters;
  const rxPart = rx === undefined ? 'receiver -' : `receiver freezes ${rx.freezeCount} (${rx.totalFreezesDurationS.toFixed(2)} s), lost ${rx.packetsLost}, nacks ${rx.nackCount}`;
  const txPart = tx === undefined ? 'sender -' : `sender nacks ${tx.nackCount}, retransmitted ${tx.retransmittedBytesSent} B`;
  const zPart = c === undefined ? '' : `; zhuge drops found before/after report ${c.reportTiming?.droppedBeforeReport ?? 0}/${c.reportTiming?.droppedAfterReport ?? 0}, repairs ${c.repair?.queued ?? 0} (no copy ${c.repair?.noCopy ?? 0})`;
  return `${rxPart}; ${txPart}${zPart}`;
}

/** The sender's own view over time (getStats), ms from the drop: GCC's estimate, the encoder's target, the rate sent. */
/**
 * The sending browser's GCC outputs (chromium-log.ts) as DIR/gcc.tsv, ms from the event (a drop,
 * or the call's start on a trace); returns a summary for the call's line: how long the congestion
 * window's pushback held the encoders below GCC's target in the 5 s after the event.
 */
function writeGccTsv(dir: string, senderNs: string, eventMonoMs: number): string {
  const file = join(dir, `${senderNs}.log`);
  if (!existsSync(file)) return 'gcc: no browser log; ';
  const { bwe, pacing } = parseChromiumBwe(readFileSync(file, 'utf8'));
  const eventDayMs = dayMsOf(Date.now() - monoNowMs() + eventMonoMs);
  const rows = [
    ...bwe.map((b) => [b.dayMs, 'gcc', (b.estimateBps / 1e6).toFixed(3), (b.pushbackBps / 1e6).toFixed(3)] as const),
    ...pacing.map((p) => [p.dayMs, 'pacer', (p.pacingBps / 1e6).toFixed(3), ''] as const),
  ].sort((a, b) => a[0] - b[0]);
  writeFileSync(join(dir, 'gcc.tsv'), ['tFromDropMs\tkind\trateMbps\tpushbackMbps', ...rows.map(([t, k, r, pb]) => `${(t - eventDayMs).toFixed(0)}\t${k}\t${r}\t${pb}`)].join('\n') + '\n');
  const p = summarizePushback(bwe, eventDayMs, 5000);
  const kbps = (x: number | null): string => (x === null ? '-' : (x / 1000).toFixed(0));
  return `gcc: pushback below the estimate ${p.pushbackMs.toFixed(0)} ms of 5 s (encoders down to ${kbps(p.minPushbackBps)} kbps, estimate down to ${kbps(p.minEstimateBps)}); `;
}

function senderTsv(call: RtcCallResult, dropAtMonoMs: number): string {
  const mbps = (x: number | null): string => (x === null ? '' : (x / 1e6).toFixed(3));
  const lines = ['tFromDropMs\tavailableOutgoingMbps\ttargetMbps\tsentMbps\tfps\tframeHeight\tqualityLimitation\tpacerDelayMs\tkeyFrames\tplis'];
  let prev: RtcCallResult['sender'][number] | undefined;
  for (const s of call.sender) {
    // the mean time the packets sent since the previous sample spent in the sender's pacer
    const dn = prev === undefined ? 0 : s.packetsSent - prev.packetsSent;
    const pacer = prev === undefined || dn <= 0 ? '' : (((s.totalPacketSendDelayS - prev.totalPacketSendDelayS) / dn) * 1000).toFixed(0);
    lines.push([(s.tMs - dropAtMonoMs).toFixed(0), mbps(s.availableOutgoingBitrateBps), mbps(s.targetBitrateBps), mbps(s.bitrateBps), s.fps ?? '', s.frameHeight ?? '', s.qualityLimitationReason ?? '', pacer, s.keyFramesEncoded, s.pliCount].join('\t'));
    prev = s;
  }
  return `${lines.join('\n')}\n`;
}

/** The receiver's view, ms from the drop: every presented frame (its delay, the seq drawn into it) and the getStats samples. */
function receiverTsv(call: RtcCallResult, dropAtMonoMs: number): string {
  const lines = ['kind\ttFromDropMs\tdelayMs\tseq\tfps\tframesReceived\tframesDecoded\tframesDropped\tjitterBufferMs'];
  for (const f of call.frames) lines.push(['frame', (f.tMs - dropAtMonoMs).toFixed(0), f.delayMs.toFixed(0), f.seq, '', '', '', '', ''].join('\t'));
  for (const s of call.receiver) {
    lines.push(['stats', (s.tMs - dropAtMonoMs).toFixed(0), '', '', s.fps ?? '', s.framesReceived, s.framesDecoded, s.framesDropped, s.jitterBufferMs === null ? '' : s.jitterBufferMs.toFixed(0)].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

/** One call over a trace (the summary's "drop" is the call's second second). */
async function traceCall(tb: Testbed, path: string, scale: number, durationS: number, steady: SteadyStart | undefined): Promise<{ call: RtcCallResult; summary: RtcSummary; dropAtMonoMs: number; steady?: { held: boolean; dropAfterS: number } }> {
  const sched = loadSchedule(path, durationS, scale);
  const agent = await ApAgent.start(tb);
  try {
    await agent.setRate(traceCallFirstRateBps(sched, steady));
    const r = await runTraceCall(tb, sched, steady);
    const summary = summarizeRtc(r.call, r.fromMonoMs, r.endMonoMs);
    const held = r.held === undefined ? {} : { steady: { held: r.held, dropAfterS: Math.round(r.fromMonoMs - r.call.connectedMonoMs) / 1000 } };
    return { call: r.call, summary, dropAtMonoMs: r.fromMonoMs, ...held };
  } finally {
    agent.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`evidence-run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
