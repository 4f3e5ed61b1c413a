/**
 * The offline replay of a committed evidence call (docs/results/rtc-evidence/fourth-round/ev-pt9,
 * a WebRTC call over pitree4g_9 x 0.02 with reportTiming departure) through the engine: it must
 * reproduce what the daemon reported live (the delay reported that never happened, read from
 * the call's packet table: 23.7 s), and show what `flows.rtp.unmeasured: wait` changes on the same
 * packets (predictions no longer made from a stall's decaying rate estimate).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { replayTiming } from '../../testbed/webrtc/replay-timing.js';

const DIR = 'docs/results/rtc-evidence/fourth-round/ev-pt9/0-departure';

/** Live: sum over the packet table of (zhuge's reported time - departure) where positive (s). */
function liveLateS(): number {
  const lines = gunzipSync(readFileSync(`${DIR}/packets.tsv.gz`)).toString('utf8').trim().split('\n');
  const head = (lines[0] ?? '').split('\t');
  const dep = head.indexOf('departureMs');
  const rep = head.indexOf('zhugeReportedMs');
  let late = 0;
  for (const l of lines.slice(1)) {
    const c = l.split('\t');
    const d = Number.parseFloat(c[dep] ?? '');
    const r = Number.parseFloat(c[rep] ?? '');
    if (Number.isFinite(d) && Number.isFinite(r) && r > d) late += r - d;
  }
  return late / 1000;
}

describe('replay-timing on a committed call', () => {
  it('reproduces the live report timing, and unmeasured: wait reports less delay that never happened', () => {
    const live = liveLateS();
    // the call ran with the defaults of its day, unmeasured: estimate and reportSpacing: stack
    const asLive = replayTiming(DIR, ['unmeasured=estimate', 'reportSpacing=stack']);
    const wait = replayTiming(DIR, ['unmeasured=wait', 'reportSpacing=stack']);
    const link = replayTiming(DIR, ['unmeasured=wait', 'reportSpacing=link']);
    console.log(`late: live ${live.toFixed(2)} s, replayed ${asLive.lateS} s, with unmeasured: wait ${wait.lateS} s, and reportSpacing: link ${link.lateS} s`);
    expect(Math.abs(asLive.lateS - live)).toBeLessThan(0.1 * live);
    expect(asLive.waitedUnpredicted).toBe(0);
    expect(wait.waitedUnpredicted).toBeGreaterThan(0);
    expect(wait.lateS).toBeLessThan(0.7 * asLive.lateS);
  }, 60_000);
});
