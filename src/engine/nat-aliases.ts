/**
 * NAT on the AP (a home router masquerading its Wi-Fi clients): the eth tap sees a downlink
 * packet before de-NAT (to the AP's public address and the mapped port), the wlan tap and
 * NFQUEUE see the client's own address:port. NatAliases learns public -> private tuple aliases
 * from the two taps and translates arrivals (see engine.ts for how the engine uses them).
 */
import {
  flowHash,
  flowKeyEquals,
  flowKeyFromView,
  flowKeyHash,
  flowKeyToString,
  newFlowKey,
  viewMatchesFlowKey,
  type FlowKey,
} from '../protocols/flow-key.js';
import type { PacketView } from '../protocols/packet.js';
import { FlowTable } from './flow-table.js';

/** Departures that must agree on a public -> private mapping before it is used. */
export const NAT_CONFIRMATIONS = 2;
/** One translated arrival in this many is re-checked against its departure. */
export const NAT_RECHECK_EVERY = 32;
const EVIDENCE_SLOTS = 4096; // power of two
const KEY_WORDS = 12;

export interface NatAliasOptions {
  maxAliases: number;
  idleTimeoutUs: number;
}

interface NatAlias {
  /** downlink tuple as the eth tap sees it (server -> AP public address:port) */
  readonly pub: FlowKey;
  /** the same packets on wlan (server -> client private address:port) */
  readonly priv: FlowKey;
  /** departures agreeing on priv; used once >= NAT_CONFIRMATIONS */
  hits: number;
}

/** NAT: aliases confirmed (learnt or changed), arrivals translated, departures that matched an unresolved arrival, alias table hash collisions (the newcomer stays unaliased). */
export interface NatCounters {
  natAliasesLearnt: number;
  natTranslated: number;
  natEvidence: number;
  natAliasCollisions: number;
}

export const zeroNatCounters = (): NatCounters => ({ natAliasesLearnt: 0, natTranslated: 0, natEvidence: 0, natAliasCollisions: 0 });

/**
 * Public -> private downlink tuple aliases, learnt from the two taps (pure, bounded, no
 * allocation per packet except when an alias is created).
 *
 * Evidence: each arrival to a non-client address without an alias is remembered by its packet
 * match key in a direct-mapped table (`EVIDENCE_SLOTS` slots, a newer arrival overwrites an older
 * one in its slot) together with its tuple. A departure to a client whose match key finds such an
 * arrival says: this public tuple is that private tuple. A mapping is used once
 * `NAT_CONFIRMATIONS` departures agreed on it, so one match-key collision (two different
 * packets with the same IP ID, length and first 16 payload bytes) never creates an alias; a
 * disagreeing departure restarts the count with the new mapping (conntrack re-mapped the flow;
 * confirmed aliases are re-checked on one translated arrival in `NAT_RECHECK_EVERY`).
 * Aliases live in an LRU table keyed by the public tuple's directional hash, confirmed field by
 * field (a hash collision leaves the newcomer unaliased, counted), and expire when idle.
 */
export class NatAliases {
  private readonly table: FlowTable<number, NatAlias>;
  private readonly evKey = new Uint32Array(EVIDENCE_SLOTS);
  private readonly evLive = new Uint8Array(EVIDENCE_SLOTS);
  // the tuple of each evidence slot: family, protocol, src0..3, dst0..3, srcPort, dstPort
  private readonly evTuple = new Float64Array(EVIDENCE_SLOTS * KEY_WORDS);
  private evCount = 0;
  private translations = 0;
  private readonly scratchPub = newFlowKey();
  private readonly scratchPriv = newFlowKey();

  constructor(
    opts: NatAliasOptions,
    private readonly counters: NatCounters,
  ) {
    this.table = new FlowTable<number, NatAlias>({ maxFlows: Math.max(1, opts.maxAliases), idleTimeoutUs: opts.idleTimeoutUs });
  }

  reconfigure(opts: NatAliasOptions): void {
    this.table.reconfigure({ maxFlows: Math.max(1, opts.maxAliases), idleTimeoutUs: opts.idleTimeoutUs });
  }

  get size(): number {
    return this.table.size;
  }

  /** Live evidence slots (0 on a routed AP: departures then skip learning). */
  get pendingEvidence(): number {
    return this.evCount;
  }

