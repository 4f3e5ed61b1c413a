import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOomScoreAdj, setOomScoreAdj } from '../../src/daemon/oom-score.js';

const dir = mkdtempSync(join(tmpdir(), 'zhuge-oom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--oom-score-adj', () => {
  it.each([
    ['-500', -500],
    ['0', 0],
    ['+1000', 1000],
    ['-1000', -1000],
    ['-1001', undefined],
    ['1001', undefined],
    ['-5.5', undefined],
    ['low', undefined],
    ['', undefined],
  ] as const)('parses %j as %j', (text, want) => {
    expect(parseOomScoreAdj(text)).toBe(want);
  });

  it('writes the value where the kernel reads it, and says why when it cannot', () => {
    const f = join(dir, 'oom_score_adj');
    expect(setOomScoreAdj(-500, f)).toBeUndefined();
    expect(readFileSync(f, 'utf8')).toBe('-500\n');
    expect(setOomScoreAdj(-500, join(dir, 'missing', 'oom_score_adj'))).toMatch(/ENOENT/);
  });

  it('writes /proc/self/oom_score_adj itself (the current value again: no privilege needed, nothing changed)', () => {
    const now = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    expect(setOomScoreAdj(now)).toBeUndefined();
    expect(Number(readFileSync('/proc/self/oom_score_adj', 'utf8'))).toBe(now);
  });
});
