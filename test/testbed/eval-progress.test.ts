import { describe, expect, it } from 'vitest';
import { progressSink } from '../../testbed/eval/progress.js';

/** Feeds (tMs, line) updates; returns what was written. */
function feed(tty: boolean, updates: Array<[number, string]>, quiet = false): string {
  let out = '';
  let now = 0;
  const s = progressSink({ tty, quiet, write: (x) => (out += x), nowMs: () => now, plainEveryMs: 10_000 });
  for (const [t, l] of updates) {
    now = t;
    s.update(l);
  }
  s.log('done line');
  s.done();
  return out;
}

describe('progressSink', () => {
  it.each([
    {
      name: 'TTY: rewritten in place at most once a second, a log line ends it',
      tty: true,
      updates: [[0, 'run 1  t=0'], [400, 'run 1  t=0.4'], [1000, 'run 1  t=1'], [1500, 'run 1  t=1.5']] as Array<[number, string]>,
      lines: ['\rrun 1  t=0', '\rrun 1  t=1', '\ndone line\n'],
    },
    {
      name: 'TTY: a new phase prints at once',
      tty: true,
      updates: [[0, 'run 1  a'], [100, 'run 2  b']] as Array<[number, string]>,
      lines: ['\rrun 1  a', '\rrun 2  b', '\ndone line\n'],
    },
    {
      name: 'plain: one line per phase change or every 10 s',
      tty: false,
      updates: [[0, 'run 1  t=0'], [1000, 'run 1  t=1'], [10_000, 'run 1  t=10'], [10_500, 'run 2  t=0']] as Array<[number, string]>,
      lines: ['run 1  t=0\n', 'run 1  t=10\n', 'run 2  t=0\n', 'done line\n'],
    },
  ])('$name', ({ tty, updates, lines }) => {
    const out = feed(tty, updates);
    let rest = out;
    for (const l of lines) {
      const i = rest.indexOf(l);
      expect(i, `${JSON.stringify(l)} in ${JSON.stringify(out)}`).toBeGreaterThanOrEqual(0);
      rest = rest.slice(i + l.length);
    }
    if (tty) expect(out).not.toContain('t=0.4');
    else expect(out).not.toContain('t=1\n');
  });
  it('quiet prints nothing', () => {
    expect(feed(true, [[0, 'x']], true)).toBe('');
  });
});
