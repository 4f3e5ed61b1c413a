/**
 * The Fortune Teller on per-flow fair queues (discipline 'fq'): per-flow FIFO matching in the
 * queue model, each flow's prediction from its own bytes at its round-robin share, and the
 * accuracy on a simulated deficit-round-robin queue against the FIFO model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FortuneTeller, QueueModel, defaultFortuneTellerConfig, validateFortuneTellerConfig } from '../../src/fortune-teller/index.js';

const A = 0x1001;
const B = 0x2002;

describe('QueueModel, discipline fq: a FIFO per flow', () => {
  it('a departure overtaking another flow\'s older packets leaves them queued', () => {
    for (const discipline of ['fifo', 'fq'] as const) {
      const q = new QueueModel({ discipline });
      q.onArrival(10, 1000, 1, A);
      q.onArrival(20, 1000, 2, B);
      q.onArrival(30, 1000, 3, A);
      // round robin: A's second packet leaves before B's first
      expect(q.onDeparture(100, 1000, 1)).toBe(10);
      expect(q.onDeparture(200, 1000, 3)).toBe(30);
      if (discipline === 'fifo') {
        // one FIFO: B's packet must have been lost
        expect(q.counters.retiredAsDrop).toBe(1);
        expect(q.bytesInQueue).toBe(0);
      } else {
        expect(q.counters.retiredAsDrop).toBe(0);
        expect(q.bytesInQueue).toBe(1000);
        expect(q.flowBytes(B)).toBe(1000);
        expect(q.flowBytes(A)).toBe(0);
        expect(q.busyFlows).toBe(1);
        expect(q.onDeparture(300, 1000, 2)).toBe(20);
        expect(q.packetsInQueue).toBe(0);
        expect(q.busyFlows).toBe(0);
      }
    }
  });

  it('retires the flow\'s own older packets as drops, and only those', () => {
    const q = new QueueModel({ discipline: 'fq' });
    q.onArrival(10, 500, 1, A);
    q.onArrival(20, 700, 2, B);
    q.onArrival(30, 500, 3, A);
    q.onDeparture(100, 500, 3); // A's first never left: dropped
    expect(q.counters.retiredAsDrop).toBe(1);
    expect(q.flowBytes(A)).toBe(0);
    expect(q.flowBytes(B)).toBe(700);
    expect(q.bytesInQueue).toBe(700);
  });

  it('explicit drops and a backlog resync keep the per-flow totals', () => {
    const q = new QueueModel({ discipline: 'fq', resyncToleranceBytes: 100 });
    for (let i = 0; i < 4; i++) q.onArrival(i, 1000, 10 + i, i % 2 === 0 ? A : B);
    q.onDrop(5, 1000, 13); // B's second
    expect(q.flowPackets(B)).toBe(1);
    // the kernel says 2000 bytes: the oldest entries go first
    q.onBacklogSample(10, 2000, 2);
    expect(q.bytesInQueue).toBe(2000);
    expect(q.flowBytes(A) + q.flowBytes(B)).toBe(2000);
    q.onBacklogSample(20, 0, 0);
    expect(q.busyFlows).toBe(0);
    expect(q.flowBytes(A)).toBe(0);
  });

  it('property: any per-flow FIFO departure order leaves exact per-flow totals and no false drop', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 60, max: 1500 })), { minLength: 1, maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 400 }), (arrivals, order) => {
        const q = new QueueModel({ discipline: 'fq', flowBuckets: 64 });
        const queues: Array<Array<{ key: number; bytes: number }>> = [[], [], [], []];
        arrivals.forEach(([f, bytes], i) => {
          q.onArrival(i, bytes, i + 1, f + 1);
          queues[f]?.push({ key: i + 1, bytes });
        });
        let t = 1000;
        for (const f of order) {
          const head = queues[f]?.shift();
          if (head !== undefined) q.onDeparture(t++, head.bytes, head.key);
        }
        for (let f = 0; f < 4; f++) expect(q.flowBytes(f + 1)).toBe((queues[f] ?? []).reduce((a, p) => a + p.bytes, 0));
        expect(q.counters.retiredAsDrop).toBe(0);
        expect(q.busyFlows).toBe(queues.filter((x) => x.length > 0).length);
      }),
    );
  });
});

/**
 * A round-robin link of `rateBps` (DRR with a one-MTU quantum: one packet per busy flow per turn,
 * as every packet is at most an MTU): flow 0 greedy (keeps 40 packets of 1500 B queued), flow 1
 * light (a 1200-byte packet every `lightGapUs`). Returns per light packet the predicted total at
 * its arrival and its actual sojourn, for a Fortune Teller of the discipline fed the kernel's
 * backlog every 100 ms as the daemon does.
 */
