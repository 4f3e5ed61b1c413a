/**
 * The issue's mixed scenario on an AP that serves its flows from per-flow fair queues (as fq_codel,
 * cake and mac80211's per-station TXQs do; emulated with one htb class per flow, Testbed.perFlowQueues):
 * a zhuge-treated greedy cubic TCP download, an untreated cubic bulk download on 3 s / off 3 s (the
 * paper's "scp" competition) and a QUIC download (ngtcp2 bbr) for the whole trial. 20 Mbit/s,
 * 100 ms bfifo per flow, 40 ms base RTT. There the bulk flow has its own queue: its start halves
 * the treated flow's share, a bandwidth drop for the treated flow, and the daemon (mode window,
 * queue.discipline fq) clamps the treated flow's window to its max-min fair share.
 *
 * Asserted, from repeated runs (docs/results/mixed.md, "Per-flow queues"): the treated flow's
 * tail RTT improves by a measured margin, the untreated bulk flow's rate drops by less than a
 * measured bound, the daemon clamped the treated flow and never tracked the bulk flow.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIXED_FQ_SCENARIO, bulkCports, perFlowGroups, runMixedTrial, sideBySide, type MixedTrial } from '../../testbed/mixed-experiment.js';
import { startRelay, type RelayHandle } from '../../testbed/relay.js';
import { bufferBytesFor, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { median } from '../../testbed/traffic.js';
import { daemonUnavailable, ensureBuilt } from './_helpers.js';

const unavailable = daemonUnavailable() ?? (existsSync('/usr/sbin/gtlsserver') ? undefined : 'needs ngtcp2-server and ngtcp2-client (scripts/setup.sh)');
const PAIRS = 2;
/**
 * Bounds from 3 measured pairs (docs/results/mixed.md, "Per-flow queues"): the treated flow's
 * per-ACK RTT p95 was 0.39-0.41x of without (127-130 vs 319-327 ms; 0.38-0.57x over the 14 pairs
 * measured since, four clean-clone CI runs among them, all but one at or below 0.44x); with the clamp's share
 * computed as on a FIFO (the treated flows only) it was 0.91x, so 0.7 tells the fair share's
 * effect from that. The untreated bulk flow's rate while on and the treated flow's rate were
 * 1.00x in every pair; the bounds are the 10 % the FIFO mixes allow.
 */
const TAIL_RATIO = 0.7;
const RATE_DROP = 0.1;

describe.skipIf(unavailable !== undefined)(`mixed traffic on per-flow fair queues: treated TCP + untreated on/off bulk TCP + QUIC, without and with zhuge (needs root, netns, the NFQUEUE addon and ngtcp2${unavailable === undefined ? '' : `: ${unavailable}`})`, () => {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;
  const sc = MIXED_FQ_SCENARIO;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: randomPrefix(), rateBps: sc.rateMbps * 1e6, bufferMs: 100 });
    await tb.perFlowQueues(perFlowGroups(sc), bufferBytesFor(sc.rateMbps * 1e6, 100));
    relay = await startRelay(tb, { downMs: 20 });
  }, 180_000);

  afterAll(async () => {
    await relay?.stop().catch(() => undefined);
    await tb?.down();
  });

  it(`greedy cubic treated (window clamp, fair share) + untreated cubic bulk on/off + QUIC, ${PAIRS} interleaved pairs`, async () => {
    if (tb === undefined) throw new Error('no testbed');
    const pairs: Array<[MixedTrial, MixedTrial]> = [];
    for (let i = 0; i < PAIRS; i++) pairs.push([await runMixedTrial(tb, sc, false), await runMixedTrial(tb, sc, true)]);
    console.log(sideBySide('\nper-flow queues: treated cubic + bulk on/off + QUIC (20 Mbit/s, 100 ms per flow, 40 ms base RTT)', pairs.flatMap(([a, b], i) => [
      { label: `without#${i + 1}`, metrics: a.metrics },
      { label: `with#${i + 1}`, metrics: b.metrics },
    ])));
    for (const [, b] of pairs) console.log(`zhuge flows: ${(b.metrics.zhugeFlows ?? []).join('; ')}`);
    const out = process.env['ZHUGE_MIXED_OUT'];
    if (out !== undefined && out !== '') for (const [a, b] of pairs) appendFileSync(out, `${JSON.stringify({ kind: 'mix-fq', without: a.metrics, with: b.metrics })}\n`);
    const ratio = (f: (t: MixedTrial) => number): number[] => pairs.map(([a, b]) => f(b) / f(a));
    console.log(`treated p95 with/without: ${ratio((t) => t.metrics.treatedAckRttP95Ms).map((x) => x.toFixed(2)).join(', ')}; bulk on: ${ratio((t) => t.metrics.bulkOnMbps).map((x) => x.toFixed(2)).join(', ')}; treated rate: ${ratio((t) => t.metrics.treatedMbps).map((x) => x.toFixed(2)).join(', ')}`);
    for (const [a, b] of pairs) {
      const x = a.metrics;
      const y = b.metrics;
      // the daemon clamped the treated flow's ACKs and never tracked the bulk flow
      const flows = y.zhugeFlows ?? [];
      const treated = flows.find((f) => f.startsWith('tcp') && f.includes(`:${sc.treated.cport}>`));
      expect(treated).toBeDefined();
      expect(Number(/clamped=(\d+)/.exec(treated ?? '')?.[1] ?? 0)).toBeGreaterThan(100);
      expect(flows.filter((f) => bulkCports(sc).some((p) => f.includes(`:${p}>`)))).toEqual([]);
      // every bulk period ran in both arms
      expect(x.bulkPeriodsMbps.length).toBe(3);
      expect(y.bulkPeriodsMbps.length).toBe(3);
      // (a) the treated flow's tail RTT improves
      expect(y.treatedAckRttP95Ms).toBeLessThan(TAIL_RATIO * x.treatedAckRttP95Ms);
      // (b) the untreated bulk flow's rate while on, and the treated flow's rate, hold
      expect(y.bulkOnMbps).toBeGreaterThan((1 - RATE_DROP) * x.bulkOnMbps);
      expect(y.treatedMbps).toBeGreaterThan((1 - RATE_DROP) * x.treatedMbps);
    }
    expect(median(ratio((t) => t.metrics.treatedAckRttP95Ms))).toBeLessThan(TAIL_RATIO);
  }, 300_000);
});
