import { describe, expect, it } from 'vitest';
import { QueueModel, defaultQueueModelConfig } from '../../src/fortune-teller/index.js';

describe('QueueModel retire hook', () => {
  it('reports the keys of packets passed over by a later departure (drops), oldest first, once', () => {
    const q = new QueueModel(defaultQueueModelConfig);
    const retired: number[] = [];
    q.onRetire = (k) => retired.push(k);
    for (const k of [11, 12, 13, 14]) q.onArrival(k, 1000, k);
    expect(q.onDeparture(100, 1000, 11)).toBe(11);
    expect(retired).toEqual([]);
    expect(q.onDeparture(200, 1000, 14)).toBe(14); // 12 and 13 never left: dropped
    expect(retired).toEqual([12, 13]);
    expect(q.counters.retiredAsDrop).toBe(2);
  });
});
