/**
 * One Fortune Teller per Wi-Fi station, for `queue.backend: mac80211`: on a mac80211 AP each
 * associated station has transmit queues of its own (per TID, fq_codel inside), served by
 * airtime, so a packet waits behind its own station's backlog at its own station's rate, not
 * behind one shared FIFO. Pure (time passed in).
 *
 *   eth tap ─ arrival ─▶ station of the destination (StationDirectory) ─▶ that station's FT
 *   wlan tap ─ the frame entering mac80211 (dst MAC = the station) ─▶ learn address -> station
 *   TXQ counters (debugfs aqm, polled) ─ departed packets/bytes, backlog ─▶ that station's FT
 *
 * The TXQ counters say how many packets left, not which: the station's oldest modelled packets
 * leave first (a FIFO reading of the TXQ; exact for one flow per station, an approximation for
 * several, which fq_codel serves round-robin), at the poll's time, and the kernel's backlog then
 * resyncs the model. Packets to an address no station is known for yet go to the default queue
 * (station 0, the engine's own Fortune Teller) until the wlan tap has seen one of them enter a
 * station's queue.
 */
import { FortuneTeller, type FortuneTellerConfig } from '../fortune-teller/index.js';
import type { PacketView } from '../protocols/packet.js';
import { StationDirectory } from './station-directory.js';

/** flow hash -> station cache slots (a power of two); a collision only sends a lookup to station 0 */
const FLOW_SLOTS = 4096;

export interface StationQueueStatus {
  mac: number;
  bytesInQueue: number;
  packetsInQueue: number;
  dequeueRateBps: number;
}

export class StationQueues {
  readonly directory = new StationDirectory();
  private fts: Array<FortuneTeller | undefined> = [undefined];
  private readonly flowKeys = new Float64Array(FLOW_SLOTS).fill(-1);
  private readonly flowStations = new Uint32Array(FLOW_SLOTS);
  /** counted departures the model had no packet for (resynced from the backlog instead) */
  untrackedDepartures = 0;

  constructor(
    private config: FortuneTellerConfig,
    /** station 0: the engine's own Fortune Teller */
    private readonly fallback: () => FortuneTeller,
    /** wires a new Fortune Teller's hooks (retired packets reported lost, as the engine's own) */
    private readonly wire: (ft: FortuneTeller) => void = () => undefined,
  ) {}

  /** New constants: every station's Fortune Teller starts again. */
  reconfigure(config: FortuneTellerConfig): void {
    this.config = config;
    this.fts = [undefined];
  }

  ftOf(station: number): FortuneTeller {
    if (station <= 0) return this.fallback();
    let ft = this.fts[station];
    if (ft === undefined) {
      ft = new FortuneTeller(this.config);
      this.wire(ft);
      this.fts[station] = ft;
    }
    return ft;
  }

  /** The station a downlink packet of flow `flowHash` is queued for; remembered for the flow's later reads. */
  stationOfPacket(v: PacketView, flowHash: number): number {
    const s = this.directory.stationOfPacket(v);
    const i = (flowHash >>> 0) & (FLOW_SLOTS - 1);
    this.flowKeys[i] = flowHash >>> 0;
    this.flowStations[i] = s;
    return s;
  }

  /** The Fortune Teller of the station a flow's last downlink packet was queued for. */
  ftOfFlow(flowHash: number): FortuneTeller {
    const i = (flowHash >>> 0) & (FLOW_SLOTS - 1);
    return this.flowKeys[i] === flowHash >>> 0 ? this.ftOf(this.flowStations[i] ?? 0) : this.fallback();
  }

  /**
   * A reading of station `mac`'s TXQ counters at tUs: `packets`/`bytes` left since the last one,
   * `backlogBytes`/`backlogPackets` wait now. `onLeft(key, tUs)`: each modelled packet that left.
   */
  onTxqReading(tUs: number, mac: number, packets: number, bytes: number, backlogBytes: number, backlogPackets: number, onLeft: (key: number, tUs: number) => void): void {
    const ft = this.ftOf(this.directory.stationOf(mac));
    let leftBytes = bytes;
    let leftPackets = packets;
    while (leftPackets > 0) {
      const key = ft.queue.headKey;
      if (key < 0) break;
      const b = ft.queue.headBytes;
      ft.onDeparture(tUs, b, key);
      onLeft(key, tUs);
      leftBytes -= b;
      leftPackets--;
    }
    if (leftPackets > 0) {
      // left the TXQ without an arrival in the model (arrived before zhuge saw the station, or
      // not captured): counted in the rate all the same, at their mean size
      this.untrackedDepartures += leftPackets;
      const each = Math.max(0, leftBytes) / leftPackets;
      for (; leftPackets > 0; leftPackets--) ft.rate.onDeparture(tUs, each);
    }
    ft.onBacklogSample(tUs, backlogBytes, backlogPackets);
  }

  /** A station is gone (no longer listed): its addresses are forgotten, its model emptied. */
  onStationGone(tUs: number, mac: number): void {
    const s = this.directory.knownStation(mac);
    if (s === 0) return;
    this.directory.forgetAddressesOf(s);
    this.fts[s]?.onBacklogSample(tUs, 0, 0);
  }

  status(): StationQueueStatus[] {
    const out: StationQueueStatus[] = [];
    for (let s = 1; s < this.fts.length; s++) {
      const ft = this.fts[s];
      const mac = this.directory.macOfStation(s);
      if (ft === undefined || mac === undefined) continue;
      out.push({ mac, bytesInQueue: ft.queue.bytesInQueue, packetsInQueue: ft.queue.packetsInQueue, dequeueRateBps: Math.round(ft.rate.rateBps) });
    }
    return out;
  }
}
