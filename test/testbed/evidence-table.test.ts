import { describe, expect, it } from 'vitest';
import { evidenceTable, parseEvidenceCall, type EvidenceCall } from '../../testbed/webrtc/evidence-table.js';

const call = (pair: number, arm: string, late: number, held = true): EvidenceCall => ({ pair, arm, held, frameDelayAbove400msSeconds: late, fpsBelow10Seconds: 2 * late, frameDelayP99Ms: 100 * late, bitrateMbps: late / 10 });

describe('evidence-table', () => {
  it.each([
    { name: 'a steady call', dir: '1-departure-track', json: { steady: { held: true }, summary: { after: { frameDelayAbove400msSeconds: 3.4, fpsBelow10Seconds: 20, frameDelayP99Ms: 890, bitrateMbps: 0.26 } } }, want: { pair: 1, arm: 'departure-track', held: true, frameDelayAbove400msSeconds: 3.4 } },
    { name: 'a cold call (no steady field) counts as held', dir: '0-without', json: { summary: { after: { frameDelayAbove400msSeconds: 1, fpsBelow10Seconds: 0, frameDelayP99Ms: 1, bitrateMbps: 1 } } }, want: { pair: 0, arm: 'without', held: true } },
    { name: 'a call that never held its cap', dir: '2-without', json: { steady: { held: false }, summary: { after: { frameDelayAbove400msSeconds: 1 } } }, want: { held: false, fpsBelow10Seconds: Number.NaN } },
  ])('parses $name', ({ dir, json, want }) => {
    expect(parseEvidenceCall(dir, JSON.stringify(json))).toMatchObject(want);
  });

  it('is undefined for a directory not named <pair>-<arm> or without a summary', () => {
    expect(parseEvidenceCall('plots', '{}')).toBeUndefined();
    expect(parseEvidenceCall('0-without', '{}')).toBeUndefined();
  });

  it('one row per arm, without first: median (min-max) over held calls, the others counted', () => {
    const t = evidenceTable([call(0, 'departure', 3), call(0, 'without', 8), call(1, 'without', 6), call(1, 'departure', 5), call(2, 'without', 7), call(2, 'departure', 99, false)]);
    const rows = t.split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[2]).toBe('| without | 3 | 7.00 (6.00-8.00) | 14.00 (12.00-16.00) | 700 (600-800) | 0.70 (0.60-0.80) |');
    expect(rows[3]).toBe('| departure | 2 (+1 not steady) | 4.00 (3.00-5.00) | 8.00 (6.00-10.00) | 400 (300-500) | 0.40 (0.30-0.50) |');
  });
});
