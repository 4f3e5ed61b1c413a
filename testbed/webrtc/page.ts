/**
 * The call page, served to both browsers as http://localhost/ through Playwright's request
 * routing (no server). The harness drives it through `globalThis.zg` (see PageApi):
 *
 *   sender   (srv): canvas W x H, a frame every 1000/fps ms drawn on a self-correcting timer with
 *                   moving content and the barcode of Date.now() (barcode.ts), sent as
 *                   canvas.captureStream(0) + requestFrame() (one RTP frame per drawn frame).
 *   receiver (cli): <video> of the remote track; requestVideoFrameCallback reads the barcode of
 *                   every presented frame -> frame delay = Date.now() - encoded time.
 *
 * Signalling is non-trickle: each side returns its SDP once ICE gathering completed, and the
 * harness copies it to the other page. Both pages poll getStats() every 100 ms; the harness
 * drains the buffered samples (`zg.drain()`).
 */
import { BARCODE_JS } from './barcode.js';

export interface PageSenderSample {
  tWallMs: number;
  /** candidate-pair (selected) */
  availableOutgoingBitrateBps: number | null;
  currentRttMs: number | null;
  /** remote-inbound-rtp (from RTCP receiver reports) */
  remoteRttMs: number | null;
  bytesSent: number;
  packetsSent: number;
  retransmittedBytesSent: number;
  /** outbound-rtp totalPacketSendDelay: seconds packets spent in the sender's pacer, summed */
  totalPacketSendDelayS: number;
  /** outbound-rtp keyFramesEncoded and pliCount (key frames asked for by the receiver) */
  keyFramesEncoded: number;
  pliCount: number;
  /** from bytesSent over the poll interval (RTP payload + headers, as counted by the stats) */
  bitrateBps: number | null;
  framesEncoded: number;
  framesSent: number;
  fps: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
  targetBitrateBps: number | null;
  qualityLimitationReason: string | null;
  nackCount: number;
  connectionState: string;
}

export interface PageReceiverSample {
  tWallMs: number;
  framesReceived: number;
  framesDecoded: number;
  framesDropped: number;
  /** inbound-rtp framesPerSecond */
  fps: number | null;
  /** framesDecoded delta over the poll interval */
  decodedFps: number | null;
  freezeCount: number;
  totalFreezesDurationS: number;
  jitterBufferDelayS: number;
  jitterBufferEmittedCount: number;
  /** jitter buffer delay of the frames emitted during the poll interval */
  jitterBufferMs: number | null;
  bytesReceived: number;
  bitrateBps: number | null;
  packetsReceived: number;
  packetsLost: number;
  nackCount: number;
  frameWidth: number | null;
  frameHeight: number | null;
  connectionState: string;
}

export interface PageFrameSample {
  /** receiver Date.now() when the frame was handed to the compositor callback */
  tWallMs: number;
  delayMs: number;
  seq: number;
  width: number;
  height: number;
}

export interface PageDrain {
  sender: PageSenderSample[];
  receiver: PageReceiverSample[];
  frames: PageFrameSample[];
  undecoded: number;
  states: Array<{ tWallMs: number; state: string }>;
}

export interface SelectedPair {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  protocol: string;
}

/** What the page exposes as globalThis.zg (called from the harness through page.evaluate). */
export interface PageApi {
  startSender(o: { width: number; height: number; fps: number; maxBitrateBps: number | null }): Promise<string>;
  acceptAnswer(sdp: string): Promise<void>;
  startReceiver(offerSdp: string): Promise<string>;
  connected(timeoutMs: number): Promise<string>;
  drain(): PageDrain;
  selectedPair(): Promise<SelectedPair | null>;
  stop(): void;
}

