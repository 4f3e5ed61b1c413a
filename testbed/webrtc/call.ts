/**
 * A real WebRTC call between two headless Chromium browsers (Debian's package, driven by
 * playwright-core; never a downloaded browser) through the netns testbed:
 *
 *   srv namespace: sender page (canvas with a barcode clock, canvas.captureStream)
 *        │ RTP/RTCP over UDP, srv 10.N.1.1 <-> cli 10.N.3.2, through wan and ap (the bottleneck)
 *   cli namespace: receiver page (decodes the barcode of each presented frame)
 *
 * Each browser runs inside its namespace through a generated wrapper script
 * (`exec ip netns exec <ns> chromium "$@"`): Playwright talks to it over --remote-debugging-pipe
 * on inherited file descriptors, which survive `ip netns exec`. Both run with
 * --disable-webrtc-encryption (SDP RTP/AVPF, plaintext RTP and RTCP: what zhuge's in-band path
 * needs). Signalling (non-trickle SDP) goes through this process via page.evaluate; candidates
 * other than the namespace's lab address over UDP are removed from the SDP, so ICE can only use
 * the lab path.
 *
 * All series come back with timestamps on this process's monotonic clock (monoNowMs).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { WallToMono } from '../../src/daemon/clock.js';
import type { Testbed } from '../topology.js';
import { monoNowMs } from '../traffic.js';
import { PAGE_HTML, type PageApi, type PageDrain, type SelectedPair } from './page.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags given to both browsers (on top of Playwright's own). `--disable-features` values are
 * merged by the wrapper with Playwright's own `--disable-features` (Chromium keeps only the last).
 * WebRtcHideLocalIpsWithMdns: the pages never call getUserMedia, so without this Chromium would
 * hide host candidates behind mDNS names, which nothing in the lab resolves.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-webrtc-encryption',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface SenderSample {
  tMs: number;
  availableOutgoingBitrateBps: number | null;
  /** candidate-pair currentRoundTripTime (STUN consent checks) */
  rttMs: number | null;
  /** remote-inbound-rtp roundTripTime (RTCP RR) */
  remoteRttMs: number | null;
  bitrateBps: number | null;
  bytesSent: number;
  packetsSent: number;
  retransmittedBytesSent: number;
  /** seconds packets spent in the sender's pacer, summed (outbound-rtp totalPacketSendDelay) */
  totalPacketSendDelayS: number;
  /** key frames encoded, and key frames asked for by the receiver (PLI) */
  keyFramesEncoded: number;
  pliCount: number;
  framesEncoded: number;
  framesSent: number;
  fps: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
  targetBitrateBps: number | null;
  qualityLimitationReason: string | null;
  nackCount: number;
}

export interface ReceiverSample {
  tMs: number;
  fps: number | null;
  decodedFps: number | null;
  framesReceived: number;
  framesDecoded: number;
  framesDropped: number;
  freezeCount: number;
  totalFreezesDurationS: number;
  jitterBufferDelayS: number;
  jitterBufferEmittedCount: number;
  jitterBufferMs: number | null;
  bitrateBps: number | null;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  nackCount: number;
  frameWidth: number | null;
  frameHeight: number | null;
}

export interface FrameSample {
  /** when the receiver presented the frame */
  tMs: number;
  /** receiver Date.now() - the sender's Date.now() when it drew the frame */
  delayMs: number;
  seq: number;
  width: number;
  height: number;
}

export type RtcSample =
  | ({ kind: 'sender' } & SenderSample)
  | ({ kind: 'receiver' } & ReceiverSample)
  | ({ kind: 'frame' } & FrameSample);

export interface RtcCallOptions {
  durationS: number;
  width?: number;
  height?: number;
  fps?: number;
  /** encoder cap (RTCRtpSender encodings[0].maxBitrate); default: libwebrtc's own */
  maxBitrateBps?: number;
  /** called (in batches, every ~250 ms) with every sample as it arrives */
  onSample?: (s: RtcSample) => void;
  /** called once both peers are connected; the call's duration counts from here */
  onConnected?: (monoMs: number) => void;
  chromiumPath?: string;
  /** ICE + DTLS-less connect timeout (default 15 s) */
  connectTimeoutMs?: number;
  /**
   * DTLS-SRTP as browsers use by default (RTCP encrypted: zhuge's SRTCP fallback) instead of
   * the plaintext call (both browsers with --disable-webrtc-encryption). Default false.
   */
  encrypted?: boolean;
}

