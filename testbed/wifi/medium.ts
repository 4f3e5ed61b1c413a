/**
 * The Wi-Fi testbed's medium (ours): the userspace program mac80211_hwsim hands every transmitted
 * frame to, once registered on hwsim's generic netlink family (`MAC80211_HWSIM`). It decides when
 * each frame reaches the other radios and when its transmitter gets the tx status, so the air
 * becomes the bottleneck instead of an instant copy. Runs inside the UML kernel (node from the
 * host's files), one per network namespace that holds radios.
 *
 * Protocol (hwsim, kernel 6.12):
 *
 *   kernel -> medium  HWSIM_CMD_FRAME: ADDR_TRANSMITTER (the radio's hw address), FRAME (802.11),
 *                     FLAGS (REQ_TX_STATUS, NO_ACK), TX_INFO (4 x {s8 idx, u8 count}), COOKIE
 *                     (u64), FREQ (u32)
 *   medium -> kernel  HWSIM_CMD_FRAME to each receiving radio: ADDR_RECEIVER, FRAME, RX_RATE
 *                     (u32), SIGNAL (u32), FREQ
 *                     HWSIM_CMD_TX_INFO_FRAME to the transmitter: ADDR_TRANSMITTER, FLAGS (+ACK),
 *                     COOKIE, SIGNAL, TX_INFO (the rates used)
 *
 * The model (v1): one shared channel, one FIFO of frames in transmission order; a frame occupies
 * the air for (bytes + 40) x 8 / rate (40 bytes: PHY preamble and MAC overhead, a rough figure),
 * then is delivered to every other radio and completed (acknowledged unless NO_ACK). The rate
 * comes from --rate-mbps, or from --profile "0:6,5:1.5" (from 0 s 6 Mbit/s, from 5 s 1.5 Mbit/s;
 * seconds since the medium registered: a drop profile, as the qdisc testbed's). A station's link
 * can have a profile of its own: --station 2=0:1.5 (radio 2's frames, to it or from it, at 1.5
 * Mbit/s; radio 0 is the AP). Every frame is logged with its times (ground truth); with --keys a
 * data frame carrying an IP packet also as "d <wall µs delivered> <station radio> <match key>
 * <bytes>", the key the daemon's taps compute for the same packet (src/protocols/flow-key.ts;
 * off by default: decoding every frame costs UML's one CPU, which the other scenarios need).
 *
 *   node dist/testbed/wifi/medium.js --rate-mbps 4 --radios 2 [--profile S:MBPS,...]
 *        [--station RADIO=S:MBPS,...]... [--log FILE [--keys]]
 */
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGenericNetlink, type GenericNetlinkMessage } from 'netlink';
import { packetMatchKey } from '../../src/protocols/flow-key.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { ipOffsetOf80211, receiverAddress } from './frame80211.js';

export const HWSIM_CMD_REGISTER = 1;
export const HWSIM_CMD_FRAME = 2;
export const HWSIM_CMD_TX_INFO_FRAME = 3;
export const HWSIM_ATTR_ADDR_RECEIVER = 1;
export const HWSIM_ATTR_ADDR_TRANSMITTER = 2;
export const HWSIM_ATTR_FRAME = 3;
export const HWSIM_ATTR_FLAGS = 4;
export const HWSIM_ATTR_RX_RATE = 5;
export const HWSIM_ATTR_SIGNAL = 6;
export const HWSIM_ATTR_TX_INFO = 7;
export const HWSIM_ATTR_COOKIE = 8;
export const HWSIM_ATTR_FREQ = 19;
export const HWSIM_TX_CTL_NO_ACK = 1 << 1;
export const HWSIM_TX_STAT_ACK = 1 << 2;
const FRAME_OVERHEAD_BYTES = 40;
/**
 * NLM_F_REQUEST on what the medium sends: the kernel's generic netlink ignores a message without
 * it (the `netlink` package's send() sets no flag unless asked: found when hwsim never saw a
 * frame delivered or completed).
 */
const REQUEST = { flags: 1 };

/** A frame as hwsim handed it to the medium. */
export interface HwsimFrame {
  transmitter: Buffer;
  frame: Buffer;
  flags: number;
  txInfo: Buffer;
  cookie: Buffer;
  freq: number | undefined;
}

