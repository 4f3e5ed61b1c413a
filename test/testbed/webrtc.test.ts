/**
 * The WebRTC call harness (testbed/webrtc/): the page's barcode clock, the SDP candidate filter
 * and the namespace wrapper (no privileges), then a real call between two headless Chromium
 * browsers in the srv and cli namespaces of a 3 Mbit/s testbed (root + Debian's chromium).
 * The drop trial (3 → 0.3 Mbit/s at 15 s of 30 s) runs only with ZHUGE_RTC_DROP=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { down, up, type Testbed } from '../../testbed/topology.js';
import { barcodeCodec } from '../../testbed/webrtc/barcode.js';
import { DEFAULT_CHROMIUM, filterCandidates, runRtcCall, wrapperScript } from '../../testbed/webrtc/call.js';
import { quantile, summarizeRtc } from '../../testbed/webrtc/metrics.js';

const isRoot = process.getuid?.() === 0;
const hasChromium = existsSync(DEFAULT_CHROMIUM);

const bc = barcodeCodec();

/** Renders bits as the receiver's scaled strip (STRIP_W x STRIP_H RGBA) with per-pixel noise. */
function renderStrip(bits: readonly number[], noise: (i: number) => number): Uint8ClampedArray {
  const w = bc.STRIP_W;
  const h = bc.STRIP_H;
  const px = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const bit = bits[Math.floor(y / (h / 2)) * 24 + Math.floor(x / (w / 24))] ?? 0;
      const p = (y * w + x) * 4;
      const v = (bit === 1 ? 20 : 235) + noise(p);
      px[p] = v;
      px[p + 1] = v;
      px[p + 2] = v;
      px[p + 3] = 255;
    }
  }
  return px;
}

describe('barcode clock (the page code, evaluated in Node)', () => {
  it.each([
    [0, 0],
    [1_700_000_000_123, 7],
    [2 ** 32 - 1, 255],
    [Date.UTC(2030, 0, 1), 128],
  ])('wall %d seq %d round-trips through the rendered strip', (wallMs, seq) => {
    const bits = bc.encode(wallMs, seq);
    expect(bits).toHaveLength(48);
    const d = bc.decodeBits(bc.readBits(renderStrip(bits, () => 0)));
    expect(d).toEqual({ t32: wallMs % 2 ** 32, seq });
  });

  it('survives noise below half the black/white contrast', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 0, max: 255 }), fc.integer(), (wallMs, seq, seed) => {
        let s = seed >>> 0;
        const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 180 - 90;
        const d = bc.decodeBits(bc.readBits(renderStrip(bc.encode(wallMs, seq), rnd)));
        expect(d).toEqual({ t32: wallMs % 2 ** 32, seq });
      }),
      { numRuns: 200 },
    );
  });

  it('every single- and double-bit error is rejected by the CRC', () => {
    const bits = bc.encode(1_700_000_000_000, 42);
    for (let i = 0; i < 48; i++) {
      for (let j = i; j < 48; j++) {
        const m = [...bits];
        m[i] = 1 - (m[i] ?? 0);
        if (j !== i) m[j] = 1 - (m[j] ?? 0);
        expect(bc.decodeBits(m)).toBeNull();
      }
    }
  });

  it('delay across the 2^32 ms wrap, and implausible (negative or > 10 min) delays rejected', () => {
    expect(bc.delayMs(2 ** 32 - 10, 2 ** 32 * 400 + 25)).toBe(35);
    expect(bc.delayMs(1000, 2 ** 32 * 3 + 1040)).toBe(40);
    expect(bc.delayMs(1000, 2 ** 32 * 3 + 990)).toBeNull();
    expect(bc.delayMs(0, 600_001)).toBeNull();
  });
});

describe('SDP candidate filter', () => {
  const sdp = [
    'v=0',
    'm=video 9 RTP/AVPF 96',
    'a=candidate:1 1 udp 2122260223 10.7.1.1 50000 typ host generation 0',
    'a=candidate:2 1 tcp 1518280447 10.7.1.1 9 typ host tcptype active',
    'a=candidate:3 1 udp 2122262783 fe80::1 50001 typ host',
    'a=candidate:4 1 udp 2122260223 10.7.1.10 50002 typ host',
    'a=candidate:5 1 udp 2122260223 abcd.local 50003 typ host',
    'a=end-of-candidates',
    '',
  ].join('\r\n');
  it('keeps only UDP candidates on the lab address', () => {
    const out = filterCandidates(sdp, '10.7.1.1');
    expect(out.split('\r\n').filter((l) => l.startsWith('a=candidate'))).toEqual([
      'a=candidate:1 1 udp 2122260223 10.7.1.1 50000 typ host generation 0',
    ]);
    expect(out).toContain('m=video 9 RTP/AVPF 96\r\n');
    expect(out.endsWith('a=end-of-candidates\r\n')).toBe(true);
  });
});