export interface RtcCallResult {
  offerSdp: string;
  answerSdp: string;
  /** when the signalling started, when both peers were connected, when the measured window ended */
  startMonoMs: number;
  connectedMonoMs: number;
  endMonoMs: number;
  selectedPair: { sender: SelectedPair | null; receiver: SelectedPair | null };
  sender: SenderSample[];
  receiver: ReceiverSample[];
  frames: FrameSample[];
  /** presented frames whose barcode did not pass the CRC */
  undecodedFrames: number;
  connectionStates: Array<{ side: 'sender' | 'receiver'; tMs: number; state: string }>;
  /** CPU time of each browser's process tree over the connected window */
  cpu: { senderS: number; receiverS: number; windowS: number };
  /** page console errors and page errors (for diagnosis) */
  pageErrors: string[];
}

/** Keeps only `a=candidate` lines of UDP candidates on `addr` (and drops end-of-candidates noise). */
export function filterCandidates(sdp: string, addr: string): string {
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith('a=candidate:')) {
      const f = l.split(' ');
      // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
      if (f[2]?.toLowerCase() !== 'udp' || f[4] !== addr) continue;
    }
    out.push(l);
  }
  return out.join('\r\n');
}

/** With ZHUGE_CHROMIUM_LOG_DIR: WebRTC's own log lines (RTC_LOG) of the congestion controller, on stderr. */
export const CHROMIUM_LOG_ARGS: readonly string[] = [
  '--enable-logging=stderr',
  '--v=0',
  '--vmodule=*/congestion_controller/*=3,*/remote_bitrate_estimator/*=3,*/pacing/*=2,*/rtp_transport_controller_send*=3',
];

/** The wrapper Playwright launches: records its pid, merges --disable-features, enters the netns. */
export function wrapperScript(ns: string, chromiumPath: string, pidFile: string, stderrFile?: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    `echo $$ > ${q(pidFile)}`,
    'df=""',
    'for a in "$@"; do',
    '  shift',
    '  case "$a" in',
    '    --disable-features=*) df="${df:+$df,}${a#--disable-features=}" ;;',
    '    *) set -- "$@" "$a" ;;',
    '  esac',
    'done',
    `exec ip netns exec ${q(ns)} ${q(chromiumPath)} "$@" \${df:+"--disable-features=$df"}${stderrFile !== undefined ? ` 2>>${q(stderrFile)}` : ''}`,
    '',
  ].join('\n');
}

interface Peer {
  ctx: BrowserContext;
  page: Page;
  dir: string;
  pidFile: string;
  errors: string[];
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** utime+stime (s) of every process in the namespace (the browser is all that runs there). */
function nsCpuTicks(ns: string): Map<number, number> {
  const m = new Map<number, number>();
  let pids: string[];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter((p) => p !== '');
  } catch {
    return m;
  }
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after ")": state(3) ... utime(14) stime(15) → indexes 11, 12
      m.set(Number(p), Number(f[11]) + Number(f[12]));
    } catch {
      // exited
    }
  }
  return m;
}

function cpuDeltaS(a: Map<number, number>, b: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of b) ticks += t - (a.get(pid) ?? 0);
  return ticks / 100;
}

interface PeerDir {
  dir: string;
  pidFile: string;
}

function preparePeerDir(): PeerDir {
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-rtc-'));
  return { dir, pidFile: join(dir, 'browser.pid') };
}

