import { describe, expect, it } from 'vitest';
import { dayMsOf, parseChromiumBwe, summarizePushback, type BweSample } from '../../testbed/webrtc/chromium-log.js';

// lines as Chromium 156 wrote them in a testbed call (ZHUGE_CHROMIUM_LOG_DIR), with others between
const LOG = [
  '[26562:26690:1207/043346.984573:INFO:third_party/webrtc/modules/congestion_controller/goog_cc/delay_based_bwe.cc:295] BWE Setting start bitrate to: 300 kbps',
  '[26562:26690:1207/043346.984610:VERBOSE1:third_party/webrtc/modules/congestion_controller/goog_cc/goog_cc_network_control.cc:653] bwe 15651076 pushback_target_bps=300000 estimate_bps=300000',
  '[26562:26690:1207/043346.984636:VERBOSE1:third_party/webrtc/modules/pacing/pacing_controller.cc:194] bwe:pacer_updated pacing_kbps=330 padding_budget_kbps=0',
  '[26562:26690:1207/043358.718828:VERBOSE1:third_party/webrtc/modules/pacing/pacing_controller.cc:717] bwe:large_pacing_queue pacing_rate_kbps=452',
  '[26562:26602:1207/043347.000000:ERROR:dbus/bus.cc:405] Failed to connect to the bus',
  '[26562:26690:1207/043347.071360:VERBOSE1:third_party/webrtc/modules/congestion_controller/goog_cc/goog_cc_network_control.cc:653] bwe 15651163 pushback_target_bps=30000 estimate_bps=895384',
  'bwe 1 pushback_target_bps=1 estimate_bps=1', // no header: not a log line of Chromium's
  '[26562:26690:1207/043347.171360:VERBOSE1:x/goog_cc_network_control.cc:653] bwe 15651263 pushback_target_bps=', // cut
].join('\n');

describe('parseChromiumBwe', () => {
  it("reads goog_cc's output and the pacer's rate, with the log's time of day, and nothing else", () => {
    const { bwe, pacing } = parseChromiumBwe(LOG);
    const day = (h: number, m: number, s: number): number => ((h * 60 + m) * 60 + s) * 1000;
    expect(bwe).toEqual([
      { pid: 26562, dayMs: day(4, 33, 46) + 984.61, pushbackBps: 300000, estimateBps: 300000 },
      { pid: 26562, dayMs: day(4, 33, 47) + 71.36, pushbackBps: 30000, estimateBps: 895384 },
    ]);
    expect(pacing).toEqual([{ pid: 26562, dayMs: day(4, 33, 46) + 984.636, pacingBps: 330000 }]);
  });

  it('never throws on arbitrary text', () => {
    for (const t of ['', '[', '[1:2:3/4:5]', '\u0000\n[x] bwe', LOG.slice(0, 100)]) expect(() => parseChromiumBwe(t)).not.toThrow();
  });
});

describe('summarizePushback', () => {
  const s = (dayMs: number, estimateKbps: number, pushbackKbps: number): BweSample => ({ dayMs, pid: 1, estimateBps: estimateKbps * 1000, pushbackBps: pushbackKbps * 1000 });
  it.each([
    { name: 'no pushback: the encoders get the estimate', samples: [s(0, 500, 500), s(1000, 400, 400)], want: { pushbackMs: 0, minPushbackBps: 400_000, minEstimateBps: 400_000 } },
    { name: 'pushback from 1 s to 3.5 s after the event', samples: [s(-100, 900, 900), s(1000, 400, 30), s(3500, 400, 400)], want: { pushbackMs: 2500, minPushbackBps: 30_000, minEstimateBps: 400_000 } },
    { name: 'a step that began before the event counts from the event, one after the window not at all', samples: [s(-2000, 800, 100), s(2000, 800, 800), s(6000, 100, 10)], want: { pushbackMs: 2000, minPushbackBps: 100_000, minEstimateBps: 800_000 } },
    { name: 'within 10 % is no pushback', samples: [s(0, 1000, 901)], want: { pushbackMs: 0, minPushbackBps: 901_000, minEstimateBps: 1_000_000 } },
  ])('$name', ({ samples, want }) => {
    expect(summarizePushback(samples, 0, 5000)).toEqual(want);
  });

  it('dayMsOf: the time of day of an epoch time', () => {
    expect(dayMsOf(Date.UTC(2026, 11, 7, 4, 33, 46, 984))).toBe(((4 * 60 + 33) * 60 + 46) * 1000 + 984);
  });
});
