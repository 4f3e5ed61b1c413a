import { describe, expect, it } from 'vitest';
import { QueueModel } from '../../src/fortune-teller/queue-model.js';

describe('QueueModel queue positions', () => {
  it('a FIFO position less the bytes removed since is the bytes still ahead, itself included', () => {
    const q = new QueueModel();
    const pos: number[] = [];
    for (const [k, size] of [[1, 100], [2, 200], [3, 300]] as const) {
      q.onArrival(k * 10, size, k);
      pos.push(q.position());
    }
    expect(pos).toEqual([100, 300, 600]);
    const matched: Array<[number, number]> = [];
    q.onMatchedDeparture = (key, t) => matched.push([key, t]);
    q.onDeparture(50, 100, 1);
    expect(matched).toEqual([[1, 50]]);
    expect((pos[1] ?? 0) - q.bytesRemoved()).toBe(200);
    expect((pos[2] ?? 0) - q.bytesRemoved()).toBe(500);
    // packet 2 passed over (dropped): it counts as removed, so packet 3 has only itself ahead
    q.onDeparture(60, 300, 3);
    expect((pos[2] ?? 0) - q.bytesRemoved()).toBe(0);
    expect(matched).toEqual([[1, 50], [3, 60]]);
  });

  it('under fq each flow has its own positions', () => {
    const q = new QueueModel({ discipline: 'fq' });
    q.onArrival(0, 100, 1, 7);
    q.onArrival(1, 500, 2, 9);
    q.onArrival(2, 100, 3, 7);
    expect(q.position(7)).toBe(200);
    expect(q.position(9)).toBe(500);
    q.onDeparture(5, 500, 2);
    expect(q.bytesRemoved(7)).toBe(0);
    expect(q.bytesRemoved(9)).toBe(500);
  });

  it('a resync that empties the queue removes every tracked byte', () => {
    const q = new QueueModel();
    q.onArrival(0, 1500, 1);
    q.onArrival(1, 1500, 2);
    q.onArrival(2, 1500, 3); // beyond the 3000-byte tolerance
    q.onBacklogSample(10, 0, 0);
    expect(q.position() - q.bytesRemoved()).toBe(0);
  });
});
