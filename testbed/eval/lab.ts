/**
 * The eval's share of the lab lifecycle (testbed/lab.ts, the same as `zhuge demo`'s) on testbeds
 * with its own prefix, and the trial guard.
 */
import { withLab, type LabOptions } from '../lab.js';
import { randomPrefix, type Testbed } from '../topology.js';

/** A prefix of this harness: `ze` + 4 random base-36 characters (unique among live testbeds). */
export function evalPrefix(): string {
  return `ze${randomPrefix().slice(2)}`;
}

/** withLab (testbed/lab.ts) on a testbed with this harness's prefix. */
export function withEvalLab<T>(o: LabOptions, body: (tb: Testbed) => Promise<T>): Promise<T> {
  return withLab({ prefix: evalPrefix(), ...o }, body);
}

/**
 * Runs one trial; on failure logs it, records it in `failures` and tries once more. Returns
 * undefined when both attempts failed (the run goes on without that trial); throws when
 * `maxConsecutive` trials in a row failed (something is broken for good: no point going on).
 */
export class TrialGuard {
  readonly failures: string[] = [];
  private consecutive = 0;
  constructor(
    private readonly log: (line: string) => void,
    private readonly maxConsecutive = 3,
  ) {}

  async run<T>(tag: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const r = await fn();
        this.consecutive = 0;
        return r;
      } catch (e) {
        const msg = `${tag}: attempt ${attempt} failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 300) ?? ''}`;
        this.log(msg);
        this.failures.push(msg);
      }
    }
    if (++this.consecutive >= this.maxConsecutive) throw new Error(`${this.maxConsecutive} trials in a row failed twice; giving up (last: ${this.failures.at(-1) ?? ''})`);
    return undefined;
  }

  notes(): string[] {
    return this.failures.length > 0 ? [`${this.failures.length} trial attempt(s) failed and were retried or left out:`, ...this.failures] : [];
  }
}
