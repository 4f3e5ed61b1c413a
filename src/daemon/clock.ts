/**
 * The daemon's one internal clock: monotonic microseconds (performance.now based), immune to
 * wall-clock steps. Capture (pcap) and NFQUEUE timestamps are wall-clock; they are converted at
 * the edge with an offset that is calibrated on a Date.now() millisecond edge (µs-precise) and
 * re-checked periodically, so an NTP step moves the offset, never the predictions.
 */
import { performance } from 'node:perf_hooks';

export function monoNowUs(): number {
  return performance.now() * 1000;
}

export class WallToMono {
  /** wallUs - monoUs */
  private offsetUs = 0;
  private lastCheckMonoUs = -Infinity;
  steps = 0;

  constructor(
    private readonly recheckIntervalUs = 1_000_000,
    private readonly stepThresholdUs = 2_000,
  ) {
    this.calibrate();
  }

  /** Finds the wall/mono offset at a Date.now() millisecond edge (busy-waits at most ~1 ms, cold path). */
  calibrate(): void {
    const start = Date.now();
    let mono = monoNowUs();
    let wall = Date.now();
    const deadline = mono + 2_000;
    while (wall === start && mono < deadline) {
      mono = monoNowUs();
      wall = Date.now();
    }
    this.offsetUs = wall * 1000 - mono;
    this.lastCheckMonoUs = mono;
  }

  /** Re-checks the offset against the wall clock (ms precision); recalibrates on a step. */
  maybeRecheck(nowMonoUs: number = monoNowUs()): void {
    if (nowMonoUs - this.lastCheckMonoUs < this.recheckIntervalUs) return;
    this.lastCheckMonoUs = nowMonoUs;
    const wallUs = Date.now() * 1000;
    const drift = wallUs - (nowMonoUs + this.offsetUs);
    // Date.now() truncates to the ms: a drift in [-1000, 0] µs is resolution, not a step
    if (drift > this.stepThresholdUs || drift < -1000 - this.stepThresholdUs) {
      this.steps++;
      this.calibrate();
    }
  }

  toMono(wallUs: number): number {
    return wallUs - this.offsetUs;
  }

  toWall(monoUs: number): number {
    return monoUs + this.offsetUs;
  }
}
