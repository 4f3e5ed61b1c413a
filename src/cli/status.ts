/**
 * `zhuge status [--addr HOST:PORT] [--config FILE] [--json] [--timeout MS]` — ask a running
 * daemon for its /status and print a compact table (queues; flows with mode, predicted delay
 * and held packets) or the raw JSON.
 *
 * Address: --addr, else metrics.listen of --config FILE, else of /etc/zhuge/zhuge.yaml when it
 * exists and is valid, else 127.0.0.1:9469. A wildcard listen address (0.0.0.0, ::) is reached
 * through loopback. Exit 0 ok · 1 no daemon answers / bad answer · 2 usage · 3 bad --config.
 */
import { existsSync } from 'node:fs';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, parseListen } from '../config/index.js';
import type { FlowStatus, QueueStatus, StatusSnapshot } from '../daemon/http-server.js';

const DEFAULT_ADDR = '127.0.0.1:9469';

const USAGE = `usage: zhuge status [--addr HOST:PORT] [--config FILE] [--json] [--timeout MS]

Shows the flows, predictions and held packets of a running zhuge daemon (its /status endpoint).
  --addr HOST:PORT   daemon's metrics.listen address (default: from the config file, else ${DEFAULT_ADDR})
  --config FILE      read metrics.listen from FILE (default ${DEFAULT_CONFIG_PATH} when present)
  --json             print the daemon's JSON answer as is
  --timeout MS       give up after MS milliseconds (default 2000)
exit status: 0 ok · 1 no daemon answers · 2 usage error · 3 invalid --config file`;

interface Options {
  addr?: string;
  config?: string;
  json: boolean;
  timeoutMs: number;
}

function parseArgs(argv: string[]): Options | string {
  const o: Options = { json: false, timeoutMs: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const value = (): string | undefined => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      i++;
      return argv[i];
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--json':
        o.json = true;
        break;
      case '--addr': {
        const v = value();
        if (v === undefined || parseListen(v) === undefined) return `--addr needs HOST:PORT (e.g. ${DEFAULT_ADDR} or [::1]:9469)`;
        o.addr = v;
        break;
      }
      case '--config': {
        const v = value();
        if (v === undefined) return '--config needs a file';
        o.config = v;
        break;
      }
      case '--timeout': {
        const v = Number(value());
        if (!Number.isInteger(v) || v <= 0) return '--timeout needs a positive number of milliseconds';
        o.timeoutMs = v;
        break;
      }
      default:
        return `unknown argument '${a}'`;
    }
  }
  return o;
}

/** The URL base for a listen address; wildcard addresses are reached through loopback. */
export function baseUrl(listen: string): string {
  const p = parseListen(listen);
  if (p === undefined) throw new Error(`not a HOST:PORT address: ${listen}`);
  let host = p.host;
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return host.includes(':') ? `http://[${host}]:${p.port}` : `http://${host}:${p.port}`;
}

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

function bytes(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} MB`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kB`;
  return `${v} B`;
}

function rate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e3).toFixed(0)} kbit/s`;
}

function duration(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** mode window: "rtt 41.2 ms, 1234 ACKs" (or why nothing is clamped yet); '-' for other flows. */
function clampCell(w: FlowStatus['window']): string {
  if (w === undefined) return '-';
  if (w.shift < 0) return 'no handshake seen';
  if (w.baseRttMs < 0) return 'no RTT yet';
  return `rtt ${ms(w.baseRttMs)}, ${w.clampedAcks} ACKs`;
}

/** The human-readable rendering of a /status snapshot. */
export function formatStatus(s: StatusSnapshot): string {
  const flows: FlowStatus[] = Array.isArray(s.flows) ? s.flows : [];
  const queues: QueueStatus[] = Array.isArray(s.queues) ? s.queues : [];
  const out: string[] = [];
  out.push(`zhuge ${s.version ?? '?'} · up ${duration(s.uptimeS ?? 0)} · backend ${s.backend ?? '?'} · ${flows.length} flow${flows.length === 1 ? '' : 's'} · ${s.heldPackets ?? 0} held packet${s.heldPackets === 1 ? '' : 's'}`);
  if (queues.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['QUEUE', 'BACKLOG', 'RATE', 'PREDICTED'],
        queues.map((q) => [q.name, bytes(q.backlogBytes), rate(q.rateBps), ms(q.predictedDelayMs)]),
        new Set([1, 2, 3]),
      ),
    );
    for (const q of queues) {
      if (q.visible === false) out.push(`${q.name}: no queue to see (its qdisc is noqueue): predictions stay near 0; see "OpenWrt" in docs/operations.md`);
    }
  }
  out.push('');
  // the column only when the daemon clamps windows (feedbackUpdater.mode window)
  const clamps = flows.some((f) => f.window !== undefined);
  if (flows.length === 0) {
    out.push('no tracked flows');
  } else {
    out.push(
      ...table(
        ['FLOW', 'MODE', 'PREDICTED', 'HELD', 'ADDED', ...(clamps ? ['WINDOW CLAMP'] : [])],
        flows.map((f) => [f.flow, f.mode, ms(f.predictedDelayMs), String(f.heldPackets ?? 0), ms(f.addedDelayMs), ...(clamps ? [clampCell(f.window)] : [])]),
        new Set([2, 3, 4]),
      ),
    );
  }
  return out.join('\n');
}

function resolveAddr(o: Options): string | { exit: number } {
  if (o.addr !== undefined) return o.addr;
  const file = o.config ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  if (file === undefined) return DEFAULT_ADDR;
  try {
    return loadConfig(file).metrics.listen;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (o.config !== undefined) {
      console.error(err.message);
      return { exit: 3 };
    }
    console.error(`zhuge status: ${DEFAULT_CONFIG_PATH} is invalid (see 'zhuge check-config'); trying ${DEFAULT_ADDR}`);
    return DEFAULT_ADDR;
  }
}

function isSnapshot(v: unknown): v is StatusSnapshot {
  return typeof v === 'object' && v !== null && Array.isArray((v as { flows?: unknown }).flows);
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const o = parseArgs(argv);
  if (typeof o === 'string') {
    console.error(`zhuge status: ${o}\n${USAGE}`);
    return 2;
  }
  const addr = resolveAddr(o);
  if (typeof addr !== 'string') return addr.exit;
  const url = `${baseUrl(addr)}/status`;
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs), headers: { accept: 'application/json' } });
    text = await res.text();
    if (!res.ok) {
      console.error(`zhuge status: ${url} answered ${res.status}: ${text.trim().slice(0, 200)}`);
      return 1;
    }
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
          ? `no answer within ${o.timeoutMs} ms`
          : cause instanceof Error
            ? cause.message
            : String(cause);
    console.error(`zhuge status: no zhuge daemon answers at ${url} (${why}).\nIs it running (systemctl status zhuge / service zhuge status)? Is metrics.listen ${addr}? Use --addr HOST:PORT otherwise.`);
    return 1;
  }
  let snap: unknown;
  try {
    snap = JSON.parse(text);
  } catch {
    console.error(`zhuge status: ${url} did not answer JSON (is something other than zhuge listening there?)`);
    return 1;
  }
  if (!isSnapshot(snap)) {
    console.error(`zhuge status: ${url} answered JSON without a flows list (is something other than zhuge listening there?)`);
    return 1;
  }
  console.log(o.json ? JSON.stringify(snap, null, 2) : formatStatus(snap));
  return 0;
}