  /**
   * Rewrites the view's addresses and ports to the private tuple when the view's (public) tuple
   * has a confirmed alias. Returns whether it did. One translated arrival in
   * `NAT_RECHECK_EVERY` is kept as evidence too, so a re-mapped tuple is noticed (its departure
   * disagrees: the alias is unconfirmed until the new mapping is).
   */
  translate(tUs: number, v: PacketView, matchKey = 0): boolean {
    if (this.table.size === 0) return false;
    const h = flowHash(v);
    const a = this.table.peek(h);
    if (a === undefined || a.hits < NAT_CONFIRMATIONS || !viewMatchesFlowKey(v, a.pub)) return false;
    this.table.get(h, tUs);
    if (++this.translations % NAT_RECHECK_EVERY === 0) this.remember(tUs, v, matchKey);
    const k = a.priv;
    v.src0 = k.src0;
    v.src1 = k.src1;
    v.src2 = k.src2;
    v.src3 = k.src3;
    v.dst0 = k.dst0;
    v.dst1 = k.dst1;
    v.dst2 = k.dst2;
    v.dst3 = k.dst3;
    if (v.l4 === 'tcp' || v.l4 === 'udp') {
      v.srcPort = k.srcPort;
      v.dstPort = k.dstPort;
    }
    this.counters.natTranslated++;
    return true;
  }

  /** An unresolved arrival (to a non-client address, no alias): kept as evidence. */
  remember(_tUs: number, v: PacketView, matchKey: number): void {
    if (matchKey === 0) return;
    const i = matchKey & (EVIDENCE_SLOTS - 1);
    if (this.evLive[i] === 0) {
      this.evLive[i] = 1;
      this.evCount++;
    }
    this.evKey[i] = matchKey >>> 0;
    const k = flowKeyFromView(v, this.scratchPub);
    const o = i * KEY_WORDS;
    const t = this.evTuple;
    t[o] = k.family;
    t[o + 1] = k.protocol;
    t[o + 2] = k.src0;
    t[o + 3] = k.src1;
    t[o + 4] = k.src2;
    t[o + 5] = k.src3;
    t[o + 6] = k.dst0;
    t[o + 7] = k.dst1;
    t[o + 8] = k.dst2;
    t[o + 9] = k.dst3;
    t[o + 10] = k.srcPort;
    t[o + 11] = k.dstPort;
  }

  /**
   * A departure to a client (`v`, private tuple) with this match key: if it matches remembered
   * evidence, counts towards the alias public tuple -> `v`'s tuple. Returns true when an alias
   * became usable with this departure.
   */
  learn(tUs: number, v: PacketView, matchKey: number): boolean {
    if (matchKey === 0) return false;
    const i = matchKey & (EVIDENCE_SLOTS - 1);
    if (this.evLive[i] === 0 || this.evKey[i] !== matchKey >>> 0) return false;
    this.evLive[i] = 0;
    this.evCount--;
    const o = i * KEY_WORDS;
    const t = this.evTuple;
    const pub = this.scratchPub;
    pub.family = t[o]!;
    pub.protocol = t[o + 1]!;
    pub.src0 = t[o + 2]!;
    pub.src1 = t[o + 3]!;
    pub.src2 = t[o + 4]!;
    pub.src3 = t[o + 5]!;
    pub.dst0 = t[o + 6]!;
    pub.dst1 = t[o + 7]!;
    pub.dst2 = t[o + 8]!;
    pub.dst3 = t[o + 9]!;
    pub.srcPort = t[o + 10]!;
    pub.dstPort = t[o + 11]!;
    const priv = flowKeyFromView(v, this.scratchPriv);
    if (priv.family !== pub.family || priv.protocol !== pub.protocol || flowKeyEquals(priv, pub)) return false;
    this.counters.natEvidence++;
    const h = flowKeyHash(pub); // = flowHash of a view of that tuple
    const a = this.table.peek(h);
    if (a !== undefined) {
      if (!flowKeyEquals(a.pub, pub)) {
        this.counters.natAliasCollisions++;
        return false;
      }
      this.table.get(h, tUs);
      if (flowKeyEquals(a.priv, priv)) {
        if (a.hits < NAT_CONFIRMATIONS) a.hits++;
        else return false; // a re-check that agreed
        if (a.hits === NAT_CONFIRMATIONS) this.counters.natAliasesLearnt++;
        return a.hits === NAT_CONFIRMATIONS;
      }
      // another private tuple behind the same public one (re-mapped): start over with it
      Object.assign(a.priv, priv);
      a.hits = 1;
      return false;
    }
    const created: NatAlias = { pub: { ...pub }, priv: { ...priv }, hits: 1 };
    this.table.getOrCreate(h, tUs, () => created);
    if (NAT_CONFIRMATIONS <= 1) this.counters.natAliasesLearnt++;
    return NAT_CONFIRMATIONS <= 1;
  }

  expire(tUs: number): void {
    this.table.expire(tUs);
  }

  /** Cold path: "public > private" strings of confirmed aliases. */
  list(max: number): string[] {
    const out: string[] = [];
    for (const [, a] of this.table.entries()) {
      if (out.length >= max) break;
      if (a.hits >= NAT_CONFIRMATIONS) out.push(`${flowKeyToString(a.pub)} = ${flowKeyToString(a.priv)}`);
    }
    return out;
  }
}