const PAGE_JS = String.raw`
'use strict';
${BARCODE_JS}
var pc = null, role = null, pollTimer = null, drawTimer = null;
var buf = { sender: [], receiver: [], frames: [], undecoded: 0, states: [] };
var prevStats = null;

function num(x) { return typeof x === 'number' && isFinite(x) ? x : null; }

function newPc() {
  var p = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  p.onconnectionstatechange = function () { buf.states.push({ tWallMs: Date.now(), state: 'pc:' + p.connectionState }); };
  p.oniceconnectionstatechange = function () { buf.states.push({ tWallMs: Date.now(), state: 'ice:' + p.iceConnectionState }); };
  return p;
}

function gathered(p) {
  return new Promise(function (resolve) {
    if (p.iceGatheringState === 'complete') return resolve();
    var t = setTimeout(resolve, 5000);
    p.addEventListener('icegatheringstatechange', function () {
      if (p.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

function selectedPairStats(report) {
  var pair = null;
  report.forEach(function (s) {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || null;
  });
  if (pair === null) report.forEach(function (s) { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
  return pair;
}

async function poll() {
  if (pc === null) return;
  var report = await pc.getStats();
  var now = Date.now();
  var pair = selectedPairStats(report);
  var out = null, inb = null, rin = null;
  report.forEach(function (s) {
    if (s.type === 'outbound-rtp' && s.kind === 'video') out = s;
    if (s.type === 'inbound-rtp' && s.kind === 'video') inb = s;
    if (s.type === 'remote-inbound-rtp' && s.kind === 'video') rin = s;
  });
  var dt = prevStats === null ? 0 : (now - prevStats.t) / 1000;
  if (role === 'sender') {
    var bytes = out ? out.bytesSent || 0 : 0;
    buf.sender.push({
      tWallMs: now,
      availableOutgoingBitrateBps: pair ? num(pair.availableOutgoingBitrate) : null,
      currentRttMs: pair && num(pair.currentRoundTripTime) !== null ? pair.currentRoundTripTime * 1000 : null,
      remoteRttMs: rin && num(rin.roundTripTime) !== null ? rin.roundTripTime * 1000 : null,
      bytesSent: bytes,
      packetsSent: out ? out.packetsSent || 0 : 0,
      retransmittedBytesSent: out ? out.retransmittedBytesSent || 0 : 0,
      totalPacketSendDelayS: out ? out.totalPacketSendDelay || 0 : 0,
      keyFramesEncoded: out ? out.keyFramesEncoded || 0 : 0,
      pliCount: out ? out.pliCount || 0 : 0,
      bitrateBps: dt > 0 ? ((bytes - prevStats.bytes) * 8) / dt : null,
      framesEncoded: out ? out.framesEncoded || 0 : 0,
      framesSent: out ? out.framesSent || 0 : 0,
      fps: out ? num(out.framesPerSecond) : null,
      frameWidth: out ? num(out.frameWidth) : null,
      frameHeight: out ? num(out.frameHeight) : null,
      targetBitrateBps: out ? num(out.targetBitrate) : null,
      qualityLimitationReason: out && out.qualityLimitationReason ? out.qualityLimitationReason : null,
      nackCount: out ? out.nackCount || 0 : 0,
      connectionState: pc.connectionState,
    });
    prevStats = { t: now, bytes: bytes };
  } else {
    var rbytes = inb ? inb.bytesReceived || 0 : 0;
    var dec = inb ? inb.framesDecoded || 0 : 0;
    var jbd = inb ? inb.jitterBufferDelay || 0 : 0;
    var jbe = inb ? inb.jitterBufferEmittedCount || 0 : 0;
    buf.receiver.push({
      tWallMs: now,
      framesReceived: inb ? inb.framesReceived || 0 : 0,
      framesDecoded: dec,
      framesDropped: inb ? inb.framesDropped || 0 : 0,
      fps: inb ? num(inb.framesPerSecond) : null,
      decodedFps: dt > 0 ? (dec - prevStats.dec) / dt : null,
      freezeCount: inb ? inb.freezeCount || 0 : 0,
      totalFreezesDurationS: inb ? inb.totalFreezesDuration || 0 : 0,
      jitterBufferDelayS: jbd,
      jitterBufferEmittedCount: jbe,
      jitterBufferMs: prevStats !== null && jbe > prevStats.jbe ? ((jbd - prevStats.jbd) / (jbe - prevStats.jbe)) * 1000 : null,
      bytesReceived: rbytes,
      bitrateBps: dt > 0 ? ((rbytes - prevStats.bytes) * 8) / dt : null,
      packetsReceived: inb ? inb.packetsReceived || 0 : 0,
      packetsLost: inb ? inb.packetsLost || 0 : 0,
      nackCount: inb ? inb.nackCount || 0 : 0,
      frameWidth: inb ? num(inb.frameWidth) : null,
      frameHeight: inb ? num(inb.frameHeight) : null,
      connectionState: pc.connectionState,
    });
    prevStats = { t: now, bytes: rbytes, dec: dec, jbd: jbd, jbe: jbe };
  }
}

function startPolling() {
  if (pollTimer !== null) return;
  pollTimer = setInterval(function () { poll().catch(function () {}); }, 100);
}

// ---- sender ----
var frameNo = 0;
function drawFrame(ctx, w, h) {
  var now = Date.now();
  // moving content: scrolling bars, a bouncing disc, a few changing blocks
  var off = (frameNo * 4) % 64;
  ctx.fillStyle = '#3a6ea5';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#d9a441';
  for (var x = -64 + off; x < w; x += 64) ctx.fillRect(x, h / 6, 24, h);
  var bx = (frameNo * 7) % (2 * w), by = (frameNo * 5) % (2 * h);
  ctx.fillStyle = '#c0392b';
  ctx.beginPath();
  ctx.arc(bx < w ? bx : 2 * w - bx, h / 6 + ((by < h ? by : 2 * h - by) * 5) / 6, h / 8, 0, 2 * Math.PI);
  ctx.fill();
  for (var i = 0; i < 6; i++) {
    ctx.fillStyle = 'hsl(' + ((frameNo * 13 + i * 60) % 360) + ',70%,50%)';
    ctx.fillRect(((i * 97 + frameNo * 3) % w), h / 6 + ((i * 53 + frameNo * 2) % ((h * 5) / 6)), w / 12, h / 12);
  }
  ctx.fillStyle = '#fff';
  ctx.font = Math.round(h / 10) + 'px sans-serif';
  ctx.fillText('#' + frameNo, w / 20, h - h / 20);
  bcDraw(ctx, w, h, bcEncode(now, frameNo & 0xff));
  frameNo++;
}

async function startSender(o) {
  role = 'sender';
  var canvas = document.createElement('canvas');
  canvas.width = o.width;
  canvas.height = o.height;
  document.body.appendChild(canvas);
  var ctx = canvas.getContext('2d');
  var stream = canvas.captureStream(0);
  var track = stream.getVideoTracks()[0];
  drawFrame(ctx, o.width, o.height);
  track.requestFrame();
  var t0 = performance.now(), n = 0, period = 1000 / o.fps;
  var tick = function () {
    drawFrame(ctx, o.width, o.height);
    track.requestFrame();
    n++;
    var next = t0 + n * period;
    var now = performance.now();
    if (now > next + 10 * period) { t0 = now; n = 0; next = now + period; }
    drawTimer = setTimeout(tick, Math.max(0, next - now));
  };
  drawTimer = setTimeout(tick, period);
  pc = newPc();
  var tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  if (o.maxBitrateBps !== null) {
    var p = tr.sender.getParameters();
    if (!p.encodings || p.encodings.length === 0) p.encodings = [{}];
    p.encodings[0].maxBitrate = o.maxBitrateBps;
    await tr.sender.setParameters(p).catch(function () {});
  }
  var offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gathered(pc);
  startPolling();
  return pc.localDescription.sdp;
}

async function acceptAnswer(sdp) {
  await pc.setRemoteDescription({ type: 'answer', sdp: sdp });
}

// ---- receiver ----
var video = null, stripCanvas = null, stripCtx = null;
function onFrame() {
  var now = Date.now();
  var vw = video.videoWidth, vh = video.videoHeight;
  if (vw > 0 && vh > 0) {
    stripCtx.drawImage(video, 0, 0, vw, vh / 6, 0, 0, STRIP_W, STRIP_H);
    var d = bcDecodeBits(bcReadBits(stripCtx.getImageData(0, 0, STRIP_W, STRIP_H).data));
    var delay = d === null ? null : bcDelayMs(d.t32, now);
    if (delay === null) buf.undecoded++;
    else buf.frames.push({ tWallMs: now, delayMs: delay, seq: d.seq, width: vw, height: vh });
  }
  video.requestVideoFrameCallback(onFrame);
}

async function startReceiver(offerSdp) {
  role = 'receiver';
  video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 320;
  video.height = 180;
  document.body.appendChild(video);
  stripCanvas = document.createElement('canvas');
  stripCanvas.width = STRIP_W;
  stripCanvas.height = STRIP_H;
  stripCtx = stripCanvas.getContext('2d', { willReadFrequently: true });
  pc = newPc();
  pc.ontrack = function (e) {
    video.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
    video.play().catch(function () {});
    video.requestVideoFrameCallback(onFrame);
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  var answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await gathered(pc);
  startPolling();
  return pc.localDescription.sdp;
}

function connected(timeoutMs) {
  return new Promise(function (resolve, reject) {
    var t0 = Date.now();
    var check = function () {
      // without DTLS (--disable-webrtc-encryption) connectionState can stay 'connecting': ICE decides
      if (pc !== null && (pc.connectionState === 'connected' || pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed')) return resolve(pc.connectionState + '/' + pc.iceConnectionState);
      if (pc !== null && pc.connectionState === 'failed') return reject(new Error('connection failed'));
      if (Date.now() - t0 > timeoutMs) return reject(new Error('not connected after ' + timeoutMs + ' ms: ' + (pc ? pc.connectionState + '/' + pc.iceConnectionState : 'no pc')));
      setTimeout(check, 20);
    };
    check();
  });
}

async function selectedPair() {
  if (pc === null) return null;
  var report = await pc.getStats();
  var pair = selectedPairStats(report);
  if (pair === null) return null;
  var l = report.get(pair.localCandidateId), r = report.get(pair.remoteCandidateId);
  if (!l || !r) return null;
  return { localAddress: l.address || l.ip, localPort: l.port, remoteAddress: r.address || r.ip, remotePort: r.port, protocol: l.protocol };
}

function drain() {
  var b = buf;
  buf = { sender: [], receiver: [], frames: [], undecoded: 0, states: [] };
  return b;
}

function stop() {
  if (pollTimer !== null) clearInterval(pollTimer);
  if (drawTimer !== null) clearTimeout(drawTimer);
  pollTimer = null;
  drawTimer = null;
  if (pc !== null) pc.close();
}

globalThis.zg = { startSender: startSender, acceptAnswer: acceptAnswer, startReceiver: startReceiver, connected: connected, drain: drain, selectedPair: selectedPair, stop: stop };
`;

export const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>zhuge rtc call</title></head>
<body style="margin:0;background:#000">
<script>${PAGE_JS}</script>
</body></html>
`;
