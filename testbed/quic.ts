/**
 * QUIC downloads between real peers on the testbed: Debian's ngtcp2 examples (0.12.1,
 * packages ngtcp2-server / ngtcp2-client). `gtlsserver` runs in srv, `gtlsclient` in cli and
 * GETs one generated body (`/<size>`, served up to --max-dyn-length) srv -> cli through the
 * bottleneck. The body is large (default 1 GiB, far more than the link carries in the test) and
 * the client is killed at `durationS`: one connection, one stream, for the whole run.
 *
 * Measurements come from the peers' qlogs (ngtcp2 0.12.1 writes JSON-SEQ, qlog 0.3, every
 * record prefixed with RS 0x1e, `time` in integer MILLISECONDS relative to the connection's
 * creation — the header's `reference_time` is always 0 and carries no clock):
 *  - the server's `recovery:metrics_updated` events carry the sender's RTT estimate
 *    (`latest_rtt`, `smoothed_rtt`, `min_rtt`, ms) after every ACK it processed;
 *  - the client's `transport:packet_received` events carry the STREAM frames that arrived
 *    (offset, length): the received bytes over time.
 *
 * Clock anchoring: the examples open the qlog file in their connection setup immediately before
 * `ngtcp2_conn_{server,client}_new`, whose initial timestamp is the qlog's time 0. So the mono
 * time at which the file appears in its (fresh, per-run) qlog directory is the qlog's time 0; we
 * see it through inotify (fs.watch). Error: late by the inotify + event-loop latency of this
 * process (not measured separately; a few ms, more on a loaded machine), plus the qlog's truncation to whole
 * milliseconds (event times up to 1 ms early). Both offsets are alike in both arms of a
 * paired trial. Cross-check on the testbed: the client's anchor came ~19 ms after its spawn
 * (ip netns exec + startup), the server's ~43 ms after (+ one way through the 20 ms relay and the
 * bottleneck), as expected. When no watch event was seen (not observed), both anchors fall back
 * to the client's spawn time and `anchor` says 'spawn' (server times then early by ~40 ms).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Testbed } from './topology.js';
import { killGroup, monoNowMs, sleep, spawnGroup, waitExit } from './traffic.js';

const execFileP = promisify(execFile);

export type QuicCc = 'cubic' | 'reno' | 'bbr' | 'bbr2';
export const QUIC_CCS: readonly QuicCc[] = ['cubic', 'reno', 'bbr', 'bbr2'];
export const isQuicCc = (s: string): s is QuicCc => (QUIC_CCS as readonly string[]).includes(s);

export interface QuicDownloadOptions {
  durationS: number;
  cc?: QuicCc;
  /** server UDP port, default 4433 */
  port?: number;
  /** size of the requested body (default 1 GiB: the client is killed at durationS) */
  bodyBytes?: number;
  /** called with the mono time each attempt's client is spawned (the last call is the download) */
  onStart?: (startMonoMs: number) => void;
  /**
   * Checked `checkAfterMs` (default 1000) after each attempt's start; false: that attempt is
   * dropped (both peers killed) and a new connection is made, up to `maxAttempts` (default 8).
   * Used by the zhuge arm to retry connections the daemon did not pick up (see quic-experiment).
   */
  accept?: () => Promise<boolean>;
  checkAfterMs?: number;
  maxAttempts?: number;
}

export interface QuicRttSample {
  /** mono ms (testbed/traffic.ts monoNowMs clock) */
  tMs: number;
  latestRttMs: number;
  smoothedRttMs: number;
}

export interface QuicDownloadResult {
  /** the sender's RTT estimate after each ACK (server qlog), deduplicated, mono ms */
  senderRtt: QuicRttSample[];
  /** the sender's congestion window (bytes) with each RTT sample, same order */
  cwndBytes: number[];
  /** STREAM bytes the client received (highest offset + length) */
  receivedBytes: number;
  /** received STREAM bytes per 100 ms, mono ms of each bin's start */
  received: Array<{ tMs: number; bytes: number }>;
  /** receivedBytes over [first received byte, endMonoMs], Mbit/s */
  throughputMbps: number;
  /** when the client was spawned / killed (or exited), mono ms */
  startMonoMs: number;
  endMonoMs: number;
  /** mono ms of the qlogs' time 0, and how it was obtained */
  serverAnchorMonoMs: number;
  clientAnchorMonoMs: number;
  anchor: 'inotify' | 'spawn';
  /** the client exited on its own (body complete or error) before durationS */
  clientExitedEarly: boolean;
  clientExitCode: number | null;
  /** connections made (1 unless `accept` rejected some) */
  attempts: number;
  /** stderr tails, for diagnostics */
  serverStderr: string;
  clientStderr: string;
}

