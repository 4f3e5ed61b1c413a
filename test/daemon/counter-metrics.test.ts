/** The one table from the parts' counters to Prometheus counters, and its sync (increases only). */
import { describe, expect, it } from 'vitest';
import { CounterSync, ENGINE_COUNTER_METRICS } from '../../src/daemon/counter-metrics.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { zeroEngineCounters } from '../../src/engine/counters.js';

describe('CounterSync', () => {
  it('exports each engine counter under its metric and labels, increases only', async () => {
    const m = createMetrics({ processMetrics: false });
    const sync = new CounterSync(m, ENGINE_COUNTER_METRICS);
    const c = zeroEngineCounters();
    c.downlinkArrivals.quic = 3;
    c.uplink.tcp = 2;
    c.malformed.truncated = 1;
    c.flowsEvictedCapacity = 4;
    c.gateReleasedMaxHold = 5;
    c.windowNoRtt = 6;
    sync.sync(c);
    c.downlinkArrivals.quic = 10;
    sync.sync(c);
    sync.sync(zeroEngineCounters()); // went back (never for the engine's): nothing added
    const text = await m.scrape();
    expect(text).toContain('zhuge_packets_total{direction="downlink",protocol="quic"} 10');
    expect(text).toContain('zhuge_packets_total{direction="uplink",protocol="tcp"} 2');
    expect(text).toContain('zhuge_malformed_packets_total{reason="truncated"} 1');
    expect(text).toContain('zhuge_flows_evicted_total{cause="capacity"} 4');
    expect(text).toContain('zhuge_drain_gate_releases_total{reason="max_hold"} 5');
    expect(text).toContain('zhuge_window_clamp_acks_total{result="no_rtt"} 6');
  });
});
