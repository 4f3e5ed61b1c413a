import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OUTAGE_RATE_BPS, dropProfile, parseProfile, parseTrace, truncate } from '../../testbed/trace.js';

const TRACES = fileURLToPath(new URL('../../../shared/traces/zhuge-paper/', import.meta.url));

describe('parseTrace', () => {
  it('parses a small trace, rebases time, maps outages to the tiny rate', () => {
    const s = parseTrace('0.2 30.5\n0.4 0\n\n# c\n0.6 1.25\n');
    expect(s.steps).toEqual([
      { atMs: 0, rateBps: 30_500_000 },
      { atMs: 200, rateBps: OUTAGE_RATE_BPS },
      { atMs: 400, rateBps: 1_250_000 },
    ]);
    expect(s.durationMs).toBe(600);
  });
  it.each(['', '0.2', '0.2 x', '0.4 1\n0.2 1', '0.2 -1'])('rejects %j', (t) => {
    expect(() => parseTrace(t)).toThrow();
  });
  it('reads every shared trace: ~200 ms steps, ~300 s, positive rates', () => {
    const files = readdirSync(TRACES).filter((f) => f.endsWith('.pitree-trace'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const s = parseTrace(readFileSync(TRACES + f, 'utf8'));
      expect(s.steps.length).toBeGreaterThan(100);
      expect(s.durationMs).toBeGreaterThan(60_000);
      const gaps = s.steps.slice(1).map((x, i) => x.atMs - (s.steps[i]?.atMs ?? 0));
      gaps.sort((a, b) => a - b);
      expect(gaps[gaps.length >> 1]).toBeGreaterThan(150);
      expect(gaps[gaps.length >> 1]).toBeLessThan(260);
      expect(s.steps.every((x) => x.rateBps >= OUTAGE_RATE_BPS)).toBe(true);
    }
  });
});

describe('profiles', () => {
  it('drop:30:10:15:30 = 30 Mbit/s then 3 Mbit/s at 15 s', () => {
    expect(parseProfile('drop:30:10:15:30')).toEqual({
      steps: [
        { atMs: 0, rateBps: 30e6 },
        { atMs: 15_000, rateBps: 3e6 },
      ],
      durationMs: 30_000,
    });
    expect(dropProfile(30e6, 50, 1000, 2000).steps[1]?.rateBps).toBe(600_000);
  });
  it('steady and errors', () => {
    expect(parseProfile('steady:20:5')).toEqual({ steps: [{ atMs: 0, rateBps: 20e6 }], durationMs: 5000 });
    for (const bad of ['drop:30', 'steady', 'ramp:1:2', 'drop:a:1:2', 'drop:30:0:1:2']) expect(() => parseProfile(bad)).toThrow();
  });
  it('truncate keeps steps before the cut', () => {
    const s = truncate(parseTrace('0 1\n1 2\n2 3\n3 4\n'), 2000);
    expect(s.steps.map((x) => x.rateBps)).toEqual([1e6, 2e6]);
    expect(s.durationMs).toBe(2000);
  });
});
