/**
 * The in-band path against the real thing: a Chromium WebRTC call (GCC, plaintext RTCP) through
 * the testbed, 3 Mbit/s dropping to 0.3 Mbit/s from a steady state (RTC_SCENARIO: the sender
 * capped at 1.5 Mbit/s, the drop once the call has held 0.85 of that for 3 s; 100 ms bfifo =
 * 37.5 KB, 40 ms base RTT), three interleaved pairs without and with the daemon (its default
 * flows.rtp.signal remb: the client's own feedback passes, zhuge caps the sender with a REMB
 * while the Wi-Fi queue stands), numbers printed side by side. A pair where either call never
 * held its cap is run once more.
 *
 * Asserted, with margins measured over this scenario's calls (docs/results/rtc-evidence.md,
 * seventh round: the demo's ten pairs and the evidence runs; the machine is shared and noisy, so
 * the direction and a margin, never an absolute time): GCC's target falls below the new capacity
 * sooner in every pair and by a measured fraction summed over the pairs; the time with frame
 * delay above 400 ms is at most half of without, summed over the pairs (the gate); the
 * time below 10 fps is not longer; the bitrate after the drop keeps a measured share of the
 * capacity. Plus: both calls ran, zhuge detected the transport-wide extension within 2 s, capped
 * the sender and left the client's feedback untouched.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RelayHandle } from '../../testbed/relay.js';
import { RTC_SCENARIO, runRtcTrial, type RtcRun } from '../../testbed/rtc-experiment.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { daemonUnavailable, ensureBuilt, isRoot } from './_helpers.js';

const hasChromium = existsSync('/usr/bin/chromium');
/** interleaved (without, with) pairs: the frame-delay criteria are judged over their sum */
const PAIRS = 3;
/**
 * Measured on this scenario (`zhuge demo --rtc --repeat 10`, ten interleaved pairs, 2026-12-07):
 * GCC below capacity 133-216 ms with zhuge against 1001-1224 without (per pair at most 0.20x,
 * summed 0.16x); frame delay > 400 ms 0.91-1.23 s against 5.36-7.69 s (per pair at most 0.19x,
 * summed 0.16x); < 10 fps 0.4-2.6 s against 4.6-8.1 s; bitrate after the drop 0.67-0.80 of the
 * capacity. Asserted with margin: per pair GCC at most 0.5x, summed 0.35x; frame delay > 400 ms
 * summed at most 0.5x (the "halved"; a single pair on the bridged AP likewise); < 10 fps
 * summed not longer (+1 s); bitrate at least 0.5 of the capacity.
 */
const GCC_RATIO_PAIR_MAX = 0.5;
const GCC_RATIO_SUM_MAX = 0.35;
const LATE_RATIO_SUM_MAX = 0.5;
const FPS_SLACK_S = 1;
const BITRATE_SHARE_MIN = 0.5;
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

  it('3 -> 0.3 Mbit/s from a steady state: with zhuge GCC backs off sooner, frame delay > 400 ms lasts at most half as long, fps and bitrate hold', async () => {
    if (tb === undefined) throw new Error('no testbed');
    const pairs: Array<[RtcRun, RtcRun]> = [];
    for (let i = 0; i < PAIRS; i++) {
      let pair: [RtcRun, RtcRun] = [await runRtcTrial(tb, RTC_SCENARIO, false), await runRtcTrial(tb, RTC_SCENARIO, true)];
      if (pair.some((r) => r.metrics.steadyHeld !== 1)) pair = [await runRtcTrial(tb, RTC_SCENARIO, false), await runRtcTrial(tb, RTC_SCENARIO, true)];
      pairs.push(pair);
    }
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
      // zhuge capped the sender at the drop and never touched the client's feedback
      expectCapped(withZ);
      // GCC below the new capacity sooner, per pair
      expect(b.gccBelowCapacityAfterMs).toBeLessThanOrEqual(GCC_RATIO_PAIR_MAX * a.gccBelowCapacityAfterMs);
      // the bitrate after the drop keeps a share of the capacity
      expect(b.bitrateOverCapacity).toBeGreaterThanOrEqual(BITRATE_SHARE_MIN);
    }
    const sum = (z: 0 | 1, k: 'frameDelayAbove400msSeconds' | 'fpsBelow10Seconds' | 'gccBelowCapacityAfterMs'): number => pairs.reduce((t, p) => t + p[z].metrics[k], 0);
    console.log(
      `summed over ${PAIRS} pairs: GCC below capacity after ${sum(0, 'gccBelowCapacityAfterMs').toFixed(0)} vs ${sum(1, 'gccBelowCapacityAfterMs').toFixed(0)} ms, ` +
        `frame delay > 400 ms ${sum(0, 'frameDelayAbove400msSeconds').toFixed(2)} vs ${sum(1, 'frameDelayAbove400msSeconds').toFixed(2)} s, ` +
        `< 10 fps ${sum(0, 'fpsBelow10Seconds').toFixed(2)} vs ${sum(1, 'fpsBelow10Seconds').toFixed(2)} s`,
    );
    expect(sum(1, 'gccBelowCapacityAfterMs')).toBeLessThanOrEqual(GCC_RATIO_SUM_MAX * sum(0, 'gccBelowCapacityAfterMs'));
    expect(sum(1, 'frameDelayAbove400msSeconds')).toBeLessThanOrEqual(LATE_RATIO_SUM_MAX * sum(0, 'frameDelayAbove400msSeconds'));
    expect(sum(1, 'fpsBelow10Seconds')).toBeLessThanOrEqual(sum(0, 'fpsBelow10Seconds') + FPS_SLACK_S);
  }, 900_000);
});

