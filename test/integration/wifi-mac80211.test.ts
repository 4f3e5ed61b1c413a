/**
 * queue.backend mac80211 on a real mac80211 stack (issue 17): the UML Wi-Fi testbed (hostapd AP,
 * one station, our medium at 6 -> 1.5 Mbit/s), zhuge running on the AP inside UML with its
 * per-station backend and the window clamp, side by side with no zhuge, pairs interleaved
 * (without, with, without, with), each arm its own boot. What must hold:
 *  - zhuge found the station's TXQs in debugfs and read them all along, and clamped the ACKs;
 *  - the sender's RTT after the drop is lower with zhuge in every pair, at the same goodput.
 * Margins from the runs of 2026-12-06 (docs/mac80211-backend.md): RTT p50 after the drop
 * 140-160 ms without, 95-110 ms with; goodput after 1.1-1.2 Mbit/s in both.
 */
import { describe, expect, it } from 'vitest';
import { cachedUmlKernel } from '../../testbed/wifi/uml.js';
import { armNotMeasured, runWifiTcpDrop, type WifiTcpDropResult } from '../../testbed/wifi/tcp-drop.js';

const isRoot = process.getuid?.() === 0;
const kernel = isRoot ? cachedUmlKernel() : undefined;
const inCi = process.env['CI'] === 'true';
const why = !isRoot ? 'not root' : kernel === undefined ? 'the UML kernel is not built (scripts/build-uml.sh)' : undefined;

/** Below this goodput before the drop (Mbit/s, the medium's rate after it) the arm was held by UML's CPU, not the medium. */
const STARVED_BEFORE_MBPS = 1.5;

type Pair = { without: WifiTcpDropResult; with: WifiTcpDropResult & { scenarioLog: string } };

/** One interleaved pair (without, then with). */
async function runPair(i: number): Promise<Pair> {
  const without = await runWifiTcpDrop({ kernel: kernel ?? '', arm: 'without' });
  let withZhuge = await runWifiTcpDrop({ kernel: kernel ?? '', arm: 'with' });
  // a daemon that did not start within 120 s in UML, or whose watchdog removed the rules before
  // the transfer (a stall of UML's one CPU), measured nothing of the clamp: that arm once more
  const notMeasured = armNotMeasured(withZhuge.scenarioLog);
  if (notMeasured !== undefined) {
    console.log(`pair ${i + 1}: the arm with zhuge again (${notMeasured})`);
    withZhuge = await runWifiTcpDrop({ kernel: kernel ?? '', arm: 'with' });
  }
  return { without, with: withZhuge };
}

describe.skipIf(why !== undefined && !inCi)(`zhuge on mac80211's per-station queues, in User-Mode Linux (${why ?? 'root, UML kernel built'})`, () => {
  it('sees the station TXQs and lowers the TCP RTT after a Wi-Fi rate drop (two interleaved pairs)', async (ctx) => {
    expect(why, 'UML kernel for the Wi-Fi testbed').toBeUndefined();
    const pairs: Pair[] = [];
    for (let i = 0; i < 2; i++) {
      let pair = await runPair(i);
      // both arms must reach the drop from the medium's rate, not UML's: before the drop the medium
      // carries 6 Mbit/s, so a transfer below the after-drop rate (1.5) was held by a starved UML
      // CPU (a CI run saw 1.2 Mbit/s in one arm, and its pair compared nothing): that pair once more
      const starved = [pair.without, pair.with].filter((r) => r.mbpsBefore < STARVED_BEFORE_MBPS);
      if (starved.length > 0) {
        console.log(`pair ${i + 1} again: ${starved.map((r) => `${r.arm} ${r.mbpsBefore} Mbit/s before the drop`).join(', ')} (UML starved)`);
        // the machine already starved UML once: when the rerun fails to run or starves again, the
        // run compares nothing (a clean-clone CI run on 2026-12-07, slow everywhere, lost the
        // rerun's iperf3 result inside UML)
        const again = await runPair(i).catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
        const still = again instanceof Error ? [] : [again.without, again.with].filter((r) => r.mbpsBefore < STARVED_BEFORE_MBPS);
        if (again instanceof Error || still.length > 0) {
          console.log(`VOID: UML starved twice in pair ${i + 1} (${again instanceof Error ? again.message.split('\n')[0] ?? '' : still.map((r) => `${r.arm} ${r.mbpsBefore} Mbit/s`).join(', ')})`);
          ctx.skip();
          return;
        }
        pair = again;
      }
      pairs.push(pair);
    }
    const brief = (r: WifiTcpDropResult): string =>
      `rtt p50 ${r.rttP50Ms} p90 ${r.rttP90Ms} max ${r.rttMaxMs} ms, >100ms ${r.over100Ms} s, rtx ${r.retransmits}, Mbit/s ${r.mbpsBefore} -> ${r.mbpsAfter}, txq max ${r.txqMaxBytes} B, clamped ${r.clampedAcks}, readings ${r.txqReadings}, watchdog trips ${r.watchdogTrips}`;
    console.log(pairs.map((p, i) => `pair ${i + 1}\n  without: ${brief(p.without)}\n  with:    ${brief(p.with)}`).join('\n'));
    for (const p of pairs) {
      // the backend ran: one station followed, its TXQs read every few ms, ACKs clamped
      expect(p.with.stations).toBe(1);
      expect(p.with.txqReadings).toBeGreaterThan(500);
      expect(p.with.clampedAcks, `scenario log of the arm with zhuge:\n${p.with.scenarioLog.slice(-2000)}`).toBeGreaterThan(100);
      // the effect: a lower RTT after the drop, at about the same goodput
      expect(p.with.rttP50Ms).toBeLessThan(p.without.rttP50Ms - 15);
      expect(p.with.mbpsAfter).toBeGreaterThan(p.without.mbpsAfter * 0.8);
    }
  }, 900_000);
});
