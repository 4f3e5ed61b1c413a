/**
 * The live daemon against real kernel TCP senders (bbr, cubic) on the netns testbed: a
 * 30 -> 3 Mbit/s drop, without zhuge, with zhuge's reference rule (feedbackUpdater.mode
 * increments), with the drain gate (mode drain) and with the window clamp (mode window), and
 * without zhuge once more (the baseline at both ends: a run whose arms without zhuge did not fill
 * the link before the drop is void), in one run, numbers printed side by side.
 *
 * What is asserted is what was measured to hold over repeated runs:
 * - increments (docs/results/tcp-drop.md): the daemon treats the flow (ACKs held, added delay
 *   within the cap) and does no harm. Its effect on the sender is printed, not asserted: an ACK
 *   is delayed by one sampled increment (at most capMs) and kernel bbr / cubic did not react.
 * - drain (docs/results/tcp-drain.md): with bbr the time with ping RTT above 200 ms after the drop
 *   is much shorter (1.38-1.40 s vs 6.17-6.24 s with the final gate, 1.34-1.58 s vs 6.14-6.29 s
 *   over 12 pairs of earlier versions) at a throughput price (0.86-0.91x; 0.69x once); with cubic the
 *   steady-state queue before the drop is much shorter (ping p50 ~75 vs ~200 ms) but nothing is
 *   gained after the drop (its window outgrows the 1 s hold).
 * - window (docs/results/tcp-window.md): with both senders the time with ping RTT above 200 ms
 *   after the drop is much shorter (4 pairs + a clean-clone CI pair: bbr 0.65-0.68 s vs 5.14-6.11 s,
 *   cubic 0.67-0.72 s vs 5.42-6.49 s) at the same throughput (0.99x), cubic without its ~110-140
 *   retransmissions, and the daemon lowered the window of thousands of ACKs (8345 and 9917 in CI).
 * - "The sender sees the RTT rise sooner" is printed (ackRttRise*), not asserted: no rule that
 *   delays or rewrites ACKs can make it more than X / (k - 1) sooner for a rise of X after a
 *   k-fold drop (1.1 ms for X = 10 ms at k = 10; the bound is in docs/results/tcp-drop.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SCENARIO, runDropTrial, type TrialResult } from '../../testbed/experiment.js';
import { startRelay, type RelayHandle } from '../../testbed/relay.js';
import { distIsFresh } from '../../testbed/scripts.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { execFileSync } from 'node:child_process';

const isRoot = process.getuid?.() === 0;
const CAP_MS = 10;
/** the lowest throughput ratio (with / without, one trial each) this shared machine produced with no fault in zhuge */
const NOISE_FLOOR = 0.7;

