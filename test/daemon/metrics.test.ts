import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, DELAY_BUCKETS_S, MALFORMED_REASONS, QUEUE_MODEL_EVENTS } from '../../src/daemon/metrics.js';

const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);

const REQUIRED = [
  'zhuge_build_info',
  'zhuge_packets_total',
  'zhuge_predicted_delay_seconds',
  'zhuge_added_delay_seconds',
  'zhuge_held_packets',
  'zhuge_drain_gate_releases_total',
  'zhuge_window_clamp_acks_total',
  'zhuge_queue_model_events_total',
  'zhuge_malformed_packets_total',
  'zhuge_flows_active',
  'zhuge_flows_evicted_total',
  'zhuge_nfqueue_drops_total',
  'zhuge_capture_drops_total',
  'zhuge_capture_oversize_packets_total',
  'zhuge_config_reloads_total',
  'zhuge_feedback_packets_total',
  'zhuge_flows_by_mode',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
];

/** Label names allowed on zhuge's own series: small fixed sets only, never per flow. */
const ALLOWED_LABELS = new Set(['version', 'node_version', 'direction', 'protocol', 'le', 'reason', 'cause', 'mode', 'kind', 'tap', 'result', 'action', 'event', 'timing', 'problem']);

function samples(text: string): { name: string; labels: Record<string, string>; value: string }[] {
  const out: { name: string; labels: Record<string, string>; value: string }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1] ?? ''] = lm[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: m[3] ?? '' });
  }
  return out;
}

function exercise(m: ReturnType<typeof createMetrics>): void {
  // simulate lots of flows: nothing may create a series per flow
  for (let flow = 0; flow < 500; flow++) {
    m.packets.inc({ direction: 'downlink', protocol: flow % 2 === 0 ? 'tcp' : 'rtp' });
    m.packets.inc({ direction: 'uplink', protocol: 'tcp' });
    m.predictedDelay.observe(0.001 * (flow % 40));
    m.addedDelay.observe(0.0002 * (flow % 50));
  }
  m.malformedPackets.inc({ reason: 'truncated' }, 3);
  m.flowsActive.set(500);
  m.flowsByMode.set({ mode: 'ack-delay' }, 250);
  m.flowsByMode.set({ mode: 'twcc' }, 250);
  m.heldPackets.set(12);
  m.nfqueueDrops.inc({ kind: 'user' }, 2);
  m.configReloads.inc({ result: 'ok' });
}