/** Netlink attributes: u16 length (header included), u16 type, payload, padded to 4 bytes. */
export function encodeAttrs(attrs: ReadonlyArray<[number, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [type, payload] of attrs) {
    const len = 4 + payload.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    payload.copy(b, 4);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** The attributes of a generic netlink payload by type (a malformed tail ends the walk). */
export function decodeAttrs(data: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let o = 0;
  while (o + 4 <= data.length) {
    const len = data.readUInt16LE(o);
    const type = data.readUInt16LE(o + 2) & 0x3fff;
    if (len < 4 || o + len > data.length) break;
    out.set(type, data.subarray(o + 4, o + len));
    o += (len + 3) & ~3;
  }
  return out;
}

/** An HWSIM_CMD_FRAME from the kernel, or undefined when an attribute it needs is missing. */
export function parseHwsimFrame(data: Buffer): HwsimFrame | undefined {
  const a = decodeAttrs(data);
  const transmitter = a.get(HWSIM_ATTR_ADDR_TRANSMITTER);
  const frame = a.get(HWSIM_ATTR_FRAME);
  const flags = a.get(HWSIM_ATTR_FLAGS);
  const txInfo = a.get(HWSIM_ATTR_TX_INFO);
  const cookie = a.get(HWSIM_ATTR_COOKIE);
  if (transmitter === undefined || frame === undefined || flags === undefined || txInfo === undefined || cookie === undefined || flags.length < 4) return undefined;
  const freq = a.get(HWSIM_ATTR_FREQ);
  return { transmitter, frame, flags: flags.readUInt32LE(0), txInfo, cookie, freq: freq !== undefined && freq.length >= 4 ? freq.readUInt32LE(0) : undefined };
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};

/** The receiving radio's copy of a frame. */
export function rxFrameAttrs(receiver: Buffer, f: HwsimFrame, signalDbm: number): Buffer {
  // the rate index the frame was sent at: the first entry of the chain with a try
  const rateIdx = Math.max(0, f.txInfo.readInt8(0));
  return encodeAttrs([
    [HWSIM_ATTR_ADDR_RECEIVER, receiver],
    [HWSIM_ATTR_FRAME, f.frame],
    [HWSIM_ATTR_RX_RATE, u32(rateIdx)],
    [HWSIM_ATTR_SIGNAL, u32(signalDbm)],
    ...(f.freq !== undefined ? ([[HWSIM_ATTR_FREQ, u32(f.freq)]] as Array<[number, Buffer]>) : []),
  ]);
}

/** The transmitter's tx status: acknowledged unless sent without ACK; the first rate used once. */
export function txInfoAttrs(f: HwsimFrame, signalDbm: number): Buffer {
  const flags = (f.flags & HWSIM_TX_CTL_NO_ACK) !== 0 ? f.flags : f.flags | HWSIM_TX_STAT_ACK;
  const txInfo = Buffer.from(f.txInfo);
  // one attempt at the first rate, none at the others
  for (let i = 0; i + 1 < txInfo.length; i += 2) {
    if (i === 0) txInfo.writeUInt8(1, 1);
    else txInfo.writeInt8(-1, i);
    if (i > 0) txInfo.writeUInt8(0, i + 1);
  }
  return encodeAttrs([
    [HWSIM_ATTR_ADDR_TRANSMITTER, f.transmitter],
    [HWSIM_ATTR_FLAGS, u32(flags)],
    [HWSIM_ATTR_COOKIE, f.cookie],
    [HWSIM_ATTR_SIGNAL, u32(signalDbm)],
    [HWSIM_ATTR_TX_INFO, txInfo],
  ]);
}

/** hwsim's radio i transmits as 42:00:00:00:ii:00 (its second address, the one the kernel looks radios up by). */
export function radioAddress(i: number): Buffer {
  return Buffer.from([0x42, 0, 0, 0, i & 0xff, 0]);
}

/** A rate profile "0:6,5:1.5" as [startUs, rateBps] steps, sorted; throws on a malformed one. */
export function parseRateProfile(text: string): Array<[number, number]> {
  const steps = text.split(',').map((part) => {
    const [s, r] = part.split(':').map(Number);
    if (s === undefined || r === undefined || !Number.isFinite(s) || !Number.isFinite(r) || s < 0 || r <= 0) throw new Error(`bad --profile step "${part}" (want SECONDS:MBPS)`);
    return [s * 1e6, r * 1e6] as [number, number];
  });
  return steps.sort((a, b) => a[0] - b[0]);
}

/** The profile's rate at `tUs` (the first step's before it starts). */
export function rateAtUs(profile: ReadonlyArray<[number, number]>, tUs: number): number {
  let rate = profile[0]?.[1] ?? 1e6;
  for (const [startUs, r] of profile) if (startUs <= tUs) rate = r;
  return rate;
}

/** hwsim's radio index in one of its addresses (02:00:00:00:ii:00 or 42:00:00:00:ii:00), else undefined. */
export function radioIndexOf(addr: Uint8Array | undefined): number | undefined {
  if (addr === undefined || addr.length < 6) return undefined;
  if ((addr[0] !== 0x02 && addr[0] !== 0x42) || addr[1] !== 0 || addr[2] !== 0 || addr[3] !== 0 || addr[5] !== 0) return undefined;
  return addr[4];
}

/**
 * The station whose link a frame crosses: its transmitter when that is not the AP (radio 0), else
 * its receiver; undefined for a broadcast or an address that is not a radio's.
 */
export function stationOfFrame(transmitter: Uint8Array, frame: Uint8Array): number | undefined {
  const tx = radioIndexOf(transmitter);
  if (tx !== undefined && tx !== 0) return tx;
  const rx = radioIndexOf(receiverAddress(frame));
  return rx !== undefined && rx !== 0 ? rx : undefined;
}

/** "--station 2=0:1.5,5:0.5" as [radio, profile]; throws on a malformed one. */
export function parseStationProfile(text: string): [number, Array<[number, number]>] {
  const eq = text.indexOf('=');
  const radio = Number(text.slice(0, eq));
  if (eq < 1 || !Number.isInteger(radio) || radio < 1) throw new Error(`bad --station "${text}" (want RADIO=S:MBPS,...; radio 0 is the AP)`);
  return [radio, parseRateProfile(text.slice(eq + 1))];
}

/** Airtime of a frame at `rateBps` (µs). */
export function airtimeUs(bytes: number, rateBps: number): number {
  return ((bytes + FRAME_OVERHEAD_BYTES) * 8 * 1e6) / rateBps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'rate-mbps': { type: 'string', default: '4' }, radios: { type: 'string', default: '2' }, profile: { type: 'string' }, station: { type: 'string', multiple: true }, log: { type: 'string' }, keys: { type: 'boolean', default: false } },
  });
  const profile = values.profile !== undefined ? parseRateProfile(values.profile) : [[0, Number(values['rate-mbps']) * 1e6] as [number, number]];
  const stationProfiles = new Map((values.station ?? []).map(parseStationProfile));
  const profileOf = (f: HwsimFrame): ReadonlyArray<[number, number]> => {
    const st = stationOfFrame(f.transmitter, f.frame);
    return (st !== undefined ? stationProfiles.get(st) : undefined) ?? profile;
  };
  const view = newPacketView();
  // the wall clock of the delivery log: the daemon's taps stamp arrivals in wall-clock time
  const wallUs = (): number => (performance.timeOrigin + performance.now()) * 1000;
  /** "d ..." for a data frame with an IP packet in it, else undefined */
  const deliveryLine = (f: HwsimFrame): string | undefined => {
    const off = ipOffsetOf80211(f.frame);
    if (off === undefined) return undefined;
    const ip = f.frame.subarray(off);
    try {
      decodePacket(ip, 'raw-ip', view);
    } catch {
      return undefined;
    }
    return `d ${Math.round(wallUs())} ${stationOfFrame(f.transmitter, f.frame) ?? -1} ${packetMatchKey(view, ip)} ${f.frame.length}`;
  };
  const radios = Array.from({ length: Number(values.radios) }, (_, i) => radioAddress(i));
  const logFile = values.log;
  const sock = createGenericNetlink();
  // room for a burst: hwsim hands over frames faster than UML's one CPU lets the medium read them,
  // and a full buffer loses frames (and so their statuses) for good
  sock.socket.setRecvBufferSize(8 << 20);
  sock.socket.setSendBufferSize(8 << 20);
  const fam = await sock.ctrlRequest(3 /* CTRL_CMD_GETFAMILY */, { familyName: 'MAC80211_HWSIM' });
  const family = fam[0]?.familyId;
  if (family === undefined) throw new Error('no MAC80211_HWSIM generic netlink family (mac80211_hwsim not loaded?)');
  const queue: HwsimFrame[] = [];
  let timer: NodeJS.Timeout | undefined;
  let socketErrors = 0;
  // the profile's clock starts when the medium registers (set again below)
  let t0 = performance.now();
  const nowUs = (): number => (performance.now() - t0) * 1000;
  const lines: string[] = [];
  const flushLog = (): void => {
    if (logFile !== undefined && lines.length > 0) appendFileSync(logFile, lines.splice(0).join('\n') + '\n');
  };
  // the end of the frame on the air now (undefined: none started), and of the last one sent
  let headEndUs: number | undefined;
  let busyUntilUs = 0;
  const pump = (): void => {
    timer = undefined;
    const now = nowUs();
    for (let f = queue[0]; f !== undefined; f = queue[0]) {
      if (headEndUs === undefined) {
        const startUs = Math.max(now, busyUntilUs);
        headEndUs = startUs + airtimeUs(f.frame.length, rateAtUs(profileOf(f), startUs));
      }
      if (headEndUs > now) {
        timer = setTimeout(pump, (headEndUs - now) / 1000);
        return;
      }
      queue.shift();
      busyUntilUs = headEndUs;
      headEndUs = undefined;
      // a send may throw (the socket's buffer full): never let it escape, least of all into the
      // netlink binding's native callback, where it aborts the process (seen once in CI)
      try {
        for (const r of radios) if (!r.equals(f.transmitter)) sock.send(family, HWSIM_CMD_FRAME, 1, rxFrameAttrs(r, f, -30), REQUEST);
        sock.send(family, HWSIM_CMD_TX_INFO_FRAME, 1, txInfoAttrs(f, -30), REQUEST);
      } catch (e) {
        socketErrors++;
        if (logFile !== undefined) lines.push(`error ${Math.round(nowUs())} send: ${String(e)} (${socketErrors})`);
      }
      if (logFile !== undefined) {
        lines.push(`${Math.round(busyUntilUs)} ${f.transmitter.toString('hex')} ${f.frame.length} ${queue.length}`);
        const d = values.keys ? deliveryLine(f) : undefined;
        if (d !== undefined) lines.push(d);
      }
    }
  };
  sock.on('message', (msgs: Array<GenericNetlinkMessage | unknown>) => {
    try {
      onMessages(msgs);
    } catch (e) {
      socketErrors++;
      if (logFile !== undefined) lines.push(`error ${Math.round(nowUs())} receive: ${String(e)} (${socketErrors})`);
    }
  });
  const onMessages = (msgs: Array<GenericNetlinkMessage | unknown>): void => {
    for (const m of msgs) {
      const g = m as Partial<GenericNetlinkMessage>;
      if (g.family !== family || g.cmd !== HWSIM_CMD_FRAME || g.data === undefined) continue;
      const f = parseHwsimFrame(g.data);
      if (f === undefined) continue;
      queue.push(f);
      if (logFile !== undefined) lines.push(`in ${Math.round(nowUs())} ${f.transmitter.toString('hex')} ${f.frame.length} fc=${f.frame.readUInt16LE(0).toString(16)} flags=${f.flags}`);
    }
    if (timer === undefined) pump();
  };
  // stock hwsim hands over frames faster than a slow medium reads them: the socket overflows
  // (ENOBUFS) and those frames are lost; count it and go on rather than die
  sock.socket.on('error', (e: unknown) => {
    socketErrors++;
    if (logFile !== undefined) lines.push(`error ${Math.round(nowUs())} ${String(e)} (${socketErrors})`);
  });
  await sock.request(family, HWSIM_CMD_REGISTER, 1, Buffer.alloc(0));
  t0 = performance.now();
  setInterval(flushLog, 200);
  process.on('SIGTERM', () => {
    flushLog();
    process.exit(0);
  });
  const show = (p: ReadonlyArray<[number, number]>): string => p.map(([s, r]) => `${s / 1e6}s:${r / 1e6}Mbit/s`).join(' ');
  const perStation = [...stationProfiles].map(([r, p]) => `; station ${r}: ${show(p)}`).join('');
  process.stdout.write(`medium: registered on MAC80211_HWSIM (family ${family}), ${show(profile)}${perStation}, ${radios.length} radios\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`medium: ${String(e)}\n`);
    process.exit(1);
  });
}
