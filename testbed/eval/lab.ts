/**
 * The lifecycle every eval experiment shares (the same as `zhuge demo`'s): build a testbed with
 * a unique prefix, start the base-RTT relay in wan, run the body, and always stop the relay and
 * tear the testbed down — also on SIGINT / SIGTERM (exit 130 after the cleanup).
 */
import { startRelay, type RelayHandle } from '../relay.js';
import { randomPrefix, up, type Testbed, type TestbedOptions } from '../topology.js';

export interface LabOptions extends TestbedOptions {
  /** one-way base delay of the relay in each direction, ms (0 = no relay) */
  baseDelayMsEachWay: number;
}

/** A prefix of this harness: `ze` + 4 random base-36 characters (unique among live testbeds). */
export function evalPrefix(): string {
  return `ze${randomPrefix().slice(2)}`;
}

export async function withLab<T>(o: LabOptions, body: (tb: Testbed) => Promise<T>): Promise<T> {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;
  const cleanup = async (): Promise<void> => {
    await relay?.stop().catch(() => undefined);
    relay = undefined;
    await tb?.down().catch(() => undefined);
    tb = undefined;
  };
  const onSignal = (): void => {
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { baseDelayMsEachWay, ...tbo } = o;
    tb = await up({ prefix: evalPrefix(), ...tbo });
    if (baseDelayMsEachWay > 0) relay = await startRelay(tb, { downMs: baseDelayMsEachWay });
    return await body(tb);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
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