// The same call on other APs, one pair each; the margins asserted are the routed test's per-pair ones.
//  - bridged: as OpenWrt builds it, the Wi-Fi interface a port of a bridge (the uplink matched by
//    zhuge's ebtables mark). Measured by hand on 2026-12-06: GCC below the capacity after
//    1139/1082 ms without, 290/300 ms with; frame delay above 400 ms 7.84/8.12 against 3.64/3.40 s
//    (docs/results/rtc-sweep.md).
//  - IPv6: a dual-stack testbed whose SDP keeps only the peers' IPv6 host candidates, so media and
//    RTCP go over IPv6: the daemon treats the call through its ip6tables rules and caps the sender
//    with REMBs from the client's IPv6 address. Measured by hand on 2026-12-07: frame delay above
//    400 ms 6.2 s without, 1.23 s with; GCC below the capacity after 1127 / 245 ms.
interface ApVariant {
  name: string;
  options: { bridgedAp?: boolean; ipv6?: boolean };
  /** the testbed view the call runs on */
  view: (tb: Testbed) => Testbed;
  /** what shows the daemon treated the call on this AP */
  check: (tb: Testbed, withZ: RtcRun) => void;
}

const VARIANTS: ApVariant[] = [
  {
    name: 'a bridged AP',
    options: { bridgedAp: true },
    view: (tb) => tb,
    check: (tb, withZ) => {
      const st = withZ.daemonStatus as { interception?: { bridge?: string } } | undefined;
      expect(st?.interception?.bridge).toBe(tb.d.bridge);
    },
  },
  {
    name: 'IPv6',
    options: { ipv6: true },
    view: (tb) => tb.ipv6View(),
    check: (tb, withZ) => {
      const call = withZ.daemonStatus?.rtp?.list?.find((t) => t.mode === 'twcc') as { transport?: string } | undefined;
      expect(call?.transport ?? '').toContain(`[${tb.ipv6View().addrs.cli}]:`);
    },
  },
];

describe.skipIf(!isRoot || !hasChromium || daemonUnavailable() !== undefined).each(VARIANTS.map((v) => [v.name, v] as const))(`WebRTC call through a drop, %s (${reason})`, (_name, variant) => {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: randomPrefix(), rateBps: RTC_SCENARIO.rateBps, bufferMs: 100, ...variant.options });
    relay = await startRelay(tb, { downMs: RTC_SCENARIO.baseDelayMsEachWay });
  }, 120_000);

  afterAll(async () => {
    await relay?.stop().catch(() => undefined);
    await tb?.down();
  });

  it('3 -> 0.3 Mbit/s from a steady state, one pair: zhuge capped the sender, GCC backs off sooner, late frames halved', async () => {
    if (tb === undefined) throw new Error('no testbed');
    const v = variant.view(tb);
    let pair: [RtcRun, RtcRun] = [await runRtcTrial(v, RTC_SCENARIO, false), await runRtcTrial(v, RTC_SCENARIO, true)];
    if (pair.some((r) => r.metrics.steadyHeld !== 1)) pair = [await runRtcTrial(v, RTC_SCENARIO, false), await runRtcTrial(v, RTC_SCENARIO, true)];
    const [without, withZ] = pair;
    print(without, withZ);
    variant.check(tb, withZ);
    const a = without.metrics;
    const b = withZ.metrics;
    expectCapped(withZ);
    expect(b.gccBelowCapacityAfterMs).toBeLessThanOrEqual(GCC_RATIO_PAIR_MAX * a.gccBelowCapacityAfterMs);
    expect(b.bitrateOverCapacity).toBeGreaterThanOrEqual(BITRATE_SHARE_MIN);
    expect(b.frameDelayAbove400msSeconds).toBeLessThanOrEqual(LATE_RATIO_SUM_MAX * a.frameDelayAbove400msSeconds);
  }, 600_000);
});

/** The daemon capped the sender with REMBs and let the client's own transport-wide feedback pass. */
function expectCapped(withZ: RtcRun): void {
  const b = withZ.metrics;
  expect(b.zhugeRembSent ?? 0, 'REMB caps sent').toBeGreaterThan(0);
  expect(b.zhugeFeedbackBuilt ?? 0, 'no feedback of its own').toBe(0);
  expect(b.zhugeClientFeedbackRemoved ?? 0, "the client's TWCC untouched").toBe(0);
  const call = withZ.daemonStatus?.rtp?.list?.find((t) => t.mode === 'twcc');
  expect(call?.capsEngaged ?? 0, 'a cap set from the standing queue').toBeGreaterThan(0);
}

function print(a: RtcRun, b: RtcRun): void {
  const keys = Object.keys(b.metrics) as Array<keyof RtcRun['metrics']>;
  const lines = ['\nWebRTC, 3 -> 0.3 Mbit/s from a steady state (1.5 Mbit/s cap), base RTT 40 ms', `${'metric'.padEnd(32)}${'without'.padStart(10)}${'with'.padStart(10)}`];
  for (const k of keys) lines.push(`${String(k).padEnd(32)}${String(a.metrics[k] ?? '-').padStart(10)}${String(b.metrics[k] ?? '-').padStart(10)}`);
  console.log(lines.join('\n'));
}
