/**
 * A bounded flow table: least-recently-used order, idle timeout, maximum size.
 *
 * A JS Map iterates in insertion order; touching a flow deletes and re-inserts it, so the first
 * entries are always the least recently used. Idle expiry walks from the front and stops at the
 * first live entry (O(expired)); a full table evicts from the front (O(1)). Memory is therefore
 * bounded by `maxFlows` whatever the traffic (a scan of random 5-tuples cannot grow it).
 */
export interface FlowTableOptions {
  maxFlows: number;
  idleTimeoutUs: number;
}

export type EvictCause = 'idle' | 'capacity';

interface Entry<V> {
  value: V;
  lastSeenUs: number;
}

export class FlowTable<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  evictedIdle = 0;
  evictedCapacity = 0;

  constructor(
    private opts: FlowTableOptions,
    private readonly onEvict?: (key: K, value: V, cause: EvictCause) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  reconfigure(opts: FlowTableOptions): void {
    this.opts = opts;
    while (this.map.size > opts.maxFlows) this.evictOldest('capacity');
  }

  /** Looks a flow up without creating it; refreshes its LRU position. */
  get(key: K, nowUs: number): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    e.lastSeenUs = nowUs;
    return e.value;
  }

  /** Looks a flow up without touching it. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Returns the flow, creating it (and evicting the LRU one if full) when absent. */
  getOrCreate(key: K, nowUs: number, create: () => V): V {
    const v = this.get(key, nowUs);
    if (v !== undefined) return v;
    if (this.map.size >= this.opts.maxFlows) this.evictOldest('capacity');
    const value = create();
    this.map.set(key, { value, lastSeenUs: nowUs });
    return value;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Evicts flows idle for longer than the timeout. Returns how many. */
  expire(nowUs: number, canEvict: (v: V) => boolean = () => true): number {
    let n = 0;
    for (const [key, e] of this.map) {
      if (nowUs - e.lastSeenUs < this.opts.idleTimeoutUs) break;
      if (!canEvict(e.value)) {
        // still busy (held packets): keep it, refresh so the walk can go on next time
        this.map.delete(key);
        this.map.set(key, e);
        e.lastSeenUs = nowUs;
        continue;
      }
      this.map.delete(key);
      this.evictedIdle++;
      n++;
      this.onEvict?.(key, e.value, 'idle');
    }
    return n;
  }

  *entries(): IterableIterator<[K, V, number]> {
    for (const [k, e] of this.map) yield [k, e.value, e.lastSeenUs];
  }

  private evictOldest(cause: EvictCause): void {
    const first = this.map.entries().next();
    if (first.done === true) return;
    const [key, e] = first.value;
    this.map.delete(key);
    if (cause === 'capacity') this.evictedCapacity++;
    else this.evictedIdle++;
    this.onEvict?.(key, e.value, cause);
  }
}
