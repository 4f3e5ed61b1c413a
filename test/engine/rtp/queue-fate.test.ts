import { describe, expect, it } from 'vitest';
import { FATE_ACCEPTED, FATE_PENDING, FATE_UNCERTAIN, QueueFate } from '../../../src/engine/rtp/queue-fate.js';

const MS = 1000;

describe('QueueFate', () => {
  it('without any reading every arrival counts as accepted (no drop counter: the old behaviour)', () => {
    expect(new QueueFate().fate(5 * MS)).toBe(FATE_ACCEPTED);
  });

  it.each([
    // [arrival (ms), fate] after readings at 10 (no drop), 20 (2 drops since 10), 30 (no drop)
    [5, FATE_ACCEPTED],
    [10, FATE_ACCEPTED], // at the reading itself: counted by it
    [10.001, FATE_UNCERTAIN],
    [15, FATE_UNCERTAIN],
    [20, FATE_UNCERTAIN],
    [25, FATE_ACCEPTED],
    [30, FATE_ACCEPTED],
    [31, FATE_PENDING], // no reading since: wait
  ])('an arrival at %d ms is %d', (arrivalMs, fate) => {
    const q = new QueueFate();
    q.onReading(0, 10 * MS, 0);
    q.onReading(10 * MS, 20 * MS, 2);
    q.onReading(20 * MS, 30 * MS, 0);
    expect(q.fate(arrivalMs * MS)).toBe(fate);
  });

  it('remembers the last 32 intervals with drops', () => {
    const q = new QueueFate();
    for (let k = 0; k < 40; k++) q.onReading(k * 10 * MS, (k + 1) * 10 * MS, 1);
    expect(q.fate(5 * MS)).toBe(FATE_ACCEPTED); // forgotten: by then long reported
    expect(q.fate(395 * MS)).toBe(FATE_UNCERTAIN);
  });
});
