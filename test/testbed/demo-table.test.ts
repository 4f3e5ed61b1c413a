/** `zhuge demo`'s side-by-side table (no testbed needed). */
import { describe, expect, it } from 'vitest';
import { formatTable, type DemoJson } from '../../testbed/cli/demo-table.js';
import { DEMO_SCENARIO, type TrialMetrics } from '../../testbed/experiment.js';

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