// ---- the qlog parser (pure) -----------------------------------------------------------------

export interface Ngtcp2QlogMetrics {
  /** ms since the connection's creation (qlog time) */
  tMs: number;
  latestRttMs: number;
  smoothedRttMs: number;
  minRttMs?: number;
  rttVarianceMs?: number;
  cwndBytes?: number;
  bytesInFlight?: number;
}

export interface Ngtcp2QlogStreamRx {
  tMs: number;
  streamId: number;
  offset: number;
  length: number;
}

export interface Ngtcp2Qlog {
  vantagePoint: string;
  /** metrics_updated events that carry an RTT sample (latest_rtt > 0), in file order */
  metrics: Ngtcp2QlogMetrics[];
  /** STREAM frames of packet_received events, in file order */
  streamRx: Ngtcp2QlogStreamRx[];
  /** records that were not valid JSON (a truncated tail after a kill) */
  badRecords: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Parses an ngtcp2 0.12.1 qlog (JSON-SEQ: RS-separated JSON texts; a plain newline-separated
 * file is accepted too). Unknown events are skipped; a record that is not JSON (the tail of a
 * killed peer's buffered file) is counted, never thrown.
 */
export function parseNgtcp2Qlog(text: string): Ngtcp2Qlog {
  const out: Ngtcp2Qlog = { vantagePoint: 'unknown', metrics: [], streamRx: [], badRecords: 0 };
  const records = text.includes('\x1e') ? text.split('\x1e') : text.split('\n');
  for (const raw of records) {
    const rec = raw.trim();
    if (rec === '') continue;
    // cheap pre-filter: only three kinds of record matter
    const isMetrics = rec.includes('"recovery:metrics_updated"');
    const isRx = !isMetrics && rec.includes('"transport:packet_received"');
    const isHeader = !isMetrics && !isRx && rec.includes('"qlog_version"');
    if (!isMetrics && !isRx && !isHeader) continue;
    let j: Json;
    try {
      j = obj(JSON.parse(rec));
    } catch {
      out.badRecords++;
      continue;
    }
    if (isHeader) {
      const name = obj(obj(obj(j['trace'])['vantage_point']))['type'];
      if (typeof name === 'string') out.vantagePoint = name;
      continue;
    }
    const tMs = num(j['time']);
    if (tMs === undefined) continue;
    const data = obj(j['data']);
    if (isMetrics) {
      const latest = num(data['latest_rtt']);
      const smoothed = num(data['smoothed_rtt']);
      // before the first RTT sample ngtcp2 reports latest_rtt 0 and the initial smoothed_rtt
      if (latest === undefined || smoothed === undefined || latest <= 0) continue;
      const m: Ngtcp2QlogMetrics = { tMs, latestRttMs: latest, smoothedRttMs: smoothed };
      const minRtt = num(data['min_rtt']);
      const rttVar = num(data['rtt_variance']);
      const cwnd = num(data['congestion_window']);
      const inflight = num(data['bytes_in_flight']);
      if (minRtt !== undefined) m.minRttMs = minRtt;
      if (rttVar !== undefined) m.rttVarianceMs = rttVar;
      if (cwnd !== undefined) m.cwndBytes = cwnd;
      if (inflight !== undefined) m.bytesInFlight = inflight;
      out.metrics.push(m);
    } else {
      const frames = data['frames'];
      if (!Array.isArray(frames)) continue;
      for (const fr of frames) {
        const f = obj(fr);
        if (f['frame_type'] !== 'stream') continue;
        const streamId = num(f['stream_id']);
        const offset = num(f['offset']);
        const length = num(f['length']);
        if (streamId === undefined || offset === undefined || length === undefined) continue;
        out.streamRx.push({ tMs, streamId, offset, length });
      }
    }
  }
  return out;
}

/** Consecutive duplicates (same time and values) dropped: ngtcp2 logs metrics on every send too. */
export function dedupeMetrics(ms: readonly Ngtcp2QlogMetrics[]): Ngtcp2QlogMetrics[] {
  const out: Ngtcp2QlogMetrics[] = [];
  for (const m of ms) {
    const last = out.at(-1);
    if (last !== undefined && last.latestRttMs === m.latestRttMs && last.smoothedRttMs === m.smoothedRttMs && last.tMs === m.tMs) continue;
    out.push(m);
  }
  return out;
}

// ---- processes --------------------------------------------------------------------------------

/** `sig`, then SIGKILL after graceMs; resolves once the process is gone. */
async function stopGroup(child: ChildProcess, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  killGroup(child, sig);
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await waitExit(child);
  clearTimeout(t);
}


/** Watches a fresh directory; resolves the mono time at which its first file appeared. */
function firstFileTime(dir: string): { get(): number | undefined; close(): void } {
  let t: number | undefined;
  let w: FSWatcher | undefined;
  try {
    w = watch(dir, () => {
      t ??= monoNowMs();
    });
  } catch {
    w = undefined;
  }
  return {
    get: () => t,
    close: () => w?.close(),
  };
}

function readQlog(dir: string): Ngtcp2Qlog {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sqlog') || f.endsWith('.qlog'));
  if (files.length === 0) return { vantagePoint: 'none', metrics: [], streamRx: [], badRecords: 0 };
  // one connection per run; should there be more, the largest is the download
  let best: Ngtcp2Qlog | undefined;
  for (const f of files) {
    const q = parseNgtcp2Qlog(readFileSync(join(dir, f), 'utf8'));
    if (best === undefined || q.metrics.length + q.streamRx.length > best.metrics.length + best.streamRx.length) best = q;
  }
  return best ?? { vantagePoint: 'none', metrics: [], streamRx: [], badRecords: 0 };
}

/**
 * One QUIC download srv -> cli for about durationS (the client is killed then). Everything it
 * starts (server, client, temp dir with key, cert and qlogs) is removed before it returns.
 */
export async function quicDownload(tb: Testbed, o: QuicDownloadOptions): Promise<QuicDownloadResult> {
  const max = Math.max(1, o.accept === undefined ? 1 : (o.maxAttempts ?? 8));
  for (let attempt = 1; ; attempt++) {
    const r = await downloadOnce(tb, o, attempt < max);
    if (r !== 'rejected') return { ...r, attempts: attempt };
  }
}

async function downloadOnce(tb: Testbed, o: QuicDownloadOptions, mayReject: boolean): Promise<Omit<QuicDownloadResult, 'attempts'> | 'rejected'> {
  const port = o.port ?? 4433;
  const body = Math.max(1, Math.round(o.bodyBytes ?? 1024 ** 3));
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-quic-'));
  const srvQ = join(dir, 'qlog-srv');
  const cliQ = join(dir, 'qlog-cli');
  mkdirSync(srvQ);
  mkdirSync(cliQ);
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  let server: ChildProcess | undefined;
  let client: ChildProcess | undefined;
  const srvWatch = firstFileTime(srvQ);
  const cliWatch = firstFileTime(cliQ);
  try {
    await execFileP('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=zhuge-test', '-keyout', keyPath, '-out', certPath,
    ]);
    server = spawnGroup(tb, 'srv', '/usr/sbin/gtlsserver', [
      '-q',
      `--qlog-dir=${srvQ}`,
      `--max-dyn-length=${body}`,
      `--cc=${o.cc ?? 'cubic'}`,
      `--htdocs=${dir}`,
      '--timeout=60s',
      tb.addrs.srv,
      String(port),
      keyPath,
      certPath,
    ], 'ignore');
    let serverStderr = '';
    server.stderr?.on('data', (b: Buffer) => (serverStderr = (serverStderr + b.toString()).slice(-4000)));
    const deadline = monoNowMs() + 5000;
    for (;;) {
      if (server.exitCode !== null || server.signalCode !== null) throw new Error(`gtlsserver exited ${String(server.exitCode)}: ${serverStderr}`);
      const r = await tb.exec('srv', 'ss', ['-lunH', `sport = :${port}`]);
      if (r.stdout.trim() !== '') break;
      if (monoNowMs() > deadline) throw new Error(`gtlsserver did not listen on ${port}: ${serverStderr}`);
      await sleep(20);
    }
    const startMonoMs = monoNowMs();
    client = spawnGroup(tb, 'cli', '/usr/bin/gtlsclient', [
      '-q',
      '--exit-on-all-streams-close',
      `--qlog-dir=${cliQ}`,
      // flow control never the limit: 64 MiB windows (a 30 Mbit/s x 250 ms BDP is < 1 MiB)
      '--max-data=64M',
      '--max-stream-data-bidi-local=64M',
      '--max-window=64M',
      '--max-stream-window=64M',
      `--timeout=${Math.ceil(o.durationS) + 30}s`,
      tb.addrs.srv,
      String(port),
      `https://${tb.addrs.srv}:${port}/${body}`,
    ], 'ignore');
    let clientStderr = '';
    client.stderr?.on('data', (b: Buffer) => (clientStderr = (clientStderr + b.toString()).slice(-4000)));
    o.onStart?.(startMonoMs);
    const c = client;
    const clientExit = waitExit(c);
    if (o.accept !== undefined && mayReject) {
      await Promise.race([sleep(o.checkAfterMs ?? 1000), clientExit]);
      if (!(await o.accept())) return 'rejected';
    }
    const timedOut = await Promise.race([sleep(Math.max(0, o.durationS * 1000 - (monoNowMs() - startMonoMs))).then(() => true), clientExit.then(() => false)]);
    const endMonoMs = monoNowMs();
    // SIGINT: the examples stop their event loop and close (flush) the qlog file
    if (timedOut) await stopGroup(c, 'SIGINT', 1000);
    const clientExitCode = await clientExit;
    await stopGroup(server, 'SIGINT', 2000);

    const sT = srvWatch.get();
    const cT = cliWatch.get();
    const anchor: 'inotify' | 'spawn' = sT !== undefined && cT !== undefined ? 'inotify' : 'spawn';
    const serverAnchorMonoMs = sT ?? startMonoMs;
    const clientAnchorMonoMs = cT ?? startMonoMs;
    const sq = readQlog(srvQ);
    const cq = readQlog(cliQ);
    const ms = dedupeMetrics(sq.metrics);
    const senderRtt = ms.map((m) => ({ tMs: serverAnchorMonoMs + m.tMs, latestRttMs: m.latestRttMs, smoothedRttMs: m.smoothedRttMs }));
    const cwndBytes = ms.map((m) => m.cwndBytes ?? Number.NaN);
    let receivedBytes = 0;
    const bins = new Map<number, number>();
    let firstRx = Number.POSITIVE_INFINITY;
    for (const f of cq.streamRx) {
      receivedBytes = Math.max(receivedBytes, f.offset + f.length);
      const t = clientAnchorMonoMs + f.tMs;
      firstRx = Math.min(firstRx, t);
      const bin = Math.floor((t - startMonoMs) / 100);
      bins.set(bin, (bins.get(bin) ?? 0) + f.length);
    }
    const received = [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([b, bytes]) => ({ tMs: startMonoMs + b * 100, bytes }));
    const spanS = (endMonoMs - firstRx) / 1000;
    return {
      senderRtt,
      cwndBytes,
      receivedBytes,
      received,
      throughputMbps: spanS > 0 && Number.isFinite(spanS) ? (receivedBytes * 8) / spanS / 1e6 : Number.NaN,
      startMonoMs,
      endMonoMs,
      serverAnchorMonoMs,
      clientAnchorMonoMs,
      anchor,
      clientExitedEarly: !timedOut,
      clientExitCode,
      serverStderr,
      clientStderr,
    };
  } finally {
    srvWatch.close();
    cliWatch.close();
    if (client !== undefined) await stopGroup(client, 'SIGKILL', 1000);
    if (server !== undefined) await stopGroup(server, 'SIGKILL', 1000);
    rmSync(dir, { recursive: true, force: true });
  }
}