async function launchPeer(ns: string, chromiumPath: string, errors: string[], { dir, pidFile }: PeerDir, encrypted: boolean): Promise<Peer> {
  const wrapper = join(dir, 'chromium-in-netns.sh');
  // ZHUGE_CHROMIUM_LOG_DIR: the browsers' own logs (WebRTC's congestion controller at verbose
  // level) kept as <dir>/<netns>.log, for the evidence of what GCC decided (docs/results/rtc-evidence.md)
  const logDir = process.env['ZHUGE_CHROMIUM_LOG_DIR'];
  writeFileSync(wrapper, wrapperScript(ns, chromiumPath, pidFile, logDir !== undefined ? join(logDir, `${ns}.log`) : undefined));
  chmodSync(wrapper, 0o755);
  let ctx: BrowserContext | undefined;
  try {
    ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: wrapper,
      headless: true,
      args: [...(encrypted ? CHROMIUM_ARGS.filter((a) => a !== '--disable-webrtc-encryption') : CHROMIUM_ARGS), ...(logDir !== undefined ? CHROMIUM_LOG_ARGS : [])],
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      timeout: 30_000,
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('pageerror', (e) => errors.push(`${ns}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${ns}: ${m.text()}`);
    });
    await page.route('http://localhost/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE_HTML }));
    await page.goto('http://localhost/');
    return { ctx, page, dir, pidFile, errors };
  } catch (e) {
    await ctx?.close().catch(() => undefined);
    killGroup(pidFile);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function killGroup(pidFile: string): void {
  const pid = readPid(pidFile);
  if (pid === undefined) return;
  // Playwright starts the browser detached: the wrapper's pid (exec'd into chromium) leads its group
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function closePeer(p: Peer): Promise<void> {
  await Promise.race([p.ctx.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  killGroup(p.pidFile);
  rmSync(p.dir, { recursive: true, force: true });
}

const api = (page: Page) => ({
  startSender: (o: Parameters<PageApi['startSender']>[0]) =>
    page.evaluate((a) => (globalThis as unknown as { zg: PageApi }).zg.startSender(a), o),
  acceptAnswer: (sdp: string) => page.evaluate((s) => (globalThis as unknown as { zg: PageApi }).zg.acceptAnswer(s), sdp),
  startReceiver: (sdp: string) => page.evaluate((s) => (globalThis as unknown as { zg: PageApi }).zg.startReceiver(s), sdp),
  connected: (ms: number) => page.evaluate((t) => (globalThis as unknown as { zg: PageApi }).zg.connected(t), ms),
  drain: () => page.evaluate(() => (globalThis as unknown as { zg: PageApi }).zg.drain()),
  selectedPair: () => page.evaluate(() => (globalThis as unknown as { zg: PageApi }).zg.selectedPair()),
  stop: () => page.evaluate(() => (globalThis as unknown as { zg: PageApi }).zg.stop()),
});

/** Runs one call for `durationS` after both peers connected; always closes both browsers. */
export async function runRtcCall(tb: Testbed, o: RtcCallOptions): Promise<RtcCallResult> {
  const chromiumPath = o.chromiumPath ?? DEFAULT_CHROMIUM;
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}`);
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const fps = o.fps ?? 30;
  const w2m = new WallToMono();
  const toMono = (wallMs: number): number => w2m.toMono(wallMs * 1000) / 1000;
  const peers: Peer[] = [];
  const dirs: PeerDir[] = [];
  const errors: string[] = [];
  const onSigint = (): void => {
    for (const p of dirs) {
      killGroup(p.pidFile);
      rmSync(p.dir, { recursive: true, force: true });
    }
    process.removeListener('SIGINT', onSigint);
    process.kill(process.pid, 'SIGINT');
  };
  process.on('SIGINT', onSigint);
  const result: RtcCallResult = {
    offerSdp: '',
    answerSdp: '',
    startMonoMs: monoNowMs(),
    connectedMonoMs: Number.NaN,
    endMonoMs: Number.NaN,
    selectedPair: { sender: null, receiver: null },
    sender: [],
    receiver: [],
    frames: [],
    undecodedFrames: 0,
    connectionStates: [],
    cpu: { senderS: Number.NaN, receiverS: Number.NaN, windowS: Number.NaN },
    pageErrors: errors,
  };
  try {
    const launched = await Promise.allSettled(
      [tb.ns.srv, tb.ns.cli].map((ns) => {
        const d = preparePeerDir();
        dirs.push(d);
        return launchPeer(ns, chromiumPath, errors, d, o.encrypted === true);
      }),
    );
    for (const l of launched) if (l.status === 'fulfilled') peers.push(l.value);
    const failed = launched.find((l) => l.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [snd, rcv] = peers;
    if (snd === undefined || rcv === undefined) throw new Error('browser launch failed');
    const S = api(snd.page);
    const R = api(rcv.page);
    result.startMonoMs = monoNowMs();
    result.offerSdp = filterCandidates(await S.startSender({ width, height, fps, maxBitrateBps: o.maxBitrateBps ?? null }), tb.addrs.srv);
    result.answerSdp = filterCandidates(await R.startReceiver(result.offerSdp), tb.addrs.cli);
    await S.acceptAnswer(result.answerSdp);
    const timeout = o.connectTimeoutMs ?? 15_000;
    await Promise.all([S.connected(timeout), R.connected(timeout)]);
    result.connectedMonoMs = monoNowMs();
    o.onConnected?.(result.connectedMonoMs);
    const cpu0 = [nsCpuTicks(tb.ns.srv), nsCpuTicks(tb.ns.cli)] as const;

    const absorb = (d: PageDrain, side: 'sender' | 'receiver'): void => {
      for (const s of d.states) result.connectionStates.push({ side, tMs: toMono(s.tWallMs), state: s.state });
      result.undecodedFrames += d.undecoded;
      for (const x of d.sender) {
        const s: SenderSample = {
          tMs: toMono(x.tWallMs),
          availableOutgoingBitrateBps: x.availableOutgoingBitrateBps,
          rttMs: x.currentRttMs,
          remoteRttMs: x.remoteRttMs,
          bitrateBps: x.bitrateBps,
          bytesSent: x.bytesSent,
          packetsSent: x.packetsSent,
          retransmittedBytesSent: x.retransmittedBytesSent,
          totalPacketSendDelayS: x.totalPacketSendDelayS,
          keyFramesEncoded: x.keyFramesEncoded,
          pliCount: x.pliCount,
          framesEncoded: x.framesEncoded,
          framesSent: x.framesSent,
          fps: x.fps,
          frameWidth: x.frameWidth,
          frameHeight: x.frameHeight,
          targetBitrateBps: x.targetBitrateBps,
          qualityLimitationReason: x.qualityLimitationReason,
          nackCount: x.nackCount,
        };
        result.sender.push(s);
        o.onSample?.({ kind: 'sender', ...s });
      }
      for (const x of d.receiver) {
        const { tWallMs, connectionState: _c, ...rest } = x;
        const s: ReceiverSample = { tMs: toMono(tWallMs), ...rest };
        result.receiver.push(s);
        o.onSample?.({ kind: 'receiver', ...s });
      }
      for (const x of d.frames) {
        const s: FrameSample = { tMs: toMono(x.tWallMs), delayMs: x.delayMs, seq: x.seq, width: x.width, height: x.height };
        result.frames.push(s);
        o.onSample?.({ kind: 'frame', ...s });
      }
    };
    const endAt = result.connectedMonoMs + o.durationS * 1000;
    while (monoNowMs() < endAt) {
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, endAt - monoNowMs()))));
      w2m.maybeRecheck();
      const [ds, dr] = await Promise.all([S.drain(), R.drain()]);
      absorb(ds, 'sender');
      absorb(dr, 'receiver');
    }
    result.endMonoMs = monoNowMs();
    const cpu1 = [nsCpuTicks(tb.ns.srv), nsCpuTicks(tb.ns.cli)] as const;
    result.cpu = {
      senderS: cpuDeltaS(cpu0[0], cpu1[0]),
      receiverS: cpuDeltaS(cpu0[1], cpu1[1]),
      windowS: (result.endMonoMs - result.connectedMonoMs) / 1000,
    };
    result.selectedPair = { sender: await S.selectedPair(), receiver: await R.selectedPair() };
    await Promise.all([S.stop(), R.stop()]).catch(() => undefined);
    return result;
  } finally {
    await Promise.all(peers.map((p) => closePeer(p)));
    for (const d of dirs) rmSync(d.dir, { recursive: true, force: true });
    process.removeListener('SIGINT', onSigint);
  }
}
