import { describe, expect, it } from 'vitest';
import { IoCounterSync } from '../../src/daemon/io-counter-sync.js';
import { createMetrics } from '../../src/daemon/metrics.js';

const tap = (kernelDrops: number, ifDrops: number) => ({ delivered: 0, handlerErrors: 0, kernelDrops, ifDrops });
const nfq = (kernelQueueDropped: number | undefined, enobufs: number) => ({ receivedPackets: 0, verdicts: 0, enobufs, batches: 0, sendmsgs: 0, verdictErrors: 0, ...(kernelQueueDropped !== undefined ? { kernelQueueDropped, kernelUserDropped: 0 } : {}) });

describe('IoCounterSync: kernel running totals into counters, what grew since the last sync', () => {
  it('adds the growth of the NFQUEUE and tap drop totals, and keeps the last total when a reading is missing', async () => {
    const m = createMetrics({ processMetrics: false });
    const s = new IoCounterSync(m);
    s.sync(nfq(5, 1), [tap(2, 0), tap(0, 3)]);
    s.sync(nfq(undefined, 1), [tap(2, 0), tap(0, 3)]); // kernel stats unreadable: nothing added
    s.sync(nfq(8, 4), [tap(7, 0), tap(0, 3)]);
    s.sync(undefined, [tap(7, 0), tap(0, 3)]); // queue closed
    const text = await m.scrape();
    expect(text).toContain('zhuge_nfqueue_drops_total{kind="kernel_queue"} 8');
    expect(text).toContain('zhuge_nfqueue_drops_total{kind="enobufs"} 4');
    expect(text).toContain('zhuge_capture_drops_total{tap="eth",kind="kernel"} 7');
    expect(text).toContain('zhuge_capture_drops_total{tap="wlan",kind="interface"} 3');
  });
});

describe('IoCounterSync: the NFQUEUE socket errors the native binding counts (issue 15, item 6: never exported before)', () => {
  it.each([
    ['send', { sendErrors: 3 }, 'zhuge_nfqueue_errors_total{kind="send"} 3'],
    ['recv', { recvErrors: 2 }, 'zhuge_nfqueue_errors_total{kind="recv"} 2'],
    ['truncated', { truncated: 5 }, 'zhuge_nfqueue_errors_total{kind="truncated"} 5'],
    ['verdict_lost', { verdictsLost: 40 }, 'zhuge_nfqueue_errors_total{kind="verdict_lost"} 40'],
  ])('%s', async (_kind, extra, line) => {
    const m = createMetrics({ processMetrics: false });
    const s = new IoCounterSync(m);
    s.sync(nfq(0, 0), []);
    s.sync({ ...nfq(0, 0), ...extra }, []);
    s.sync(nfq(0, 0), []); // an older binding without the field: the last total is kept, nothing added
    expect(await m.scrape()).toContain(line);
  });
});

describe('IoCounterSync: a tap reopened after its interface was down counts from 0 again', () => {
  it('adds what the new tap counts, not nothing until it passes the old total', async () => {
    const m = createMetrics({ processMetrics: false });
    const s = new IoCounterSync(m);
    s.sync(undefined, [tap(0, 0), tap(50, 0)]);
    s.sync(undefined, [tap(0, 0), tap(3, 0)]); // the wlan tap was reopened: 3 drops since
    expect(await m.scrape()).toContain('zhuge_capture_drops_total{tap="wlan",kind="kernel"} 53');
  });
});
