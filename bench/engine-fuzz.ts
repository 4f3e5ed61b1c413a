/**
 * The engine-level fuzzer (bench/engine-fuzz-run.ts) at scale: by default 10 million packets,
 * split over the three uplink modes (increments, drain, window) and the window clamp over
 * per-station queues (stations: queue.backend mac80211, TXQ readings interleaved), fixed seed. Prints, per mode,
 * packets/s, what was generated (intact, cut, mutated, random bytes; by direction), what the
 * engine counted as malformed (by reason), verdicts, feedback and repairs handed out, and the
 * problems found: exceptions out of the engine, internal errors, bad verdicts, rewritten or
 * emitted packets that do not decode or carry bad checksums. Exit status 1 when any was found.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/engine-fuzz.js [packets=10000000] [seed=1]
 */
import { performance } from 'node:perf_hooks';
import { runEngineFuzz, type FuzzOptions } from './engine-fuzz-run.js';

const total = Number(process.argv[2] ?? 10_000_000);
const seed = Number(process.argv[3] ?? 1);
const modes: Array<FuzzOptions['mode']> = ['increments', 'drain', 'window', 'stations'];
let failed = false;
console.log(`engine fuzz: ${total} packets over ${modes.length} modes, seed ${seed}`);
for (const [k, mode] of modes.entries()) {
  const packets = Math.floor(total / modes.length);
  const t0 = performance.now();
  const r = runEngineFuzz({ packets, seed: seed + k, mode });
  const s = (performance.now() - t0) / 1000;
  const problems = r.thrown + r.internalErrors + r.badRewrites + r.badEmitted + r.problems.length;
  if (problems > 0) failed = true;
  console.log(
    `\n${mode}: ${r.packets} packets in ${s.toFixed(1)} s (${(r.packets / s / 1e3).toFixed(0)}k/s); ` +
      `arrivals ${r.byDirection.arrival}, departures ${r.byDirection.departure}, uplink ${r.byDirection.uplink}; ` +
      `intact ${r.intact}, cut ${r.truncated}, mutated ${r.mutated}, random ${r.garbage}; time stepped back ${r.steppedBack} times`,
  );
  console.log(`  malformed (counted by the engine): ${JSON.stringify(r.malformed)}`);
  console.log(`  verdicts: ${JSON.stringify(r.verdicts)}; flows created ${r.flowsCreated}, RTP transports ${r.rtpTransports}; packets handed out ${r.emitted}; uplink from a foreign MAC ${r.foreignMac}`);
  if (mode === 'stations') console.log(`  per-station queues: ${r.stationAddresses} addresses learnt behind stations, ${r.stationPackets} packets modelled at a station's queue`);
  console.log(`  exceptions ${r.thrown}, internal errors ${r.internalErrors}, bad rewrites ${r.badRewrites}, bad emitted ${r.badEmitted}`);
  for (const p of r.problems) console.log(`  PROBLEM ${p}`);
}
console.log(`\nRSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
process.exit(failed ? 1 : 0);
