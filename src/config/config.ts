/**
 * The daemon's configuration as the rest of the code sees it: every section of the YAML file
 * (config/zhuge.schema.json describes the same keys for editors and for validation), every
 * default filled in. test/config/config.test.ts checks that this type and the schema agree;
 * the defaults themselves live in config-defaults.ts.
 */
import type { AckDelayerConfig } from '../feedback-updater/index.js';

/**
 * 'qdisc': the wlan qdisc (rtnetlink) and the two taps; 'mac80211': each station's TXQs
 * (debugfs `aqm`, polled every txqPollMs), a Fortune Teller per station.
 */
export type QueueBackend = 'qdisc' | 'mac80211';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface InterfacesConfig {
  /** Wired side (towards the Internet): downlink arrivals are observed here. */
  eth: string;
  /** Wi-Fi side (towards the clients): the downlink queue; uplink feedback enters here. */
  wlan: string;
}

/** How the Wi-Fi queue serves its flows: one shared FIFO, or per-flow fair queues (fq_codel, cake, mac80211's TXQs). */
export type QueueDiscipline = 'fifo' | 'fq';

/** The rate queued packets are re-predicted at: measured from departures, or the htb shaper's own. */
export type QueueRateFrom = 'measured' | 'shaper';

export interface QueueConfig {
  backend: QueueBackend;
  resyncIntervalMs: number;
  /** backend mac80211: how often each station's TXQ counters are read (ms) */
  txqPollMs: number;
  /** 'fq': the window clamp's share is the max-min fair share among all flows (see the schema). */
  discipline: QueueDiscipline;
  /** The AP queue's byte limit (bfifo limit); 0 = unknown. */
  limitBytes: number;
  /** Where queued packets' service rate comes from (see the schema). */
  rateFrom: QueueRateFrom;
}

export interface PortFilterConfig {
  enabled: boolean;
  /** Server-side ports; empty = all. */
  ports: number[];
}

export interface RtpConfig {
  enabled: boolean;
  twccExtensionId: 'auto' | number;
  feedbackIntervalMs: number;
  /** RTP transports tracked at once (least recently used evicted beyond); each costs up to ~0.3 MiB */
  maxTransports: number;
  srtcpFallback: 'delay' | 'off';
  /** when each packet is reported and at what time (src/feedback-updater/report-timing.ts) */
  reportTiming: 'arrival' | 'departure';
  /** send again, from zhuge's copy, a packet reported received that the queue then dropped */
  repairDrops: boolean;
  /** reportTiming departure: a packet predicted beyond the lead waits (defer) or is clamped to it */
  beyondLead: 'defer' | 'clamp';
  /** reportTiming departure: the longest lead ahead of the observed departures (ms) */
  maxLeadMs: number;
  /** reportTiming departure: the lead earned by calm time alone, or also by predictions that came true */
  leadEarnedBy: 'calm' | 'verified' | 'persisted';
  /** reportTiming departure: a queued packet without a measured service rate waits for its departure, or is estimated */
  unmeasured: 'wait' | 'estimate';
  /** reportTiming departure: bunched reports share one time (stack) or keep the departures' spacing (link) */
  reportSpacing: 'stack' | 'link';
  /** reportTiming departure: a reported sojourn at most twice the observed ones (sojourn) or only bounded by the lead (none) */
  sojournCap: 'none' | 'sojourn';
  /** what zhuge tells the sender: its own transport-wide feedback (twcc), a REMB rate cap beside the client's own feedback (remb), or both */
  signal: 'twcc' | 'remb' | 'both';
  /** signal remb / both: a cap rises by doubling only, or also at once to the rate last measured */
  capRecovery: 'doubling' | 'measured' | 'track';
  capFloor: number;
  /** signal remb / both: the backlog's delay and rate from the busy-rate estimate alone, or also from what the queue did (its head's wait, its drained rate) */
  capDelayFrom: 'estimate' | 'observed';
  /** read the qdisc drop counter every 10 ms and report the AP's drops as not received */
  kernelDrops: boolean;
}

export interface FlowsConfig {
  tcp: PortFilterConfig;
  quic: PortFilterConfig;
  rtp: RtpConfig;
  /** CIDR prefixes (validated); empty = any client reachable via wlan. */
  clientSubnets: string[];
  /** DSCP values 0..63; empty = any. */
  dscp: number[];
  idleTimeoutMs: number;
  maxFlows: number;
}

/**
 * Operator-facing view of FortuneTellerConfig (src/fortune-teller/fortune-teller.ts): the daemon maps
 * windowSlots = rateWindowMs * 1000 / slotUs, burstIntervalUs = burstWindowMs * 1000,
 * aggregationWaitMs = stableQueueMs, and keeps the Fortune Teller's defaults for the rest.
 * Its defaults are derived from the Fortune Teller's own (config-defaults.ts).
 */
export interface FortuneTellerSection {
  slotUs: number;
  rateWindowMs: number;
  minRateBps: number;
  initialRateBps: number;
  burstWindowMs: number;
  stableQueueMs: number;
}

/** AckDelayerConfig (src/feedback-updater/scheduler.ts) keys the operator may set, plus the RNG seed. */
export interface FeedbackUpdaterSection {
  historyMs: number;
  maxDeltaMs: number;
  capMs: number;
  /**
   * 'increments' = the paper's rule; 'drain' = hold ACKs while the queue is above a target;
   * 'window' = clamp TCP ACKs' receive window to the predicted rate x (RTT + target)
   */
  mode: 'increments' | 'drain' | 'window';
  drain: { targetMs: number; closeMs?: number; maxHoldMs: number; catchUp: number; keepaliveMs: number };
  window: { targetMs: number; minWindowBytes: number };
  /** Absent = a random seed chosen at start. */
  seed?: number;
}

// compile-time: every key of the FU section (but the seed) is a key of AckDelayerConfig
const _fuKeys: Exclude<keyof FeedbackUpdaterSection, keyof AckDelayerConfig | 'seed'> extends never ? true : false = true;
void _fuKeys;

export interface NfqueueConfig {
  queueNum: number;
  maxLen: number;
  failOpen: boolean;
  chain: string;
  /** the skb mark bit(s) set on frames from the Wi-Fi bridge port when wlan is a bridge port */
  bridgeMark: number;
}

export interface WatchdogConfig {
  stallMs: number;
}

export interface MetricsConfig {
  /** HOST:PORT or [v6]:PORT (validated). */
  listen: string;
}

export interface LogConfig {
  level: LogLevel;
  /** lines at this level or above go to stderr instead of stdout ('none': everything on stdout) */
  stderrLevel: 'none' | 'warn' | 'error' | 'fatal';
}

/** The whole configuration, every default filled in. */
export interface Config {
  interfaces: InterfacesConfig;
  queue: QueueConfig;
  flows: FlowsConfig;
  fortuneTeller: FortuneTellerSection;
  feedbackUpdater: FeedbackUpdaterSection;
  nfqueue: NfqueueConfig;
  watchdog: WatchdogConfig;
  metrics: MetricsConfig;
  log: LogConfig;
}
