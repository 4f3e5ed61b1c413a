import { describe, expect, it } from 'vitest';
import { FlowTable, type EvictCause } from '../../src/engine/flow-table.js';

describe('FlowTable', () => {
  it('evicts the least recently used flow when full', () => {
    const ev: Array<[string, EvictCause]> = [];
    const t = new FlowTable<string, number>({ maxFlows: 3, idleTimeoutUs: 1e9 }, (k, _v, c) => ev.push([k, c]));
    t.getOrCreate('a', 1, () => 1);
    t.getOrCreate('b', 2, () => 2);
    t.getOrCreate('c', 3, () => 3);
    t.get('a', 4); // a is now the most recent
    t.getOrCreate('d', 5, () => 4);
    expect(ev).toEqual([['b', 'capacity']]);
    expect([...t.entries()].map((e) => e[0])).toEqual(['c', 'a', 'd']);
    expect(t.evictedCapacity).toBe(1);
  });

  it('expires idle flows only, and keeps busy ones', () => {
    const t = new FlowTable<string, { busy: boolean }>({ maxFlows: 10, idleTimeoutUs: 1_000 });
    t.getOrCreate('idle', 0, () => ({ busy: false }));
    t.getOrCreate('busy', 0, () => ({ busy: true }));
    t.getOrCreate('fresh', 900, () => ({ busy: false }));
    expect(t.expire(1_500, (v) => !v.busy)).toBe(1);
    expect(t.peek('idle')).toBeUndefined();
    expect(t.peek('busy')).toBeDefined();
    expect(t.peek('fresh')).toBeDefined();
    expect(t.evictedIdle).toBe(1);
  });

  it('stays bounded under a scan of distinct keys', () => {
    const t = new FlowTable<number, number>({ maxFlows: 1000, idleTimeoutUs: 1e9 });
    for (let i = 0; i < 100_000; i++) t.getOrCreate(i, i, () => i);
    expect(t.size).toBe(1000);
    expect(t.evictedCapacity).toBe(99_000);
  });
});
