import type { GccPacket } from '../../../testbed/gcc/replay-gcc.js';

/** n packets sent every spacingMs, each arriving delayMs(i) after it was sent. */
export function paced(n: number, spacingMs: number, delayMs: (i: number) => number, sizeBytes = 1200): GccPacket[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: i,
    sendTimeMs: i * spacingMs,
    sizeBytes,
    arrivalTimeMs: i * spacingMs + delayMs(i),
  }));
}

/** A constant-rate stream: packets of sizeBytes at rateBps from startMs for durationMs (seq from seq0). */
export function cbr(rateBps: number, sizeBytes: number, startMs: number, durationMs: number, seq0 = 0): GccPacket[] {
  const gapMs = (sizeBytes * 8 * 1000) / rateBps;
  const n = Math.round(durationMs / gapMs);
  return Array.from({ length: n }, (_, i) => {
    const t = startMs + i * gapMs;
    return { seq: seq0 + i, sendTimeMs: t, sizeBytes, arrivalTimeMs: t + 20 };
  });
}

/** Small deterministic PRNG (LCG) in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
