/**
 * Seeded pseudo-random numbers for the Feedback Updater. Core modules never call Math.random:
 * the daemon creates one generator (seeded from its config or from the start time) and passes
 * it in, and tests pass fixed seeds so every run is reproducible.
 */

/** A source of uniform numbers in [0, 1). */
export interface Rng {
  next(): number;
}

/** splitmix32 step, used only to spread a 32-bit seed over the xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * xoshiro128** (Blackman & Vigna): 128-bit state, period 2^128 - 1, fast in 32-bit integer
 * arithmetic, good equidistribution for the uniform draws the delta sampler needs. Not
 * cryptographic (it does not need to be).
 */
export class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const st = { s: seed >>> 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Convenience: a seeded generator. */
export function seededRng(seed: number): Rng {
  return new Xoshiro128(seed);
}