describe.skipIf(!isRoot)('bandwidth drop with kernel TCP, without and with zhuge (needs root and netns)', () => {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;

  beforeAll(async () => {
    if (!distIsFresh('experiment', ['testbed/experiment.ts', 'testbed/rtt-tap.ts', 'src/daemon/daemon.ts', 'src/engine/engine.ts'])) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    }
    tb = await up({ prefix: randomPrefix(), rateBps: 30e6, bufferMs: 200 });
    relay = await startRelay(tb, { downMs: DEMO_SCENARIO.baseDelayMsEachWay });
  }, 180_000);

  afterAll(async () => {
    await relay?.stop().catch(() => undefined);
    await tb?.down();
  });

  for (const cc of ['bbr', 'cubic']) {
    it(`${cc}: 30 -> 3 Mbit/s`, async (ctx) => {
      if (tb === undefined) throw new Error('no testbed');
      const sc = { ...DEMO_SCENARIO, cc, durationS: 14, dropAtS: 6 };
      const without = await runDropTrial(tb, sc, false);
      const withZ = await runDropTrial(tb, { ...sc, ackMode: 'increments' }, true);
      const drain = await runDropTrial(tb, { ...sc, ackMode: 'drain' }, true);
      const window = await runDropTrial(tb, { ...sc, ackMode: 'window' }, true);
      // the arm without zhuge once more, last: the baseline at both ends of the run
      const closing = await runDropTrial(tb, sc, false);
      print(cc, without, withZ, drain, window, closing);
      // the baseline must be the scenario: without zhuge the download fills the 30 Mbit/s link
      // before the drop (27.8-28.0 Mbit/s in every valid run). A clean-clone CI run on 2026-12-07,
      // on a machine slow everywhere (its quic-drop was void too), got 25.2 in the arm without
      // and then 23.2, 19.0 and 12.4 in the three arms after it: the comparison says nothing then.
      // Only the arms without zhuge decide this, so harm by zhuge still fails below.
      const baseline = Math.min(without.metrics.throughputBeforeDropMbps, closing.metrics.throughputBeforeDropMbps);
      if (baseline < 25) {
        console.log(`VOID: the testbed did not deliver the baseline (pre-drop goodput without zhuge down to ${baseline} Mbit/s)`);
        ctx.skip();
      }
      const a = without.metrics;
      const b = withZ.metrics;
      // increments: the daemon treated the flow (ACKs held, each by at most the cap plus timer slack)
      expect(b.zhugeHeldPackets ?? 0).toBeGreaterThan(20);
      expect(b.zhugeMeanAddedDelayMs ?? Infinity).toBeLessThanOrEqual(CAP_MS + 2);
      // no harm: time above 200 ms within 1.5 s; throughput within 30 %. A single trial's
      // throughput is this machine's noise as much as zhuge's: 0.99-1.02x typically, but a
      // clean-clone CI run on 2026-11-22 had a cubic increments trial at 0.80x after the drop and
      // a bbr drain trial at 0.83x before it, each with its arm without zhuge at its usual rate
      expect(b.throughputMbps).toBeGreaterThan(NOISE_FLOOR * a.throughputMbps);
      expect(b.throughputBeforeDropMbps).toBeGreaterThan(NOISE_FLOOR * a.throughputBeforeDropMbps);
      expect(b.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds + 1.5);
      // drain: ACKs gated; a throughput price (bbr 0.86-0.91x in docs/results/tcp-drain.md; a
      // clean-clone CI run on 2026-11-22 had 0.69x, its gate holding ACKs ~0.9 s on average)
      const d = drain.metrics;
      expect(d.zhugeHeldPackets ?? 0).toBeGreaterThan(100);
      expect(d.throughputMbps).toBeGreaterThan(0.6 * a.throughputMbps);
      expect(d.throughputBeforeDropMbps).toBeGreaterThan(NOISE_FLOOR * a.throughputBeforeDropMbps);
      if (cc === 'bbr') {
        // the excess window waits at the AP as ACKs: the queue after the drop is short
        expect(d.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds - 3);
        expect(d.rttP50Ms).toBeLessThan(0.3 * a.rttP50Ms);
        expect(d.rttBeforeDropP50Ms).toBeLessThan(a.rttBeforeDropP50Ms + 40);
      } else {
        // cubic: the standing queue before the drop goes; after the drop no worse than without
        // (without: ping p50 199-218 ms in most runs, 145 ms once in CI; drain ~75, window 95-98)
        expect(d.rttBeforeDropP50Ms).toBeLessThan(0.75 * a.rttBeforeDropP50Ms);
        expect(d.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds + 1.5);
      }
      // window: no ACK held, hundreds clamped; the queue after the drop is short for both senders
      // at the same throughput
      const w = window.metrics;
      expect(w.zhugeHeldPackets ?? 0).toBe(0);
      expect(w.zhugeClampedAcks ?? 0).toBeGreaterThan(100);
      expect(w.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds - 3);
      expect(w.rttP50Ms).toBeLessThan(0.3 * a.rttP50Ms);
      // the clamp keeps the rate: 0.98-1.0x in the measured pairs, 0.93x once in a noisy CI run
      expect(w.throughputMbps).toBeGreaterThan(0.85 * a.throughputMbps);
      expect(w.throughputBeforeDropMbps).toBeGreaterThan(0.85 * a.throughputBeforeDropMbps);
      // cubic's standing queue before the drop: the clamp holds the ping at 95-98 ms, while
      // without zhuge it was 199-218 ms in most runs but 121 ms in a clean-clone CI run on
      // 2026-12-06 (and 145 ms once before): the direction is asserted, not a ratio
      if (cc === 'bbr') expect(w.rttBeforeDropP50Ms).toBeLessThan(a.rttBeforeDropP50Ms + 40);
      else expect(w.rttBeforeDropP50Ms).toBeLessThan(a.rttBeforeDropP50Ms);
    }, 240_000);
  }

  // a client without TCP timestamps (Windows by default): the clamp runs on the handshake's RTT
  it('cubic, client without TCP timestamps: the window clamp from the handshake RTT', async () => {
    if (tb === undefined) throw new Error('no testbed');
    const sc = { ...DEMO_SCENARIO, cc: 'cubic', durationS: 14, dropAtS: 6 };
    await tb.exec('cli', 'sysctl', ['-qw', 'net.ipv4.tcp_timestamps=0']);
    try {
      const without = await runDropTrial(tb, sc, false);
      const window = await runDropTrial(tb, { ...sc, ackMode: 'window' }, true);
      print('cubic, client without TCP timestamps', without, window);
      const a = without.metrics;
      const w = window.metrics;
      const flows = (window.raw.daemonStatus as { flows?: Array<{ window?: { baseRttMs: number; rttSamples: number } }> } | undefined)?.flows ?? [];
      console.log(`window state per flow: ${JSON.stringify(flows.map((f) => f.window))}`);
      // the RTT came from the handshake alone (one sample, no timestamps): about the relay's 40 ms
      expect(flows.some((f) => f.window?.rttSamples === 1 && f.window.baseRttMs > 30 && f.window.baseRttMs < 80)).toBe(true);
      expect(w.zhugeClampedAcks ?? 0).toBeGreaterThan(100);
      expect(w.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds - 3);
      expect(w.throughputMbps).toBeGreaterThan(0.85 * a.throughputMbps);
    } finally {
      await tb.exec('cli', 'sysctl', ['-qw', 'net.ipv4.tcp_timestamps=1']);
    }
  }, 240_000);
});

function print(cc: string, ...arms: TrialResult[]): void {
  const keys = Object.keys(arms[0]?.metrics ?? {}) as Array<keyof TrialResult['metrics']>;
  const heads = arms.length === 5 ? ['without', 'increments', 'drain', 'window', 'without'] : ['without', 'window'];
  const lines = [`\n${cc}: 30 -> 3 Mbit/s, base RTT 40 ms`, `${'metric'.padEnd(28)}${heads.map((h) => h.padStart(12)).join('')}`];
  for (const k of keys.concat(['zhugeHeldPackets', 'zhugeMeanAddedDelayMs', 'zhugeClampedAcks'])) {
    lines.push(`${String(k).padEnd(28)}${arms.map((r) => String(r.metrics[k] ?? '-').padStart(12)).join('')}`);
  }
  console.log(lines.join('\n'));
}
