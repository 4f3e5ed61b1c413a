/**
 * The in-band path against the real thing: a Chromium WebRTC call (GCC, plaintext RTCP) through
 * the testbed, 3 Mbit/s dropping to 0.3 Mbit/s at 15 s of a 30 s call (100 ms bfifo = 37.5 KB,
 * 40 ms base RTT), two interleaved pairs of calls without and with the daemon rebuilding the
 * transport-wide feedback, numbers printed side by side.
 *
 * Asserted (the criteria), with margins from the measured pairs in
 * docs/results/rtc-drop.md (after the two fixes of 2026-11-21: extension detection and the rate
 * floor; 6 pairs, often on a loaded machine): GCC's estimate falls below the new capacity sooner
 * (with/without 0.28-0.55: asserted <= 0.8 per pair), the time with RTT above 200 ms is shorter
 * (by 2.0-5.5 s: asserted >= 1 s per pair), the time with frame delay above 400 ms is shorter
 * (by 0.01-4.7 s per pair: asserted >= 0.5 s summed over the pairs) and the tail frame delay is
 * lower (summed). Plus: both calls ran, zhuge detected the transport's extension within 2 s and
 * replaced the client's feedback.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RelayHandle } from '../../testbed/relay.js';
import { RTC_SCENARIO, runRtcTrial, type RtcRun } from '../../testbed/rtc-experiment.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { daemonUnavailable, ensureBuilt, isRoot } from './_helpers.js';

const hasChromium = existsSync('/usr/bin/chromium');
/** interleaved (without, with) pairs: the frame-delay criteria are judged over their sum */
const PAIRS = 2;
const reason = !isRoot ? 'needs root and netns' : !hasChromium ? 'needs /usr/bin/chromium' : (daemonUnavailable() ?? 'root, chromium');

describe.skipIf(!isRoot || !hasChromium || daemonUnavailable() !== undefined)(`WebRTC call through a bandwidth drop, without and with zhuge (${reason})`, () => {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: randomPrefix(), rateBps: RTC_SCENARIO.rateBps, bufferMs: 100 });
    relay = await startRelay(tb, { downMs: RTC_SCENARIO.baseDelayMsEachWay });
  }, 120_000);

  afterAll(async () => {
    await relay?.stop().catch(() => undefined);
    await tb?.down();
  });

  it('3 -> 0.3 Mbit/s: with zhuge GCC backs off sooner, frame delay > 400 ms and RTT > 200 ms last less', async () => {
    if (tb === undefined) throw new Error('no testbed');
    const pairs: Array<[RtcRun, RtcRun]> = [];
    for (let i = 0; i < PAIRS; i++) pairs.push([await runRtcTrial(tb, RTC_SCENARIO, false), await runRtcTrial(tb, RTC_SCENARIO, true)]);
    for (const [without, withZ] of pairs) print(without, withZ);
    for (const [without, withZ] of pairs) {
      const a = without.metrics;
      const b = withZ.metrics;
      // both calls ran: frames decoded and video flowing before the drop in both arms
      expect(Number.isFinite(a.frameDelayBeforeDropP50Ms) && Number.isFinite(b.frameDelayBeforeDropP50Ms)).toBe(true);
      expect(a.bitrateBeforeDropMbps).toBeGreaterThan(0.2);
      expect(b.bitrateBeforeDropMbps).toBeGreaterThan(0.2);
      // zhuge found the transport-wide extension at once and reported for the whole call
      const tr = (withZ.daemonStatus as { rtp?: { list?: Array<{ mode: string; history: Array<{ event: string; mode: string; tUs: number }> }> } } | undefined)?.rtp?.list ?? [];
      const call = tr.find((t) => t.mode === 'twcc');
      expect(call, 'a transport in twcc mode').toBeDefined();
      const created = call!.history.find((e) => e.event === 'created')!.tUs;
      const twcc = call!.history.find((e) => e.event === 'mode' && e.mode === 'twcc')!.tUs;
      expect((twcc - created) / 1e6).toBeLessThan(2);
      expect(b.zhugeFeedbackBuilt ?? 0).toBeGreaterThan(400);
      expect(b.zhugeClientFeedbackRemoved ?? 0).toBeGreaterThan(350);
      // the criteria, with margins measured over the pairs in docs/results/rtc-drop.md
      // (11 pairs by 2026-11-22: GCC 0.28-0.55x, RTT time -2.0..-5.5 s): per pair
      expect(b.gccBelowCapacityAfterMs).toBeLessThanOrEqual(0.8 * a.gccBelowCapacityAfterMs);
      expect(b.rttAbove200msSeconds).toBeLessThanOrEqual(a.rttAbove200msSeconds - 1);
    }
    // the time with frame delay above 400 ms is the noisiest (-0.01..-4.7 s over 11 pairs: a
    // clean-clone CI pair on 2026-11-22 gave 4.55 vs 4.56 s, its call without zhuge having sent
    // 0.88 Mbit/s before the drop against 1.39 with), and so is the tail: summed over the pairs
    const sum = (z: 0 | 1, k: 'frameDelayAbove400msSeconds' | 'frameDelayP99Ms'): number => pairs.reduce((t, p) => t + p[z].metrics[k], 0);
    console.log(`summed over ${PAIRS} pairs: frame delay > 400 ms ${sum(0, 'frameDelayAbove400msSeconds').toFixed(2)} vs ${sum(1, 'frameDelayAbove400msSeconds').toFixed(2)} s, p99 ${sum(0, 'frameDelayP99Ms')} vs ${sum(1, 'frameDelayP99Ms')} ms`);
    expect(sum(1, 'frameDelayAbove400msSeconds')).toBeLessThanOrEqual(sum(0, 'frameDelayAbove400msSeconds') - 0.5);
    expect(sum(1, 'frameDelayP99Ms')).toBeLessThan(sum(0, 'frameDelayP99Ms'));
  }, 480_000);
});

function print(a: RtcRun, b: RtcRun): void {
  const keys = Object.keys(b.metrics) as Array<keyof RtcRun['metrics']>;
  const lines = ['\nWebRTC, 3 -> 0.3 Mbit/s at 15 s of 30 s, base RTT 40 ms', `${'metric'.padEnd(32)}${'without'.padStart(10)}${'with'.padStart(10)}`];
  for (const k of keys) lines.push(`${String(k).padEnd(32)}${String(a.metrics[k] ?? '-').padStart(10)}${String(b.metrics[k] ?? '-').padStart(10)}`);
  console.log(lines.join('\n'));
}
