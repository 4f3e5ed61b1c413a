/** `zhuge demo`'s side-by-side table (no testbed needed). */
import { describe, expect, it } from 'vitest';
import { formatQuicTable, formatRtcTable, formatTable, type DemoJson, type QuicDemoJson, type RtcDemoJson } from '../../testbed/cli/demo-table.js';
import { DEMO_SCENARIO, type TrialMetrics } from '../../testbed/experiment.js';
import { QUIC_DEMO_SCENARIO, type QuicTrialMetrics } from '../../testbed/quic-experiment.js';
import { RTC_SCENARIO, type RtcMetrics } from '../../testbed/rtc-experiment.js';

const base = { rttP50Ms: 900, rttAbove200msSeconds: 5.2, throughputMbps: 2.77 } as TrialMetrics;

describe('formatTable', () => {
  it('names the mode, shows the clamped ACKs of the window mode, leaves out rows no run has', () => {
    const o: DemoJson = {
      scenario: { ...DEMO_SCENARIO, ackMode: 'window' },
      runs: [
        { zhuge: false, metrics: base },
        { zhuge: true, metrics: { ...base, rttP50Ms: 93.5, rttAbove200msSeconds: 0.67, zhugeHeldPackets: 0, zhugeClampedAcks: 8345 } },
      ],
      resultsDir: '/tmp/x',
    };
    const lines = formatTable(o).split('\n');
    expect(lines[0]).toBe('bbr, 30 -> 3 Mbit/s at 10 s, base RTT 40 ms, zhuge feedbackUpdater.mode window');
    expect(lines).toContain(`${'ping RTT p50 after the drop (ms)'.padEnd(40)}${'900'.padStart(12)}${'93.5'.padStart(12)}`);
    expect(lines).toContain(`${'ACKs whose window zhuge lowered'.padEnd(40)}${'-'.padStart(12)}${'8345'.padStart(12)}`);
    expect(lines.some((l) => l.startsWith('TCP retransmissions'))).toBe(false);
  });
});

describe('formatRtcTable and formatQuicTable', () => {
  it('head line, numbered columns for more than one pair, NaN as never', () => {
    const m = { frameDelayP99Ms: 120, gccBelowCapacityAfterMs: Number.NaN } as RtcMetrics;
    const o: RtcDemoJson = { scenario: RTC_SCENARIO, runs: [false, true, false, true].map((zhuge) => ({ zhuge, metrics: m })), resultsDir: '/tmp/x' };
    const lines = formatRtcTable(o).split('\n');
    expect(lines[0]).toBe('WebRTC (GCC), 3 -> 0.3 Mbit/s once the call held 0.85 of a 1.5 Mbit/s cap for 3 s, 15 s after, base RTT 40 ms');
    const { steady: _steady, ...timed } = RTC_SCENARIO;
    expect(formatRtcTable({ ...o, scenario: timed }).split('\n')[0]).toBe('WebRTC (GCC), 3 -> 0.3 Mbit/s at 15 s of 30 s, base RTT 40 ms');
    expect(lines[2]).toBe(`${''.padEnd(40)}${['without #1', 'with #1', 'without #2', 'with #2'].map((c) => c.padStart(12)).join('')}`);
    expect(lines).toContain(`${'GCC estimate < capacity after (ms)'.padEnd(40)}${'never'.padStart(12).repeat(4)}`);
    expect(lines).toHaveLength(5);
  });
  it('QUIC: the ping rows first, then the sender', () => {
    const m = { rttP50Ms: 80, senderRttRise5msMs: 35 } as QuicTrialMetrics;
    const o: QuicDemoJson = { scenario: { ...QUIC_DEMO_SCENARIO, wifiHopMsEachWay: 5 }, runs: [{ zhuge: false, metrics: m }], resultsDir: '/tmp/x' };
    expect(formatQuicTable(o).split('\n')).toEqual([
      'QUIC (ngtcp2 cubic), 30 -> 3 Mbit/s at 10 s of 20 s, base RTT 40 ms + a 10 ms Wi-Fi hop',
      '',
      `${''.padEnd(40)}${'without'.padStart(12)}`,
      `${'ping RTT p50 after the drop (ms)'.padEnd(40)}${'80'.padStart(12)}`,
      `${"sender's RTT +5 ms after the drop (ms)".padEnd(40)}${'35'.padStart(12)}`,
    ]);
  });
});
