/**
 * The daemon's configuration: YAML (default /etc/zhuge/zhuge.yaml), validated against the JSON
 * Schema shipped as config/zhuge.schema.json (draft 2020-12; editors can use it too), defaults
 * filled in by the schema, then a few semantic checks the schema cannot express (CIDR prefixes,
 * the HOST:PORT of the metrics endpoint).
 *
 * Every problem is reported with the position of the offending YAML node:
 *
 *     zhuge.yaml:12:18: fortuneTeller.rateWindowMs: expected an integer (got "fast")
 *
 * one line per problem (YAML syntax errors included), so an operator can fix them all at once.
 * `Config` below mirrors the schema; test/daemon/config.test.ts checks that they agree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { AckDelayerConfig } from '../feedback-updater/index.js';

export const DEFAULT_CONFIG_PATH = '/etc/zhuge/zhuge.yaml';

/** 'qdisc' only for now; the mac80211 backend (per-station TXQs via debugfs) is not built. */
export type QueueBackend = 'qdisc';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface InterfacesConfig {
  /** Wired side (towards the Internet): downlink arrivals are observed here. */
  eth: string;
  /** Wi-Fi side (towards the clients): the downlink queue; uplink feedback enters here. */
  wlan: string;
}

/** How the Wi-Fi queue serves its flows: one shared FIFO, or per-flow fair queues (fq_codel, cake, mac80211's TXQs). */
export type QueueDiscipline = 'fifo' | 'fq';

export interface QueueConfig {
  backend: QueueBackend;
  resyncIntervalMs: number;
  /** 'fq': the window clamp's share is the max-min fair share among all flows (see the schema). */
  discipline: QueueDiscipline;
  /** The AP queue's byte limit (bfifo limit); 0 = unknown. */
  limitBytes: number;
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
  srtcpFallback: 'delay' | 'off';
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
 * Operator-facing view of FortuneTellerConfig (src/fortune-teller/predictor.ts): the daemon maps
 * windowSlots = rateWindowMs * 1000 / slotUs, burstIntervalUs = burstWindowMs * 1000,
 * aggregationWaitMs = stableQueueMs, and keeps the Fortune Teller's defaults for the rest.
 * Defaults are equal to the Fortune Teller's (test/daemon/config.test.ts checks it).
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

export interface ConfigProblem {
  /** Dotted path of the offending key (`flows.quic.ports[1]`), `(root)` for the document, `(yaml)` for syntax errors. */
  path: string;
  /** 1-based line and column in the file; 0 when the file could not be read at all. */
  line: number;
  col: number;
  /** What is wrong: `expected ... (got ...)`. */
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly fileName: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(fileName, p)).join('\n'));
  }
}

/** `file:line:col: path: message` (no position when the file could not be read). */
export function formatProblem(fileName: string, p: ConfigProblem): string {
  const where = p.line > 0 ? `${fileName}:${p.line}:${p.col}` : fileName;
  return `${where}: ${p.path}: ${p.message}`;
}

// ---------------------------------------------------------------------------------------------
// schema

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  'x-expected'?: string;
  [k: string]: unknown;
}

/** Finds config/zhuge.schema.json from src/daemon/ (vitest) or dist/src/daemon/ (built). */
export function schemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'config', 'zhuge.schema.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('config/zhuge.schema.json not found next to the zhuge installation');
}

let cachedSchema: SchemaNode | undefined;
let cachedValidate: ValidateFunction | undefined;

/** The JSON Schema as shipped (parsed once). */
export function loadSchema(): SchemaNode {
  cachedSchema ??= JSON.parse(readFileSync(schemaPath(), 'utf8')) as SchemaNode;
  return cachedSchema;
}

function validator(): ValidateFunction {
  if (cachedValidate === undefined) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true });
    // documentation-only keyword: the human wording of what a value must look like
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    cachedValidate = ajv.compile(loadSchema());
  }
  return cachedValidate;
}

// ---------------------------------------------------------------------------------------------
// positions

type Segment = string | number;

function pointerToSegments(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** `flows.quic.ports[1]`, `(root)` for the empty path. */
export function dottedPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? '(root)' : out;
}

