/**
 * Integration (root + netns + Debian's prometheus): the shipped dashboard and alert rules against
 * a real Prometheus scraping a live daemon. Prometheus runs in the ap namespace, scrapes the
 * daemon every second (job "zhuge") and loads deploy/prometheus/zhuge-alerts.yml; during a TCP
 * download every query of deploy/grafana/zhuge-dashboard.json must evaluate and return data, and
 * every alert rule must evaluate without error.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { iperfDownload } from '../../testbed/traffic.js';
import { daemonUnavailable, ensureBuilt, httpGetInAp, pollUntil, REPO, runProcess, sleep } from './_helpers.js';

const hasPrometheus = (await runProcess('sh', ['-c', 'command -v prometheus'])).code === 0;
const why = daemonUnavailable() ?? (hasPrometheus ? undefined : 'no prometheus binary');
const PREFIX = randomPrefix();
const DAEMON_PORT = 9491;
const PROM_PORT = 9492;

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}
interface QueryReply {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}
interface RulesReply {
  data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
}

describe.skipIf(why !== undefined)(`the shipped dashboard and alert rules on a real Prometheus (root, netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let daemon: DaemonProc | undefined;
  let prom: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-prom-'));

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 50 });
    daemon = await startDaemon(tb, { metricsPort: DAEMON_PORT });
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(
      cfg,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${join(REPO, 'deploy/prometheus/zhuge-alerts.yml')}`,
        'scrape_configs:',
        '  - job_name: zhuge',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${DAEMON_PORT}']`,
        '',
      ].join('\n'),
    );
    prom = tb.spawn('ap', 'prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn']);
    const ready = await pollUntil(async () => (await httpGetInAp(tb, PROM_PORT, '/-/ready').catch(() => ({ code: 0 }))).code === 200, 20_000, 200);
    expect(ready, 'prometheus ready').toBeDefined();
  }, 90_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    if (daemon !== undefined) await daemon.stop().catch(() => undefined);
    await down(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('every dashboard query returns data and every alert rule evaluates, during a download', async () => {
    const iperf = iperfDownload(tb, { durationS: 8, intervalS: 1 });
    await sleep(7000);
    const dash = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/zhuge-dashboard.json'), 'utf8')) as Dashboard;
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(10);
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const r = await httpGetInAp(tb, PROM_PORT, `/api/v1/query?query=${encodeURIComponent(expr)}`);
      const q = JSON.parse(r.body) as QueryReply;
      expect(q.status, `${panel}: ${expr}: ${q.error ?? ''}`).toBe('success');
      if ((q.data?.result.length ?? 0) === 0) empty.push(`${panel}: ${expr}`);
    }
    await iperf;
    expect(empty, 'queries that returned no series').toEqual([]);
    const rules = JSON.parse((await httpGetInAp(tb, PROM_PORT, '/api/v1/rules')).body) as RulesReply;
    const all = rules.data.groups.flatMap((g) => g.rules);
    console.log(`${exprs.length} dashboard queries returned data; ${all.length} alert rules: ${all.map((r) => `${r.name} ${r.health}`).join(', ')}`);
    // every rule of the shipped file loaded (counted in the file, not written here)
    const shipped = (readFileSync(join(REPO, 'deploy/prometheus/zhuge-alerts.yml'), 'utf8').match(/^\s*- alert: /gm) ?? []).length;
    expect(shipped).toBeGreaterThanOrEqual(10);
    expect(all.length).toBe(shipped);
    for (const r of all) expect(r.health, `${r.name}: ${r.lastError ?? ''}`).toBe('ok');
  }, 60_000);
});
