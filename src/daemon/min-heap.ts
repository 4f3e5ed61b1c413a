/** A binary min-heap of held items by (release time, insertion sequence): equal times keep arrival order. */
export interface Held<T> {
  releaseUs: number;
  seq: number;
  item: T;
}

export class MinHeap<T> {
  private readonly a: Held<T>[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Held<T> | undefined {
    return this.a[0];
  }
  push(h: Held<T>): void {
    const a = this.a;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pi = a[p] as Held<T>;
      if (!less(h, pi)) break;
      a[i] = pi;
      i = p;
    }
    a[i] = h;
  }
  pop(): Held<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && less(a[r] as Held<T>, a[l] as Held<T>)) c = r;
      const ac = a[c] as Held<T>;
      if (!less(ac, last)) break;
      a[i] = ac;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function less<T>(x: Held<T>, y: Held<T>): boolean {
  return x.releaseUs < y.releaseUs || (x.releaseUs === y.releaseUs && x.seq < y.seq);
}