interface Locator {
  /** Position of the node at `segments`, or of its nearest existing ancestor. */
  at(segments: readonly Segment[]): { line: number; col: number };
  /** Position of the key `key` of the mapping at `segments` (falls back to `at`). */
  key(segments: readonly Segment[], key: string): { line: number; col: number };
}

function makeLocator(doc: Document, lc: LineCounter): Locator {
  const pos = (offset: number): { line: number; col: number } => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const nodeAt = (segments: readonly Segment[]): YamlNode | undefined => {
    for (let n = segments.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
      if (node !== null && node !== undefined && typeof node === 'object' && 'range' in node) {
        const r = (node as YamlNode).range;
        if (r !== undefined && r !== null) return node as YamlNode;
      }
    }
    return undefined;
  };
  return {
    at(segments) {
      const node = nodeAt(segments);
      return node?.range ? pos(node.range[0]) : { line: 1, col: 1 };
    },
    key(segments, key) {
      const parent = segments.length === 0 ? doc.contents : doc.getIn(segments, true);
      if (isMap(parent)) {
        for (const item of parent.items) {
          if (isPair(item) && isScalar(item.key) && String(item.key.value) === key && item.key.range) {
            return pos(item.key.range[0]);
          }
        }
      }
      return this.at(segments);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// wording

function describeType(t: string): string {
  switch (t) {
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return t;
  }
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : `the number ${v}`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function describeSchema(s: SchemaNode | undefined): string {
  if (s === undefined) return 'a valid value';
  if (typeof s['x-expected'] === 'string') return s['x-expected'];
  if (s.enum !== undefined) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  let base = t === undefined ? 'a valid value' : describeType(t);
  if (s.minimum !== undefined && s.maximum !== undefined) base += ` in ${s.minimum}..${s.maximum}`;
  else if (s.minimum !== undefined) base += ` >= ${s.minimum}`;
  else if (s.maximum !== undefined) base += ` <= ${s.maximum}`;
  return base;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest known key, if close enough to be a plausible typo. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const u = unknown.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === u ? 0 : levenshtein(u, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(unknown.length / 3)));
  return bestD <= limit ? best : undefined;
}

function ajvProblems(errors: readonly ErrorObject[], loc: Locator): ConfigProblem[] {
  // anyOf/oneOf: one message from the alternatives' wording, not one per failed branch
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const hidden = (e: ErrorObject): boolean =>
    unions.some((u) => u !== e && e.instancePath === u.instancePath && e.schemaPath.startsWith(`${u.schemaPath}/`));

  const out: ConfigProblem[] = [];
  for (const e of errors) {
    if (hidden(e)) continue;
    const segs = pointerToSegments(e.instancePath);
    const parent = e.parentSchema as SchemaNode | undefined;
    const got = describeValue(e.data);
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = String((e.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(parent?.properties ?? {});
        const hint = suggestKey(name, known);
        const p = loc.key(segs, name);
        out.push({
          path: dottedPath([...segs, name]),
          ...p,
          message:
            hint !== undefined
              ? `expected a known key (got unknown key "${name}"; did you mean "${hint}"?)`
              : `expected a known key: ${known.join(', ')} (got unknown key "${name}")`,
        });
        break;
      }
      case 'required': {
        const name = String((e.params as { missingProperty: string }).missingProperty);
        const what = describeSchema(parent?.properties?.[name]);
        out.push({ path: dottedPath([...segs, name]), ...loc.at(segs), message: `expected ${what} (got nothing: this key is required)` });
        break;
      }
      case 'type': {
        out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected ${describeSchema(parent)} (got ${got})` });
        break;
      }
      case 'uniqueItems': {
        const params = e.params as { i: number; j: number };
        const i = Math.max(params.i, params.j); // report the later copy, point at the first
        const j = Math.min(params.i, params.j);
        out.push({
          path: dottedPath([...segs, i]),
          ...loc.at([...segs, i]),
          message: `expected a list without duplicates (got ${describeValue(Array.isArray(e.data) ? e.data[i] : undefined)} twice, also at [${j}])`,
        });
        break;
      }
      default:
        out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected ${describeSchema(parent)} (got ${got})` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// semantic checks the schema does not express

/** Parses `HOST:PORT` / `[v6]:PORT`; undefined when malformed. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(listen) ?? /^([^:[\]]+):(\d{1,5})$/.exec(listen);
  if (m === null) return undefined;
  const host = m[1] ?? '';
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  if (listen.startsWith('[') && isIP(host) !== 6) return undefined;
  if (!listen.startsWith('[') && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return undefined;
  return { host, port };
}

/** Parses an IPv4/IPv6 CIDR prefix; undefined when malformed. */
export function parseCidr(cidr: string): { address: string; family: 4 | 6; prefixLen: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (m === null) return undefined;
  const address = m[1] ?? '';
  const family = isIP(address);
  const prefixLen = Number(m[2]);
  if (family === 4 && prefixLen <= 32) return { address, family, prefixLen };
  if (family === 6 && prefixLen <= 128) return { address, family, prefixLen };
  return undefined;
}

function semanticProblems(cfg: Config, loc: Locator): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  cfg.flows.clientSubnets.forEach((c, i) => {
    if (parseCidr(c) === undefined) {
      const segs = ['flows', 'clientSubnets', i];
      out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected a CIDR prefix like 192.168.1.0/24 or fd00::/64 (got ${describeValue(c)})` });
    }
  });
  if (parseListen(cfg.metrics.listen) === undefined) {
    const segs = ['metrics', 'listen'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected HOST:PORT, e.g. 127.0.0.1:9469 or [::1]:9469 (got ${describeValue(cfg.metrics.listen)})` });
  }
  const ft = cfg.fortuneTeller;
  if ((ft.rateWindowMs * 1000) % ft.slotUs !== 0 || ft.rateWindowMs * 1000 < ft.slotUs) {
    const segs = ['fortuneTeller', 'rateWindowMs'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected a whole number (>= 1) of slots of fortuneTeller.slotUs = ${ft.slotUs} µs (got ${ft.rateWindowMs} ms)` });
  }
  if (cfg.interfaces.eth === cfg.interfaces.wlan) {
    const segs = ['interfaces', 'wlan'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected an interface other than interfaces.eth (got ${describeValue(cfg.interfaces.wlan)} for both)` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// entry points

function firstLine(msg: string): string {
  const line = msg.split('\n')[0] ?? msg;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses and validates YAML text; returns the full Config (defaults filled) or throws ConfigError. */
export function parseConfig(text: string, fileName: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      fileName,
      doc.errors.map((e) => {
        const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return { path: '(yaml)', line: p.line, col: p.col, message: `YAML syntax error: ${firstLine(e.message)}` };
      }),
    );
  }
  const loc = makeLocator(doc, lc);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(fileName, [{ path: '(yaml)', line: 1, col: 1, message: `YAML error: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  if (data === null || data === undefined) {
    throw new ConfigError(fileName, [{ path: '(root)', line: 1, col: 1, message: 'expected a mapping with at least interfaces.eth and interfaces.wlan (got an empty document)' }]);
  }
  const validate = validator();
  if (!validate(data)) {
    throw new ConfigError(fileName, ajvProblems(validate.errors ?? [], loc));
  }
  const cfg = data as Config;
  const semantic = semanticProblems(cfg, loc);
  if (semantic.length > 0) throw new ConfigError(fileName, semantic);
  return cfg;
}

/** Reads, parses and validates a config file; throws ConfigError (unreadable file included). */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    throw new ConfigError(path, [{ path: '(file)', line: 0, col: 0, message: `cannot read the configuration (${why})` }]);
  }
  return parseConfig(text, path);
}

export type ReloadResult = { ok: true; config: Config } | { ok: false; error: ConfigError };

/** For SIGHUP: the new config, or the reasons to keep the old one. Never throws a ConfigError. */
export function tryLoadConfig(path: string): ReloadResult {
  try {
    return { ok: true, config: loadConfig(path) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err };
    throw err;
  }
}

/** Keys nested one level, for callers that want to diff two configs. */
export function changedSections(a: Config, b: Config): (keyof Config)[] {
  return (Object.keys(a) as (keyof Config)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
