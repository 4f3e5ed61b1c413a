/**
 * The daemon as a process in the ap namespace, for the trials: `zhuge run` (the real binary,
 * dist/src/cli.js) started with a generated config, its /status read through the namespace, and
 * an orderly stop. Every trial that runs "with zhuge" goes through here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FlowStatus, StatusSnapshot } from '../src/daemon/http-server.js';
import { distScript } from './scripts.js';
import type { Testbed } from './topology.js';

/** feedbackUpdater.mode of the daemon in the arm with zhuge. */
export type AckMode = 'increments' | 'drain' | 'window';
export const ACK_MODES: readonly AckMode[] = ['increments', 'drain', 'window'];

/** A flow of /status with the extra field the trials read (the daemon serves more than FlowStatus names). */
export interface DaemonFlowStatus extends FlowStatus {
  /** uplink packets held over the flow's life */
  heldTotal?: number;
}

/**
 * The daemon's /status (StatusSnapshot) with the extra sections the trials read, all optional:
 * StatusSnapshot types them as `unknown` extras.
 */
export interface DaemonStatus extends StatusSnapshot {
  flows: DaemonFlowStatus[];
  counters?: { internalErrors?: number };
  queueModel?: { departures?: number; matched?: number };
  taps?: Array<{ delivered?: number }>;
  rtp?: {
    list?: Array<{ mode: string; capsEngaged?: number; capsLifted?: number; rembSent?: number; history: Array<{ event: string; mode: string; tUs: number }> }>;
    counters?: {
      feedbackBuilt?: { twcc: number };
      clientFeedbackDropped?: { twcc: number };
      clientFeedbackRewritten?: { twcc: number };
      reportedBackwards?: number;
      rembSent?: number;
      clientFeedbackPassed?: { twcc: number };
      reportTiming?: { reportedObserved: number; raisedToPrevious: number; predictionsChecked: number; predictionsBad: number };
    };
  };
  /** wall - monotonic clock of the daemon (µs): maps its reported times onto captures */
  clock?: { wallMinusMonoUs?: number };
}

export interface DaemonProc {
  child: ChildProcess;
  logLines: string[];
  /**
   * GET /status through the ap namespace (curl-free: node fetch inside `ip netns exec`): a
   * DaemonStatus; a test that reads further sections of it names their shape as T.
   */
  status<T extends object = DaemonStatus>(): Promise<T>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  configPath: string;
  /** what the daemon printed so far (stderr, then its last log lines), for a failure's message */
  output(): string;
}

export interface DaemonProcOptions {
  metricsPort?: number;
  extraYaml?: string;
  logLevel?: string;
  /**
   * Run as this unprivileged user with only CAP_NET_ADMIN and CAP_NET_RAW (setpriv: ambient
   * capabilities, as the systemd unit's AmbientCapabilities or procd's `capabilities` give them).
   */
  asUser?: { uid: number; gid: number };
  /** environment over this process's (e.g. a PATH whose iptables fails on demand) */
  env?: Record<string, string>;
}

/** The daemon config lines for a scenario's ackMode ('' when absent: the daemon's default). */
export function ackModeYaml(ackMode: AckMode | undefined): string {
  return ackMode !== undefined ? `feedbackUpdater:\n  mode: ${ackMode}\n` : '';
}

export function daemonConfigYaml(tb: Testbed, o: DaemonProcOptions = {}): string {
  return [
    'interfaces:',
    `  eth: ${tb.ifaces.apEth}`,
    `  wlan: ${tb.ifaces.apWlan}`,
    'metrics:',
    `  listen: 127.0.0.1:${o.metricsPort ?? 9469}`,
    'log:',
    `  level: ${o.logLevel ?? 'info'}`,
    o.extraYaml ?? '',
  ].join('\n');
}

/** Starts `zhuge run` in the ap namespace; resolves once it logged "zhuge started". */
export async function startDaemon(tb: Testbed, o: DaemonProcOptions = {}): Promise<DaemonProc> {
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-daemon-'));
  const configPath = join(dir, 'zhuge.yaml');
  writeFileSync(configPath, daemonConfigYaml(tb, o));
  if (o.asUser !== undefined) {
    chmodSync(dir, 0o755);
    chmodSync(configPath, 0o644);
  }
  const port = o.metricsPort ?? 9469;
  const asUser =
    o.asUser === undefined
      ? []
      : ['setpriv', `--reuid=${o.asUser.uid}`, `--regid=${o.asUser.gid}`, '--clear-groups', '--inh-caps=-all,+net_admin,+net_raw', '--ambient-caps=+net_admin,+net_raw', '--bounding-set=-all,+net_admin,+net_raw'];
  const child = spawn('ip', ['netns', 'exec', tb.ns.ap, ...asUser, process.execPath, distScript('../src/cli'), 'run', '--config', configPath, '--instance', tb.prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.env !== undefined ? { env: { ...process.env, ...o.env } } : {}),
  });
  const logLines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const t = setTimeout(() => reject(new Error(`zhuge did not start in 15 s: ${stderr}${logLines.join('\n')}`)), 15_000);
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (logLines.length < 10_000) logLines.push(l);
        if (!ready && l.includes('"zhuge started"')) {
          ready = true;
          clearTimeout(t);
          resolve();
        }
      });
    }
    void exited.then((code) => {
      if (!ready) {
        clearTimeout(t);
        reject(new Error(`zhuge exited ${String(code)} before starting: ${stderr}${logLines.join('\n')}`));
      }
    });
  });
  return {
    child,
    logLines,
    configPath,
    output: () => `${stderr}${logLines.slice(-40).join('\n')}`,
    status: async <T extends object = DaemonStatus>(): Promise<T> => {
      const r = await tb.exec('ap', process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/status').then(r=>r.text()).then(t=>process.stdout.write(t))`]);
      return JSON.parse(r.stdout) as T;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Stops the daemon; a non-zero exit after SIGTERM fails the trial. */
export async function stopDaemon(daemon: DaemonProc): Promise<void> {
  const code = await daemon.stop();
  if (code !== 0) throw new Error(`zhuge exited ${String(code)} after SIGTERM`);
}

/** Uplink packets held on `flows` over their life, and the mean delay added to one (ms, 0 when none). */
export function heldSummary(flows: readonly DaemonFlowStatus[]): { heldPackets: number; meanAddedDelayMs: number } {
  const held = flows.reduce((a, f) => a + (f.heldTotal ?? 0), 0);
  return { heldPackets: held, meanAddedDelayMs: held > 0 ? flows.reduce((a, f) => a + (f.heldTotal ?? 0) * (f.addedDelayMs ?? 0), 0) / held : 0 };
}
