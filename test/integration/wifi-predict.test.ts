/**
 * queue.backend mac80211 predicting per station (issue 17): the UML Wi-Fi testbed with two
 * stations at different airtime rates (the medium: station 1 at 3 Mbit/s, station 2 at 1), a TCP
 * download to each at once, zhuge on the AP observing (no feedback changed) and logging its
 * prediction for every downlink packet. The actual delay of a packet is the medium's delivery to
 * its station minus its arrival on the AP's Ethernet side, joined by match key
 * (testbed/wifi/predict.ts). What must hold:
 *  - the packets to each station were predicted at that station's queue (the per-station Fortune
 *    Tellers, not the default queue), for nearly all of them;
 *  - the prediction is worth having: its median error is well below the delay itself (what a
 *    backend blind to the TXQs predicts: the qdisc backend on `noqueue` says ~0), and it is not
 *    biased far either way.
 * Margins from eight station-runs of 2026-12-08 (docs/mac80211-backend.md): |error| p50 0.31-0.49
 * of the actual p50, signed error p50 -31..+9 ms on actual p50s of 89-153 ms.
 */
import { describe, expect, it } from 'vitest';
import { cachedUmlKernel } from '../../testbed/wifi/uml.js';
import { formatPredictTrial, runPredictTrial } from '../../testbed/wifi/predict.js';

const isRoot = process.getuid?.() === 0;
const kernel = isRoot ? cachedUmlKernel() : undefined;
const inCi = process.env['CI'] === 'true';
const why = !isRoot ? 'not root' : kernel === undefined ? 'the UML kernel is not built (scripts/build-uml.sh)' : undefined;

/** Below this total goodput (Mbit/s) UML's CPU, not the air, held the downloads. */
const STARVED_TOTAL_MBPS = 0.4;

describe.skipIf(why !== undefined && !inCi)(`zhuge's mac80211 backend predicts each station's delay, in User-Mode Linux (${why ?? 'root, UML kernel built'})`, () => {
  it('two stations at 3 and 1 Mbit/s: per packet, predicted vs the medium\'s delivery, p50/p90 per station', async (ctx) => {
    expect(why, 'UML kernel for the Wi-Fi testbed').toBeUndefined();
    let r = await runPredictTrial({ kernel: kernel ?? '' });
    console.log(formatPredictTrial(r));
    // UML's one CPU starved by a loaded host carries far less than the air would (the runs of
    // 2026-12-08: 0.79-1.11 Mbit/s in total): once more, and a second starved run measures nothing
    const total = (x: typeof r): number => (x.mbps[1] ?? 0) + (x.mbps[2] ?? 0);
    if (!(total(r) >= STARVED_TOTAL_MBPS)) {
      console.log(`again: ${total(r).toFixed(2)} Mbit/s in total (UML starved)`);
      r = await runPredictTrial({ kernel: kernel ?? '' });
      console.log(formatPredictTrial(r));
      if (!(total(r) >= STARVED_TOTAL_MBPS)) {
        console.log(`VOID: UML starved twice (${total(r).toFixed(2)} Mbit/s in total)`);
        ctx.skip();
        return;
      }
    }
    expect(r.status.predictionLog?.dropped).toBe(0);
    expect(r.status.predictionLog?.writeErrors).toBe(0);
    // every aqm reading parsed (a torn read of the file was a parse error before readAqmOnce)
    expect(r.status.txq?.parseErrors).toBe(0);
    expect(r.status.txq?.stations).toBe(2);
    const [sta1, sta2] = [r.stations.find((s) => s.station === 1), r.stations.find((s) => s.station === 2)];
    expect(sta1, 'station 1 matched').toBeDefined();
    expect(sta2, 'station 2 matched').toBeDefined();
    if (sta1 === undefined || sta2 === undefined) return;
    for (const s of [sta1, sta2]) {
      expect(s.matched, `station ${s.station}`).toBeGreaterThan(200);
      expect(s.atStationQueue / s.matched, `station ${s.station}: share predicted at its own queue`).toBeGreaterThan(0.95);
      expect(s.absErrorMs.p50, `station ${s.station}: |error| p50 against the actual p50`).toBeLessThan(0.75 * s.actualMs.p50);
      expect(Math.abs(s.signedErrorMs.p50), `station ${s.station}: bias`).toBeLessThan(0.5 * s.actualMs.p50);
    }
  }, 400_000);
});
