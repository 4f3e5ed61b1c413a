/**
 * Offline replay of captures through the codecs and the Fortune Teller (`zhuge replay`).
 *
 * Classification: every record is decoded and classified (src/protocols/classify.ts) with
 * per-transport state, in two passes so the transport-wide extension id detected on a transport
 * applies to all its RTP packets, including the first ones.
 *
 * Prediction accuracy: given an ingress capture (packets entering one queue: e.g. the AP's eth,
 * inbound) and an egress capture of the same queue (its wlan, outbound), the two are merged by
 * time into arrival and departure events of a Fortune Teller; each departure matched to its
 * arrival (by the invariant-field hash of src/protocols/flow-key.ts) gives the actual sojourn,
 * compared with the totalMs predicted when the packet arrived.
 */
import { FortuneTeller, defaultFortuneTellerConfig, type FortuneTellerConfig } from '../fortune-teller/index.js';
import { newClassifyResult, newTransportState, PACKET_CLASSES, classifyPacket, type PacketClass, type TransportState } from '../protocols/classify.js';
import { ParseError, type MalformedReason } from '../protocols/errors.js';
import { canonicalFlowHash, isCanonicalDirection, packetMatchKey } from '../protocols/flow-key.js';
import { decodePacket, linkTypeFromDlt, newPacketView } from '../protocols/packet.js';
import { readCapture, type CaptureRecord } from '../protocols/pcap-file.js';

export interface ClassCounts {
  packets: number;
  classes: Record<PacketClass, number>;
  malformed: Partial<Record<MalformedReason, number>>;
  /** malformed by `what` (codec) for the operator */
  malformedWhere: Record<string, number>;
  /** transports (5-tuples) with a detected transport-wide extension id */
  twccExtensionIds: Array<{ transport: number; extId: number }>;
  twccFeedbackPackets: number;
  ccfbFeedbackPackets: number;
  srtcpTransports: number;
  unsupportedLinkTypes: number;
}

function zeroClasses(): Record<PacketClass, number> {
  const o = {} as Record<PacketClass, number>;
  for (const c of PACKET_CLASSES) o[c] = 0;
  return o;
}

export function classifyCapture(buf: Uint8Array): ClassCounts {
  const v = newPacketView();
  const res = newClassifyResult();
  const transports = new Map<number, TransportState>();
  const counts: ClassCounts = {
    packets: 0,
    classes: zeroClasses(),
    malformed: {},
    malformedWhere: {},
    twccExtensionIds: [],
    twccFeedbackPackets: 0,
    ccfbFeedbackPackets: 0,
    srtcpTransports: 0,
    unsupportedLinkTypes: 0,
  };
  for (let pass = 0; pass < 2; pass++) {
    const final = pass === 1;
    if (final) {
      // keep what pass 1 learnt (QUIC, detected ids), restart the per-packet detector state
      for (const st of transports.values()) st.detector = undefined;
    }
    for (const rec of readCapture(buf)) {
      const lt = linkTypeFromDlt(rec.linkType);
      if (lt === undefined) {
        if (final) {
          counts.packets++;
          counts.unsupportedLinkTypes++;
          counts.classes.other++;
        }
        continue;
      }
      try {
        decodePacket(rec.data, lt, v);
      } catch (err) {
        if (!final) continue;
        counts.packets++;
        countMalformed(counts, err);
        continue;
      }
      let state: TransportState | undefined;
      if (v.l4 === 'udp') {
        const h = canonicalFlowHash(v);
        state = transports.get(h);
        if (state === undefined) {
          state = newTransportState();
          transports.set(h, state);
        }
      }
      classifyPacket(rec.data, v, state, isCanonicalDirection(v), res, { validateFeedback: final, detectTwccExtension: !final });
      if (!final) continue;
      counts.packets++;
      if (res.malformed !== undefined) {
        countMalformed(counts, new ParseError(res.malformed, res.malformedWhat));
        continue;
      }
      counts.classes[res.cls]++;
      counts.twccFeedbackPackets += res.twccFeedbacks;
      counts.ccfbFeedbackPackets += res.ccfbFeedbacks;
    }
  }
  for (const [h, st] of transports) {
    if (st.twccExtId !== 0) counts.twccExtensionIds.push({ transport: h, extId: st.twccExtId });
    if (st.srtcp) counts.srtcpTransports++;
  }
  return counts;
}

function countMalformed(counts: ClassCounts, err: unknown): void {
  if (!(err instanceof ParseError)) throw err;
  counts.malformed[err.reason] = (counts.malformed[err.reason] ?? 0) + 1;
  counts.malformedWhere[err.what] = (counts.malformedWhere[err.what] ?? 0) + 1;
}

// ------------------------------------------------------------------- accuracy ----

export interface AccuracyReport {
  arrivals: number;
  departures: number;
  matched: number;
  /** matched packets whose actual delay was under 64 ms (the paper's range of accurate estimates) */
  matchedUnder64ms: number;
  /** |predicted - actual| over packets with actual < 64 ms, ms */
  absErrorMsUnder64: Percentiles;
  /** |predicted - actual| over all matched packets, ms */
  absErrorMsAll: Percentiles;
  /** predicted - actual (signed), all matched packets, ms */
  signedErrorMsAll: Percentiles;
  actualDelayMs: Percentiles;
  predictedDelayMs: Percentiles;
  /** the matched packets of each transport (e.g. a UDP call next to TCP downloads) */
  byTransport: Record<'tcp' | 'udp' | 'other', { matched: number; actualDelayMs: Percentiles; signedErrorMs: Percentiles; absErrorMs: Percentiles }>;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function percentiles(xs: number[]): Percentiles {
  if (xs.length === 0) return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, mean: Number.NaN };
  const s = Float64Array.from(xs).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  let sum = 0;
  for (const x of s) sum += x;
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return { p50: r3(at(0.5)), p90: r3(at(0.9)), p99: r3(at(0.99)), mean: r3(sum / s.length) };
}

