/**
 * The engine-level fuzzer (bench/engine-fuzz-run.ts) for a bounded share in CI: random, cut and
 * mutated frames of every class in both directions, time stepping back now and then, in each
 * uplink mode. Nothing may throw or count as an internal error; verdicts, rewritten packets and
 * every packet handed out must be well formed. `npm run bench` runs 10 million packets.
 */
import { describe, expect, it } from 'vitest';
import { runEngineFuzz } from '../../bench/engine-fuzz-run.js';

describe('engine fuzz (fixed seeds)', () => {
  it.each([
    ['increments', 11],
    ['drain', 12],
    ['window', 13],
    ['stations', 14],
  ] as const)('%s: 60k packets, seed %i: no exception, no internal error, well-formed output', (mode, seed) => {
    const r = runEngineFuzz({ packets: 60_000, seed, mode });
    expect(r.problems).toEqual([]);
    expect(r.thrown).toBe(0);
    expect(r.internalErrors).toBe(0);
    // the generator reached every part: all three directions, malformed input counted, flows,
    // RTP transports and output
    expect(Math.min(r.byDirection.arrival, r.byDirection.departure, r.byDirection.uplink)).toBeGreaterThan(10_000);
    expect(Object.values(r.malformed).reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
    expect(r.flowsCreated).toBeGreaterThan(10);
    expect(r.rtpTransports).toBeGreaterThan(1);
    expect(r.verdicts['accept'] ?? 0).toBeGreaterThan(1000);
    // uplink claiming a client address from another station's MAC (the clients' MACs are learnt
    // from the downlink frames in the stations mode only)
    if (mode === 'stations') expect(r.foreignMac).toBeGreaterThan(100);
    // per-station queues: addresses learnt behind stations, packets modelled at their queues
    if (mode === 'stations') {
      expect(r.stationAddresses).toBeGreaterThan(10);
      expect(r.stationPackets).toBeGreaterThan(1000);
    }
  }, 60_000);
});