describe('namespace wrapper script', () => {
  it("with a log file, appends the browser's stderr to it (ZHUGE_CHROMIUM_LOG_DIR)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-rtc-wrap-'));
    try {
      // a fake `ip` that writes its last argument to stderr
      writeFileSync(join(dir, 'ip'), '#!/bin/sh\nfor a in "$@"; do last="$a"; done\necho "log $last" >&2\n');
      chmodSync(join(dir, 'ip'), 0o755);
      const log = join(dir, "br o'k.log");
      writeFileSync(join(dir, 'w.sh'), wrapperScript('ns', '/usr/bin/chromium', join(dir, 'pid'), log));
      const env = { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` };
      execFileSync('sh', [join(dir, 'w.sh'), '--one'], { env });
      execFileSync('sh', [join(dir, 'w.sh'), '--two'], { env });
      expect(readFileSync(log, 'utf8')).toBe('log --one\nlog --two\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });


  it('enters the netns, records its pid, keeps arguments intact and merges --disable-features', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-rtc-wrap-'));
    try {
      // a fake `ip` that prints its argv, one per line
      writeFileSync(join(dir, 'ip'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
      chmodSync(join(dir, 'ip'), 0o755);
      const pidFile = join(dir, 'pid');
      writeFileSync(join(dir, 'w.sh'), wrapperScript("ns-o'k", '/usr/bin/chromium', pidFile));
      const out = execFileSync(
        'sh',
        [join(dir, 'w.sh'), '--a', '--disable-features=X,Y', '--host-resolver-rules=MAP * ~NOTFOUND', '--disable-features=Z', '--remote-debugging-pipe'],
        { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` } },
      );
      expect(out.split('\n').filter((l) => l !== '')).toEqual([
        'netns',
        'exec',
        "ns-o'k",
        '/usr/bin/chromium',
        '--a',
        '--host-resolver-rules=MAP * ~NOTFOUND',
        '--remote-debugging-pipe',
        '--disable-features=X,Y,Z',
      ]);
      expect(Number(readFileSync(pidFile, 'utf8'))).toBeGreaterThan(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the real call ----------------------------------------------------------------------------

const uniq = `${process.pid.toString(36).slice(-3)}${Date.now().toString(36).slice(-3)}`;
const PREFIX = `zgw${uniq}`;

interface RtcpSeen {
  datagrams: number;
  plaintextCompound: number;
  twcc: number;
  rtp: number;
}

/** Walks UDP datagrams (Ethernet/IPv4) of a pcap: RTP from src, RTCP compounds from dst side. */
function scanCapture(file: string, srvAddr: string, cliAddr: string): RtcpSeen {
  const seen: RtcpSeen = { datagrams: 0, plaintextCompound: 0, twcc: 0, rtp: 0 };
  const ip4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  for (const rec of readCapture(readFileSync(file))) {
    const b = rec.data;
    if (rec.linkType !== 1 || b.length < 14 + 20 + 8 || b[12] !== 0x08 || b[13] !== 0x00) continue;
    const ihl = ((b[14] ?? 0) & 0x0f) * 4;
    if (b[14 + 9] !== 17) continue;
    const src = ip4(b, 14 + 12);
    const dst = ip4(b, 14 + 16);
    const udp = 14 + ihl;
    const udpLen = ((b[udp + 4] ?? 0) << 8) | (b[udp + 5] ?? 0);
    const pay = b.subarray(udp + 8, udp + udpLen);
    if (pay.length < 8 || pay.length !== udpLen - 8 || ((pay[0] ?? 0) >> 6) !== 2) continue;
    seen.datagrams++;
    const pt = pay[1] ?? 0;
    if (src === srvAddr && dst === cliAddr && (pt & 0x7f) >= 96 && (pt & 0x7f) <= 127) seen.rtp++;
    if (pt < 200 || pt > 206) continue;
    // plaintext compound RTCP: the length fields add up to the datagram exactly (SRTCP would
    // leave a 4-byte index and a 10-byte tag after the last packet)
    let o = 0;
    let twcc = false;
    while (o + 4 <= pay.length && ((pay[o] ?? 0) >> 6) === 2) {
      if (pay[o + 1] === 205 && ((pay[o] ?? 0) & 0x1f) === 15) twcc = true;
      o += ((((pay[o + 2] ?? 0) << 8) | (pay[o + 3] ?? 0)) + 1) * 4;
    }
    if (o === pay.length) {
      seen.plaintextCompound++;
      if (twcc && src === cliAddr) seen.twcc++;
    }
  }
  return seen;
}

const skipReason = !isRoot ? 'needs root' : !hasChromium ? `needs ${DEFAULT_CHROMIUM} (apt-get install chromium)` : 'root + chromium';

describe.skipIf(!isRoot || !hasChromium)(`WebRTC call through the testbed (${skipReason})`, () => {
  let tb: Testbed;
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-rtc-test-'));

  beforeAll(async () => {
    tb = await up({ prefix: PREFIX, rateBps: 3e6, bufferMs: 100 });
  });

  afterAll(async () => {
    await down(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 15 s call at 3 Mbit/s: connects over the lab, plaintext RTCP, frames decoded, barcode delays plausible', async () => {
    const pcap = join(dir, 'ap.pcap');
    let cap: ChildProcess | undefined;
    let capErr = '';
    const capDone = new Promise<void>((resolve) => {
      cap = tb.spawn('ap', 'dumpcap', ['-q', '-i', tb.ifaces.apWlan, '-f', 'udp', '-s', '2000', '-c', '600', '-a', 'duration:25', '-P', '-w', pcap]);
      cap.stderr?.on('data', (b: Buffer) => (capErr += b.toString()));
      cap.once('exit', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 300));
    let samplesSeen = 0;
    const r = await runRtcCall(tb, { durationS: 15, onSample: () => samplesSeen++ });
    if (cap !== undefined && cap.exitCode === null) cap.kill('SIGTERM');
    await capDone;

    // the call ran on the lab addresses, plaintext (RTP/AVPF, no DTLS)
    expect(r.selectedPair.sender).toMatchObject({ localAddress: tb.addrs.srv, remoteAddress: tb.addrs.cli, protocol: 'udp' });
    expect(r.selectedPair.receiver).toMatchObject({ localAddress: tb.addrs.cli, remoteAddress: tb.addrs.srv, protocol: 'udp' });
    for (const sdp of [r.offerSdp, r.answerSdp]) {
      expect(sdp).toMatch(/^m=video \d+ RTP\/AVPF /m);
      expect(sdp).toMatch(/^a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/m);
    }
    expect(existsSync(pcap), `dumpcap in ap: ${capErr}`).toBe(true);
    const seen = scanCapture(pcap, tb.addrs.srv, tb.addrs.cli);
    expect(seen.rtp).toBeGreaterThan(100);
    expect(seen.plaintextCompound).toBeGreaterThan(5);
    expect(seen.twcc).toBeGreaterThan(0);

    const all = summarizeRtc(r, r.endMonoMs, r.endMonoMs, { preWindowMs: r.endMonoMs - r.connectedMonoMs });
    const s = all.before;
    const windowS = (r.endMonoMs - r.connectedMonoMs) / 1000;
    const delays = r.frames.map((f) => f.delayMs);
    // presented frames advance the sequence by a small step (the compositor may skip a frame)
    const seqSteps = r.frames.slice(1).filter((f, i) => {
      const step = (f.seq - (r.frames[i]?.seq ?? f.seq) + 256) & 0xff;
      return step >= 1 && step <= 4;
    }).length;
    const avail = r.sender.map((x) => x.availableOutgoingBitrateBps).filter((x): x is number => x !== null && x > 0);
    console.log(
      JSON.stringify({
        window: s,
        frames: r.frames.length,
        undecoded: r.undecodedFrames,
        framesDecoded: r.receiver.at(-1)?.framesDecoded,
        cpu: r.cpu,
        capture: seen,
        pageErrors: r.pageErrors.slice(0, 5),
      }),
    );
    // frames decoded for ≥ 90% of the time
    expect(s.fpsBelow10Seconds).toBeLessThanOrEqual(0.1 * windowS);
    expect(r.receiver.length).toBeGreaterThan(windowS * 5);
    // the barcode decodes: most presented frames carry a valid clock, in sequence
    expect(r.frames.length).toBeGreaterThan(windowS * 15);
    expect(r.undecodedFrames).toBeLessThan(0.05 * r.frames.length);
    expect(seqSteps).toBeGreaterThan(0.95 * (r.frames.length - 1));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(quantile(delays, 0.5)).toBeGreaterThan(1);
    expect(s.frameDelayP50Ms).toBeLessThan(300);
    // GCC's estimate is reported
    expect(avail.length).toBeGreaterThan(windowS * 5);
    expect(samplesSeen).toBe(r.sender.length + r.receiver.length + r.frames.length);
    // series are on this process's monotonic clock, inside the call
    for (const x of [r.sender[0], r.receiver.at(-1), r.frames[0]]) {
      expect(x?.tMs).toBeGreaterThan(r.startMonoMs - 50);
      expect(x?.tMs).toBeLessThan(r.endMonoMs + 50);
    }
  }, 60_000);

  // the drop scenario itself runs in CI with and without zhuge: test/integration/rtc-drop.test.ts
});
