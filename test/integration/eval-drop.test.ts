/**
 * Integration (root + netns + Chromium): `zhuge eval drop --quick` as a child process, the way an
 * operator runs it. The quick preset is a Chromium WebRTC call (GCC, plaintext) capped at 1.5
 * Mbit/s until it holds that rate, then a 3 -> 0.3 Mbit/s drop, 50 ms base RTT, two interleaved
 * (without, with zhuge) pairs (~3-4 min). Checks every output exists (report.md, JSON, CSV, SVG
 * plots) and the direction of the effect that held in every pair measured from a steady state
 * (docs/results/rtc-evidence.md, the RTC CI test): GCC's estimate falls below the new capacity
 * sooner with zhuge (253-840 ms against 1022-1267 ms per pair; asserted summed, at most 0.75x).
 * The p99 frame delay is printed, not asserted: from a steady state it was lower in most pairs,
 * not all, and the quick preset used to drop during the ramp-up, where it was a coin flip (it
 * failed CI once: 1834/2029 ms with zhuge against 2008/930 without). For TCP bbr/cubic zhuge showed
 * no benefit (docs/results/tcp-drop.md), so no TCP direction is asserted anywhere.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_JS, daemonUnavailable, ensureBuilt, runProcess } from './_helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const why = daemonUnavailable() ?? (existsSync(CHROMIUM) ? undefined : `no ${CHROMIUM}`);

interface Summary {
  scenario: Record<string, unknown>;
  runs: Array<{ zhuge: boolean; k: number; sender: string; rep: number; metrics: Record<string, number | null> }>;
  resultsDir: string;
}

describe.skipIf(why !== undefined)(`zhuge eval drop --quick (root, netns, Chromium${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-eval-drop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the report, JSON, CSV and plots; GCC falls below the new capacity sooner with zhuge', async () => {
    await ensureBuilt();
    const out = join(dir, 'out');
    const r = await runProcess(process.execPath, [CLI_JS, 'eval', 'drop', '--quick', '--json', '--out', out], 540_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.resultsDir).toBe(out);
    expect(s.scenario).toMatchObject({ experiment: 'drop', sender: 'gcc', rateMbps: 3, ks: [10], steadyCapMbps: 1.5 });
    // interleaved: without, with, without, with
    expect(s.runs.map((x) => x.zhuge)).toEqual([false, true, false, true]);
    expect(s.runs.every((x) => x.k === 10 && x.sender === 'gcc')).toBe(true);
    for (const f of ['report.md', 'results.json', 'summary.json', 'runs.csv', 'summary.csv', 'machine.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const svgs = readdirSync(join(out, 'plots')).filter((f) => f.endsWith('.svg'));
    expect(svgs).toContain('drop-framedelayp99ms.svg');
    expect(readFileSync(join(out, 'plots', 'drop-framedelayp99ms.svg'), 'utf8').startsWith('<svg')).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('zhuge eval drop --sender gcc --steady-cap-mbit 1.5 --rate-mbit 3 --k 10');
    expect(md).toContain('### frame delay p99 after the drop (ms)');
    expect(readFileSync(join(out, 'runs.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    // the calls ran: frames before and after the drop, zhuge capped the sender (flows.rtp.signal remb, the default)
    for (const x of s.runs) {
      expect(x.metrics['bitrateBeforeDropMbps'] ?? 0).toBeGreaterThan(0.2);
      expect(x.metrics['frameDelayP99Ms'] ?? 0).toBeGreaterThan(0);
      if (x.zhuge) expect(x.metrics['zhugeRembSent'] ?? 0).toBeGreaterThan(0);
    }
    const col = (z: boolean, k: string): number[] => s.runs.filter((x) => x.zhuge === z).map((x) => x.metrics[k] ?? Number.NaN);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    console.log(
      `eval drop --quick: GCC below capacity after ${col(false, 'gccBelowCapacityAfterMs').join(', ')} ms without, ${col(true, 'gccBelowCapacityAfterMs').join(', ')} ms with zhuge; ` +
        `p99 frame delay ${col(false, 'frameDelayP99Ms').join(', ')} vs ${col(true, 'frameDelayP99Ms').join(', ')} ms`,
    );
    expect(sum(col(true, 'gccBelowCapacityAfterMs'))).toBeLessThanOrEqual(0.75 * sum(col(false, 'gccBelowCapacityAfterMs')));
  }, 600_000);
});
