/**
 * The paper's competition case with a WebRTC call, on an AP with per-flow fair queues
 * (RTC_COMPETITION_SCENARIO, testbed/rtc-experiment.ts): builds its own testbed, runs N
 * interleaved pairs (without, with zhuge) and prints one JSON line per trial (the flat RTC
 * metrics and the competing downloads' rates). Exploratory: docs/results/mixed.md, "Per-flow
 * queues"; not a CI test.
 *
 * Command line (root, compiled): `node dist/testbed/webrtc/competition.js [--pairs N]`
 */
import { pathToFileURL } from 'node:url';
import { RTC_COMPETITION_SCENARIO as sc, rtcCompetitionGroups, runRtcCompetition } from '../rtc-experiment.js';
import { withLab } from '../lab.js';
import { bufferBytesFor } from '../topology.js';

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--pairs');
  const pairs = i >= 0 ? Number(argv[i + 1]) : 1;
  if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs needs a positive integer');
  await withLab({ rateBps: sc.rateBps, bufferMs: 100, baseDelayMsEachWay: sc.baseDelayMsEachWay }, async (tb) => {
    await tb.perFlowQueues(rtcCompetitionGroups(sc), bufferBytesFor(sc.rateBps, 100));
    for (let p = 0; p < pairs; p++) {
      for (const withZhuge of [false, true]) {
        const r = await runRtcCompetition(tb, sc, withZhuge, (s) => process.stderr.write(`${s}\n`));
        process.stdout.write(`${JSON.stringify({ zhuge: withZhuge, ...r.metrics, bulkMbps: r.bulkMbps })}\n`);
      }
    }
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`rtc competition: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
