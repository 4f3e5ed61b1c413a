import { describe, expect, it } from 'vitest';
import { TrialGuard } from '../../testbed/eval/lab.js';

/** A trial that fails `fails` times before it succeeds with `value`. */
function flaky(fails: number, value: number): () => Promise<number> {
  let n = 0;
  return () => (n++ < fails ? Promise.reject(new Error(`boom ${n}\nstack`)) : Promise.resolve(value));
}

describe('TrialGuard', () => {
  it.each([
    { name: 'succeeds at once', fails: 0, want: 7, failures: 0 },
    { name: 'retried once', fails: 1, want: 7, failures: 1 },
    { name: 'failed twice: left out', fails: 2, want: undefined, failures: 2 },
  ])('$name', async ({ fails, want, failures }) => {
    const logs: string[] = [];
    const g = new TrialGuard((l) => logs.push(l));
    expect(await g.run('t', flaky(fails, 7))).toBe(want);
    expect(g.failures).toHaveLength(failures);
    expect(logs).toHaveLength(failures);
    if (failures > 0) {
      expect(g.failures[0]).toBe('t: attempt 1 failed: boom 1');
      expect(g.notes()[0]).toContain(`${failures} trial attempt(s) failed`);
    } else expect(g.notes()).toEqual([]);
  });
  it('gives up after maxConsecutive trials failed twice; a success resets the count', async () => {
    const g = new TrialGuard(() => undefined, 2);
    expect(await g.run('a', flaky(2, 1))).toBeUndefined();
    expect(await g.run('b', flaky(0, 1))).toBe(1);
    expect(await g.run('c', flaky(2, 1))).toBeUndefined();
    await expect(g.run('d', flaky(2, 1))).rejects.toThrow(/2 trials in a row failed twice/);
  });
});