interface Ev {
  tUs: number;
  dep: boolean;
  rec: CaptureRecord;
}

/** What the Fortune Teller predicted per arrival, and (actual sojourn, prediction) per matched departure. */
export interface PredictionPairs {
  arrivals: number;
  departures: number;
  /** the prediction made at every arrival (ms), in arrival order */
  predictedMs: number[];
  /** per departure matched to its arrival, in departure order: [actual sojourn ms, predicted ms] */
  pairs: Array<[number, number]>;
  /** the transport of each pair */
  transports: Array<'tcp' | 'udp' | 'other'>;
}

/** The Fortune Teller run over the two taps' captures, departures matched to their arrivals. */
export function predictionPairs(
  ingress: Uint8Array,
  egress: Uint8Array,
  config: FortuneTellerConfig = defaultFortuneTellerConfig,
): PredictionPairs {
  const events: Ev[] = [];
  for (const rec of readCapture(ingress)) events.push({ tUs: rec.tUs, dep: false, rec });
  for (const rec of readCapture(egress)) events.push({ tUs: rec.tUs, dep: true, rec });
  // stable by time; a departure at the same µs as an arrival goes after it
  events.sort((a, b) => a.tUs - b.tUs || Number(a.dep) - Number(b.dep));
  const ft = new FortuneTeller(config);
  const v = newPacketView();
  const predictedByKey = new Map<number, number[]>();
  const pairs: Array<[number, number]> = [];
  const transports: Array<'tcp' | 'udp' | 'other'> = [];
  const predicted: number[] = [];
  let arrivals = 0;
  let departures = 0;
  for (const e of events) {
    const lt = linkTypeFromDlt(e.rec.linkType);
    let key = 0;
    let flow = 0;
    let l4: 'tcp' | 'udp' | 'other' = 'other';
    if (lt !== undefined) {
      try {
        decodePacket(e.rec.data, lt, v);
        key = packetMatchKey(v, e.rec.data);
        flow = canonicalFlowHash(v);
        if (v.l4 === 'tcp' || v.l4 === 'udp') l4 = v.l4;
      } catch {
        key = 0;
      }
    }
    if (!e.dep) {
      arrivals++;
      ft.onArrival(e.tUs, e.rec.origLen, key, flow);
      const p = ft.predict(e.tUs, 0, undefined, flow);
      let list = predictedByKey.get(key);
      if (list === undefined) predictedByKey.set(key, (list = []));
      list.push(p.totalMs);
      predicted.push(p.totalMs);
    } else {
      departures++;
      const arrUs = ft.onDeparture(e.tUs, e.rec.origLen, key);
      const list = predictedByKey.get(key);
      const pred = list?.shift();
      if (list !== undefined && list.length === 0) predictedByKey.delete(key);
      if (arrUs < 0 || pred === undefined) continue;
      pairs.push([(e.tUs - arrUs) / 1000, pred]);
      transports.push(l4);
    }
  }
  return { arrivals, departures, predictedMs: predicted, pairs, transports };
}

export function predictionAccuracy(
  ingress: Uint8Array,
  egress: Uint8Array,
  config: FortuneTellerConfig = defaultFortuneTellerConfig,
): AccuracyReport {
  const { arrivals, departures, predictedMs: predicted, pairs, transports } = predictionPairs(ingress, egress, config);
  const abs64: number[] = [];
  const absAll: number[] = [];
  const signed: number[] = [];
  const actual: number[] = [];
  for (const [act, pred] of pairs) {
    actual.push(act);
    absAll.push(Math.abs(pred - act));
    signed.push(pred - act);
    if (act < 64) abs64.push(Math.abs(pred - act));
  }
  return {
    arrivals,
    departures,
    matched: actual.length,
    matchedUnder64ms: abs64.length,
    absErrorMsUnder64: percentiles(abs64),
    absErrorMsAll: percentiles(absAll),
    signedErrorMsAll: percentiles(signed),
    actualDelayMs: percentiles(actual),
    predictedDelayMs: percentiles(predicted),
    byTransport: {
      tcp: transportAccuracy(pairs, transports, 'tcp'),
      udp: transportAccuracy(pairs, transports, 'udp'),
      other: transportAccuracy(pairs, transports, 'other'),
    },
  };
}

function transportAccuracy(pairs: ReadonlyArray<[number, number]>, transports: ReadonlyArray<string>, which: string): AccuracyReport['byTransport']['tcp'] {
  const act: number[] = [];
  const signed: number[] = [];
  pairs.forEach(([a, p], i) => {
    if (transports[i] !== which) return;
    act.push(a);
    signed.push(p - a);
  });
  return { matched: act.length, actualDelayMs: percentiles(act), signedErrorMs: percentiles(signed), absErrorMs: percentiles(signed.map(Math.abs)) };
}