describe('metrics', () => {
  it('zhuge_health_problem is read from the health source at each scrape (never a tick behind /healthz)', async () => {
    const m = createMetrics({ processMetrics: false });
    const gauge = (text: string, p: string): string | undefined => new RegExp(`^zhuge_health_problem\\{problem="${p}"\\} (\\d)$`, 'm').exec(text)?.[1];
    let now: Array<'rules_missing' | 'watchdog_failed'> = [];
    m.setHealthSource(() => now);
    expect(gauge(await m.scrape(), 'rules_missing')).toBe('0');
    now = ['rules_missing'];
    const t = await m.scrape();
    expect(gauge(t, 'rules_missing')).toBe('1');
    expect(gauge(t, 'watchdog_failed')).toBe('0');
    now = ['watchdog_failed'];
    const u = await m.scrape();
    expect([gauge(u, 'rules_missing'), gauge(u, 'watchdog_failed')]).toEqual(['0', '1']);
  });

  it('uses its own registry, not the global default one', async () => {
    const before = (await globalRegistry.getMetricsAsJSON()).length;
    const m = createMetrics();
    expect(m.registry).not.toBe(globalRegistry);
    expect((await globalRegistry.getMetricsAsJSON()).length).toBe(before);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('exposes every required metric, its own prefixed zhuge_ and the process ones under their standard names, with build info', async () => {
    const m = createMetrics({ version: '9.9.9' });
    exercise(m);
    const text = await m.scrape();
    for (const name of REQUIRED) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    const s = samples(text);
    expect(s.every((x) => x.name.startsWith('zhuge_') || x.name.startsWith('process_') || x.name.startsWith('nodejs_'))).toBe(true);
    const build = s.filter((x) => x.name === 'zhuge_build_info');
    expect(build).toEqual([{ name: 'zhuge_build_info', labels: { version: '9.9.9', node_version: process.versions.node }, value: '1' }]);
    expect(s.find((x) => x.name === 'zhuge_packets_total' && x.labels['direction'] === 'downlink' && x.labels['protocol'] === 'tcp')?.value).toBe('250');
    expect(s.find((x) => x.name === 'zhuge_malformed_packets_total' && x.labels['reason'] === 'truncated')?.value).toBe('3');
  });

  it('counters end in _total, own metrics use base units', async () => {
    const m = createMetrics({ processMetrics: false });
    const text = await m.scrape();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      expect(name).not.toMatch(/_(ms|milliseconds|us|kb|kilobytes|bits)(_|$)/);
    }
  });

  it('has no per-flow labels and a bounded series count, whatever the traffic', async () => {
    const m = createMetrics({ processMetrics: false });
    const emptyCount = samples(await m.scrape()).length;
    exercise(m);
    const s = samples(await m.scrape());
    for (const x of s) for (const l of Object.keys(x.labels)) expect(ALLOWED_LABELS.has(l), `${x.name} label ${l}`).toBe(true);
    // every label combination exists from the start (initialised at 0): traffic adds no series
    expect(s.length).toBe(emptyCount);
  });

  it('initialises every label value at 0 (malformed reasons, modes, drops)', async () => {
    const s = samples(await createMetrics({ processMetrics: false }).scrape());
    const reasons = s.filter((x) => x.name === 'zhuge_malformed_packets_total').map((x) => x.labels['reason']);
    expect(reasons.sort()).toEqual([...MALFORMED_REASONS].sort());
    const modes = s.filter((x) => x.name === 'zhuge_flows_by_mode').map((x) => x.labels['mode']);
    expect(modes.sort()).toEqual(['ack-delay', 'ccfb', 'passthrough', 'srtcp-delay', 'twcc']);
    expect(s.filter((x) => x.name === 'zhuge_capture_drops_total')).toHaveLength(4);
    expect(s.filter((x) => x.name === 'zhuge_packets_total')).toHaveLength(12);
    const events = s.filter((x) => x.name === 'zhuge_queue_model_events_total').map((x) => x.labels['event']);
    expect(events.sort()).toEqual(QUEUE_MODEL_EVENTS.map(([, e]) => e).sort());
  });

  it('delay histograms: >= 12 roughly exponential buckets from 0.5 ms to about 1 s', async () => {
    expect(DELAY_BUCKETS_S.length).toBeGreaterThanOrEqual(12);
    expect(DELAY_BUCKETS_S[0]).toBe(0.0005);
    const last = DELAY_BUCKETS_S[DELAY_BUCKETS_S.length - 1] ?? 0;
    expect(last).toBeGreaterThanOrEqual(0.9);
    expect(last).toBeLessThanOrEqual(2);
    for (let i = 1; i < DELAY_BUCKETS_S.length; i++) expect((DELAY_BUCKETS_S[i] ?? 0) / (DELAY_BUCKETS_S[i - 1] ?? 1)).toBeCloseTo(2, 6);
    const m = createMetrics({ processMetrics: false });
    m.predictedDelay.observe(0.003);
    const s = samples(await m.scrape()).filter((x) => x.name === 'zhuge_predicted_delay_seconds_bucket');
    expect(s.find((x) => x.labels['le'] === '0.002')?.value).toBe('0');
    expect(s.find((x) => x.labels['le'] === '0.004')?.value).toBe('1');
    expect(s.find((x) => x.labels['le'] === '+Inf')?.value).toBe('1');
  });

  const SKIP_NOTE = hasPromtool ? '' : ` — SKIPPED: ${PROMTOOL} absent (Debian package prometheus)`;

  it.skipIf(!hasPromtool)(`promtool check metrics accepts the exposition, process metrics included${SKIP_NOTE}`, async () => {
    const m = createMetrics();
    exercise(m);
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await m.scrape(), encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasPromtool)(`promtool really rejects bad exposition (the check above can fail)${SKIP_NOTE}`, () => {
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: '# TYPE zhuge_things counter\nzhuge_things 1\n', encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/_total/);
  });
});
