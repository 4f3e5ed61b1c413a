/**
 * GCC's own decisions, from the sending browser's log (Chromium with --enable-logging=stderr and
 * a --vmodule for WebRTC's congestion controller: call.ts CHROMIUM_LOG_ARGS, switched on by
 * ZHUGE_CHROMIUM_LOG_DIR). Chromium 156 writes one line per update of goog_cc's output
 * (goog_cc_network_control.cc) and one per pacer rate change (pacing_controller.cc):
 *
 *   [pid:tid:MMDD/HHMMSS.uuuuuu:VERBOSE1:.../goog_cc_network_control.cc:653] bwe 15651163 pushback_target_bps=895384 estimate_bps=895384
 *   [pid:tid:MMDD/HHMMSS.uuuuuu:VERBOSE1:.../pacing_controller.cc:194] bwe:pacer_updated pacing_kbps=985 padding_budget_kbps=0
 *
 * `estimate_bps` is GCC's target (the lower of the delay- and loss-based estimates);
 * `pushback_target_bps` is what the encoders are given after the congestion window's pushback
 * (libwebrtc cuts it while the bytes sent and not yet acknowledged exceed the window). Pure.
 */

export interface BweSample {
  /** wall-clock ms of the day (the log's local time), as written */
  dayMs: number;
  pid: number;
  estimateBps: number;
  pushbackBps: number;
}

export interface PacingSample {
  dayMs: number;
  pid: number;
  pacingBps: number;
}

const HEAD = /^\[(\d+):\d+:\d{4}\/(\d\d)(\d\d)(\d\d)\.(\d{6}):[A-Z0-9]+:[^\]]*\] /;
const BWE = /goog_cc_network_control\.cc:\d+\] bwe -?\d+ pushback_target_bps=(\d+) estimate_bps=(\d+)/;
const PACER = /pacing_controller\.cc:\d+\] bwe:pacer_updated pacing_kbps=(\d+)/;

function head(line: string): { dayMs: number; pid: number } | undefined {
  const m = HEAD.exec(line);
  if (m === null) return undefined;
  const [, pid, hh, mm, ss, us] = m;
  return { pid: Number(pid), dayMs: ((Number(hh) * 60 + Number(mm)) * 60 + Number(ss)) * 1000 + Number(us) / 1000 };
}

/** Every goog_cc output and pacer-rate line of a browser log, in order; other lines ignored. */
export function parseChromiumBwe(text: string): { bwe: BweSample[]; pacing: PacingSample[] } {
  const bwe: BweSample[] = [];
  const pacing: PacingSample[] = [];
  for (const line of text.split('\n')) {
    const b = BWE.exec(line);
    const p = b === null ? PACER.exec(line) : null;
    if (b === null && p === null) continue;
    const h = head(line);
    if (h === undefined) continue;
    if (b !== null) bwe.push({ ...h, pushbackBps: Number(b[1]), estimateBps: Number(b[2]) });
    else if (p !== null) pacing.push({ ...h, pacingBps: Number(p[1]) * 1000 });
  }
  return { bwe, pacing };
}

/** ms of the day (UTC, the testbed's clock) of a Date.now() value. */
export function dayMsOf(epochMs: number): number {
  return epochMs % 86_400_000;
}

export interface PushbackSummary {
  /** ms after the event during which the encoders' target was below 0.9 x GCC's */
  pushbackMs: number;
  /** the lowest encoder target (bit/s) in the window, and GCC's lowest estimate */
  minPushbackBps: number | null;
  minEstimateBps: number | null;
}

/**
 * Over [eventDayMs, eventDayMs + windowMs): how long the congestion-window pushback held the
 * encoders below GCC's own target. Samples are steps: each holds until the next.
 */
export function summarizePushback(samples: readonly BweSample[], eventDayMs: number, windowMs: number): PushbackSummary {
  let pushbackMs = 0;
  let minP: number | null = null;
  let minE: number | null = null;
  const end = eventDayMs + windowMs;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s === undefined) continue;
    const from = Math.max(s.dayMs, eventDayMs);
    const to = Math.min(samples[i + 1]?.dayMs ?? end, end);
    if (to <= from) continue;
    if (s.pushbackBps < 0.9 * s.estimateBps) pushbackMs += to - from;
    if (minP === null || s.pushbackBps < minP) minP = s.pushbackBps;
    if (minE === null || s.estimateBps < minE) minE = s.estimateBps;
  }
  return { pushbackMs, minPushbackBps: minP, minEstimateBps: minE };
}