function drrRun(discipline: 'fifo' | 'fq', rateBps: number, lightGapUs: number, durationUs: number): { samples: Array<{ predictedMs: number; actualMs: number }>; retired: number } {
  const ft = new FortuneTeller({ ...defaultFortuneTellerConfig, discipline });
  const flowHash = [0xa0a0, 0xb1b1];
  const queues: Array<Array<{ key: number; bytes: number; tUs: number; pred: number }>> = [[], []];
  const out: Array<{ predictedMs: number; actualMs: number }> = [];
  let key = 1;
  let nextLight = 0;
  let linkFreeUs = 0;
  let turn = 0;
  const arrive = (f: number, tUs: number, bytes: number): void => {
    const p = ft.predict(tUs, bytes, undefined, flowHash[f]);
    ft.onArrival(tUs, bytes, key, flowHash[f]);
    queues[f]?.push({ key: key++, bytes, tUs, pred: p.totalMs });
  };
  for (let t = 0; t < durationUs; t += 50) {
    // the daemon corrects the model against the kernel's backlog every 100 ms
    if (t % 100_000 === 0) {
      const all = [...(queues[0] ?? []), ...(queues[1] ?? [])];
      ft.onBacklogSample(t, all.reduce((a, x) => a + x.bytes, 0), all.length);
    }
    while ((queues[0]?.length ?? 0) < 40) arrive(0, t, 1500);
    if (t >= nextLight) {
      arrive(1, t, 1200);
      nextLight += lightGapUs;
    }
    // the link takes the next packet once the previous one is sent, round robin over busy flows
    while (linkFreeUs <= t) {
      let f = turn;
      if ((queues[f]?.length ?? 0) === 0) f = 1 - f;
      const pkt = queues[f]?.shift();
      if (pkt === undefined) break;
      turn = 1 - f;
      ft.onDeparture(t, pkt.bytes, pkt.key);
      if (f === 1 && pkt.tUs > 500_000) out.push({ predictedMs: pkt.pred, actualMs: (t - pkt.tUs) / 1000 });
      linkFreeUs = Math.max(linkFreeUs, t) + (pkt.bytes * 8e6) / rateBps;
    }
  }
  return { samples: out, retired: ft.counters.retiredAsDrop };
}

describe('FortuneTeller, discipline fq', () => {
  it('validates the discipline and the bucket count', () => {
    expect(validateFortuneTellerConfig({ ...defaultFortuneTellerConfig, discipline: 'fq' })).toEqual([]);
    expect(validateFortuneTellerConfig({ ...defaultFortuneTellerConfig, discipline: 'wfq' as 'fq', flowBuckets: 0 })).toHaveLength(2);
  });

  it('a flow\'s prediction is its own bytes at its share of the rate', () => {
    const ft = new FortuneTeller({ ...defaultFortuneTellerConfig, discipline: 'fq', initialRateBps: 10e6, minRateBps: 10e6 });
    for (let i = 0; i < 100; i++) ft.onArrival(0, 1250, i, A); // 125 kB of A
    for (let i = 0; i < 4; i++) ft.onArrival(0, 1250, 1000 + i, B); // 5 kB of B
    const rate = ft.rate.rateBps;
    // B: 5 kB at half the rate; A: 125 kB at half the rate
    expect(ft.predict(0, 0, undefined, B).qLongMs).toBeCloseTo(((5000 - ft.rate.maxBurstBytes / 2) * 8000) / (rate / 2), 6);
    expect(ft.predict(0, 0, undefined, A).qLongMs).toBeCloseTo(((125_000 - ft.rate.maxBurstBytes / 2) * 8000) / (rate / 2), 6);
    // a new flow's first packet: three flows busy once it is in
    expect(ft.predict(0, 1250, undefined, 0x3003).qLongMs).toBeCloseTo(((1250 - ft.rate.maxBurstBytes / 3) * 8000) / (rate / 3), 6);
    // the FIFO model puts every byte ahead of it
    const fifo = new FortuneTeller({ ...defaultFortuneTellerConfig, initialRateBps: 10e6, minRateBps: 10e6 });
    for (let i = 0; i < 104; i++) fifo.onArrival(0, 1250, i, i < 100 ? A : B);
    expect(fifo.predict(0, 0, undefined, B).qLongMs).toBeGreaterThan(90);
    expect(ft.queueDelayMs(0, B)).toBeLessThan(10);
    expect(fifo.queueDelayMs(0, B)).toBeGreaterThan(90);
  });

  it('on a deficit-round-robin link, a light flow next to a greedy one is predicted from its own queue', () => {
    const err = (d: 'fifo' | 'fq'): { p50: number; bias: number; retired: number } => {
      const { samples: r, retired } = drrRun(d, 10e6, 5000, 3_000_000);
      const e = r.map((x) => Math.abs(x.predictedMs - x.actualMs)).sort((a, b) => a - b);
      return { p50: e[Math.floor(e.length / 2)] ?? NaN, bias: r.reduce((a, x) => a + x.predictedMs - x.actualMs, 0) / r.length, retired };
    };
    expect(drrRun('fq', 10e6, 5000, 3_000_000).samples.length).toBeGreaterThan(400);
    const fifo = err('fifo');
    const fq = err('fq');
    // the greedy flow keeps 40 x 1500 B = 48 ms at 10 Mbit/s queued; the light flow (1.9 Mbit/s,
    // below its half) waits about one packet of the greedy flow (~1.2 ms)
    console.log(`light flow next to a greedy one, |error| p50 / mean signed error: fifo ${fifo.p50.toFixed(2)} / ${fifo.bias.toFixed(2)} ms, fq ${fq.p50.toFixed(2)} / ${fq.bias.toFixed(2)} ms`);
    // measured: fifo 9.78 / +17.43 ms (its model retires the greedy flow's overtaken packets as
    // drops and the kernel's backlog brings them back as untracked bytes ahead of everything),
    // fq 1.57 / +1.58 ms with no false drop
    expect(fifo.bias).toBeGreaterThan(10);
    expect(fifo.retired).toBeGreaterThan(1000);
    expect(fq.retired).toBe(0);
    expect(fq.p50).toBeLessThan(2);
    expect(fq.p50).toBeLessThan(fifo.p50 / 4);
    expect(Math.abs(fq.bias)).toBeLessThan(2);
  });
});
