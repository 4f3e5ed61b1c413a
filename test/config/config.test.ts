import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DELTA_WINDOW_DEFAULTS, DRAIN_GATE_DEFAULTS, WINDOW_CLAMP_DEFAULTS, SCHEDULER_DEFAULTS } from '../../src/feedback-updater/index.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';
import {
  ConfigError,
  changedSections,
  dottedPath,
  loadConfig,
  loadSchema,
  parseCidr,
  parseConfig,
  parseListen,
  suggestKey,
  tryLoadConfig,
  type Config,
  configWarnings,
} from '../../src/config/index.js';

const EXAMPLE = new URL('../../config/zhuge.example.yaml', import.meta.url);
const OPENWRT = new URL('../../deploy/openwrt/files/zhuge.yaml', import.meta.url);
const SCHEMA = new URL('../../config/zhuge.schema.json', import.meta.url);

const MIN = 'interfaces:\n  eth: eth0\n  wlan: wlan0\n';

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'z.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('parseConfig: invalid configurations name the file, line:col and key', () => {
  const cases: { name: string; yaml: string; expected: string[] }[] = [
    {
      name: 'wrong type (string for integer)',
      yaml: `${MIN}fortuneTeller:\n  rateWindowMs: fast\n`,
      expected: ['z.yaml:5:17: fortuneTeller.rateWindowMs: expected an integer in 1..100000 (got "fast")'],
    },
    {
      name: 'unknown key with a suggestion',
      yaml: `${MIN}fortuneTeller:\n  rateWindowMS: 100\n`,
      expected: ['z.yaml:5:3: fortuneTeller.rateWindowMS: expected a known key (got unknown key "rateWindowMS"; did you mean "rateWindowMs"?)'],
    },
    {
      name: 'rate window not a whole number of slots (semantic check)',
      yaml: `${MIN}fortuneTeller:\n  slotUs: 3000\n  rateWindowMs: 100\n`,
      expected: ['z.yaml:6:17: fortuneTeller.rateWindowMs: expected a whole number (>= 1) of slots of fortuneTeller.slotUs = 3000 µs (got 100 ms)'],
    },
    {
      name: 'the drain gate closing below the level it opens at (issue 16, config sense)',
      yaml: `${MIN}feedbackUpdater:\n  drain:\n    targetMs: 100\n    closeMs: 50\n`,
      expected: ['z.yaml:7:14: feedbackUpdater.drain.closeMs: expected at least feedbackUpdater.drain.targetMs = 100 ms: the gate closes above closeMs and opens again at targetMs (got 50)'],
    },
    {
      name: 'a rate floor above the initial rate',
      yaml: `${MIN}fortuneTeller:\n  minRateBps: 2000000\n  initialRateBps: 1000000\n`,
      expected: ['z.yaml:5:15: fortuneTeller.minRateBps: expected at most fortuneTeller.initialRateBps = 1000000: a floor above the rate assumed before any measurement (got 2000000)'],
    },
    {
      name: 'unknown top-level key with a typo',
      yaml: `${MIN}watchdgo:\n  stallMs: 100\n`,
      expected: ['z.yaml:4:1: watchdgo: expected a known key (got unknown key "watchdgo"; did you mean "watchdog"?)'],
    },
    {
      name: 'unknown key without a plausible suggestion lists the known ones',
      yaml: `${MIN}log:\n  colour: red\n`,
      expected: ['z.yaml:5:3: log.colour: expected a known key: level, stderrLevel (got unknown key "colour")'],
    },
    {
      name: 'a chain zhuge does not own (it would flush the host firewall)',
      yaml: `${MIN}nfqueue:\n  chain: FORWARD\n`,
      expected: [
        'z.yaml:5:10: nfqueue.chain: expected a chain name of zhuge\'s own: ZHUGE, optionally followed by letters, digits, \'_\' or \'-\' (at most 28 characters) (got "FORWARD")',
      ],
    },
    {
      name: 'a stall threshold below three heartbeats (the rules would flap)',
      yaml: `${MIN}watchdog:\n  stallMs: 50\n`,
      expected: ['z.yaml:5:12: watchdog.stallMs: expected an integer in 150..10000 (got 50)'],
    },
    {
      name: 'out of range',
      yaml: `${MIN}flows:\n  dscp: [10, 64]\n`,
      expected: ['z.yaml:5:14: flows.dscp[1]: expected an integer in 0..63 (got 64)'],
    },
    {
      name: 'enum',
      yaml: `${MIN}queue:\n  backend: tc\n`,
      expected: ['z.yaml:5:12: queue.backend: expected one of "qdisc", "mac80211" (got "tc")'],
    },
    {
      name: 'union (auto or 1..14) gives one message',
      yaml: `${MIN}flows:\n  rtp:\n    twccExtensionId: 15\n`,
      expected: ['z.yaml:6:22: flows.rtp.twccExtensionId: expected "auto" or an integer 1..14 (got 15)'],
    },
    {
      name: 'flows.rtp.maxTransports below 1',
      yaml: `${MIN}flows:\n  rtp:\n    maxTransports: 0\n`,
      expected: ['z.yaml:6:20: flows.rtp.maxTransports: expected an integer in 1..65536 (got 0)'],
    },
    {
      name: 'flows.rtp.maxLeadMs below 50',
      yaml: `${MIN}flows:\n  rtp:\n    maxLeadMs: 10\n`,
      expected: ['z.yaml:6:16: flows.rtp.maxLeadMs: expected an integer in 50..5000 (got 10)'],
    },
    {
      name: 'missing required key points at its parent',
      yaml: 'interfaces:\n  eth: eth0\n',
      expected: ['z.yaml:2:3: interfaces.wlan: expected an interface name (1-15 characters, no space, \'/\' or \':\') (got nothing: this key is required)'],
    },
    {
      name: 'missing required section',
      yaml: 'log:\n  level: debug\n',
      expected: ['z.yaml:1:1: interfaces: expected a mapping (got nothing: this key is required)'],
    },
    {
      name: 'YAML syntax error',
      yaml: `${MIN}flows:\n  tcp: {enabled: true\n`,
      expected: ['z.yaml:6:1: (yaml): YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }'],
    },
    {
      name: 'duplicate key',
      yaml: `${MIN}log:\n  level: info\n  level: warn\n`,
      expected: ['z.yaml:6:3: (yaml): YAML syntax error: Map keys must be unique'],
    },
    {
      name: 'bad CIDR (semantic check)',
      yaml: `${MIN}flows:\n  clientSubnets: [192.168.1.0/24, 10.0.0.0/33, fd00::/64]\n`,
      expected: ['z.yaml:5:35: flows.clientSubnets[1]: expected a CIDR prefix like 192.168.1.0/24 or fd00::/64 (got "10.0.0.0/33")'],
    },
    {
      name: 'bad listen address (semantic check)',
      yaml: `${MIN}metrics:\n  listen: 9469\n`,
      expected: ['z.yaml:5:11: metrics.listen: expected HOST:PORT, e.g. 127.0.0.1:9469 or [::1]:9469 (got 9469)'],
    },
    {
      name: 'several problems, one line each, in document order',
      yaml: `interfaces:\n  eth: eth0\n  wlan: eth0\n`,
      expected: ['z.yaml:3:9: interfaces.wlan: expected an interface other than interfaces.eth (got "eth0" for both)'],
    },
    {
      name: 'empty document',
      yaml: '# nothing\n',
      expected: ['z.yaml:1:1: (root): expected a mapping with at least interfaces.eth and interfaces.wlan (got an empty document)'],
    },
    {
      name: 'list given for a mapping',
      yaml: `${MIN}nfqueue: [1, 2]\n`,
      expected: ['z.yaml:4:10: nfqueue: expected a mapping (got a list of 2)'],
    },
    {
      name: 'duplicate list items',
      yaml: `${MIN}flows:\n  quic:\n    ports: [443, 8443, 443]\n`,
      expected: ['z.yaml:6:24: flows.quic.ports[2]: expected a list without duplicates (got 443 twice, also at [0])'],
    },
  ];
  it.each(cases)('$name', ({ yaml, expected }) => {
    expect(problemsOf(yaml)).toEqual(expected);
  });

  it('reports every problem, not just the first', () => {
    const lines = problemsOf(`${MIN}queue:\n  backend: tc\n  resyncIntervalMs: 1\nlog:\n  level: loud\n`);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^z\.yaml:5:12: queue\.backend: /);
    expect(lines[1]).toMatch(/^z\.yaml:6:21: queue\.resyncIntervalMs: expected an integer in 10\.\.10000 \(got 1\)$/);
    expect(lines[2]).toMatch(/^z\.yaml:8:10: log\.level: /);
  });

  it('ConfigError carries structured problems', () => {
    try {
      parseConfig(`${MIN}watchdog:\n  stallMs: -1\n`, 'f.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const ce = err as ConfigError;
      expect(ce.problems).toEqual([{ path: 'watchdog.stallMs', line: 5, col: 12, message: 'expected an integer in 150..10000 (got -1)' }]);
    }
  });
});

describe('parseConfig: valid configurations', () => {
  it('fills every default from a minimal file', () => {
    const cfg = parseConfig(MIN, 'min.yaml');
    expect(cfg.interfaces).toEqual({ eth: 'eth0', wlan: 'wlan0' });
    expect(cfg.queue).toEqual({ backend: 'qdisc', resyncIntervalMs: 100, txqPollMs: 5, discipline: 'fifo', limitBytes: 0, rateFrom: 'measured' });
    expect(cfg.flows.quic.ports).toEqual([443]);
    expect(cfg.flows.tcp.ports).toEqual([]);
    expect(cfg.flows.rtp.twccExtensionId).toBe('auto');
    expect(cfg.nfqueue).toEqual({ queueNum: 7000, maxLen: 4096, failOpen: true, chain: 'ZHUGE', bridgeMark: 0x10000000 });
    expect(cfg.metrics.listen).toBe('127.0.0.1:9469');
    expect(cfg.feedbackUpdater.seed).toBeUndefined();
    expect(cfg.log.level).toBe('info');
  });

  it('the example file validates and equals the defaults (it documents them)', () => {
    const example = loadConfig(EXAMPLE.pathname);
    const minimal = parseConfig(MIN, 'min.yaml');
    expect(example).toEqual(minimal);
  });

  it('the OpenWrt default config validates', () => {
    const cfg = loadConfig(OPENWRT.pathname);
    expect(cfg.queue.backend).toBe('qdisc');
    expect(cfg.interfaces.wlan).toBe('phy0-ap0');
  });

  it('fortuneTeller defaults map onto the Fortune Teller\'s own defaults', () => {
    const ft = parseConfig(MIN, 'min.yaml').fortuneTeller;
    const d = defaultFortuneTellerConfig;
    expect(ft.slotUs).toBe(d.slotUs);
    expect((ft.rateWindowMs * 1000) / ft.slotUs).toBe(d.windowSlots);
    expect(ft.minRateBps).toBe(d.minRateBps);
    expect(ft.initialRateBps).toBe(d.initialRateBps);
    expect(ft.burstWindowMs * 1000).toBe(d.burstIntervalUs);
    expect(ft.stableQueueMs).toBe(d.aggregationWaitMs);
  });

  it('feedbackUpdater defaults are the Feedback Updater\'s own', () => {
    const fu = parseConfig(MIN, 'min.yaml').feedbackUpdater;
    expect(fu).toEqual({ historyMs: DELTA_WINDOW_DEFAULTS.historyMs, maxDeltaMs: DELTA_WINDOW_DEFAULTS.maxDeltaMs, capMs: SCHEDULER_DEFAULTS.capMs, mode: 'increments', drain: { ...DRAIN_GATE_DEFAULTS }, window: { targetMs: WINDOW_CLAMP_DEFAULTS.targetMs, minWindowBytes: WINDOW_CLAMP_DEFAULTS.minWindowBytes } });
  });

  it('accepts explicit values, IPv6 listen and CIDRs, twcc id, seed', () => {
    const cfg = parseConfig(
      `${MIN}flows:\n  rtp: {twccExtensionId: 3}\n  clientSubnets: [fd00::/64, 10.0.0.0/8]\nmetrics: {listen: "[::1]:9999"}\nfeedbackUpdater: {seed: 42}\n`,
      'x.yaml',
    );
    expect(cfg.flows.rtp.twccExtensionId).toBe(3);
    expect(cfg.flows.clientSubnets).toEqual(['fd00::/64', '10.0.0.0/8']);
    expect(cfg.metrics.listen).toBe('[::1]:9999');
    expect(cfg.feedbackUpdater.seed).toBe(42);
  });

  it('changedSections lists sections that differ', () => {
    const a = parseConfig(MIN, 'a');
    const b = parseConfig(`${MIN}log: {level: debug}\nwatchdog: {stallMs: 300}\n`, 'b');
    expect(changedSections(a, b).sort()).toEqual(['log', 'watchdog']);
    expect(changedSections(a, parseConfig(MIN, 'c'))).toEqual([]);
  });
});

describe('loadConfig / tryLoadConfig', () => {
  it('an unreadable file is a ConfigError without a position', () => {
    const r = tryLoadConfig('/nonexistent/zhuge.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('/nonexistent/zhuge.yaml: (file): cannot read the configuration (no such file)');
  });
  it('reads a file and reports problems with its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-cfg-'));
    try {
      const f = join(dir, 'z.yaml');
      writeFileSync(f, `${MIN}log: {level: loud}\n`);
      const r = tryLoadConfig(f);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message.startsWith(`${f}:4:14: log.level: expected one of`)).toBe(true);
      writeFileSync(f, MIN);
      expect(tryLoadConfig(f).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('helpers', () => {
  it.each([
    ['127.0.0.1:9469', { host: '127.0.0.1', port: 9469 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['::1:80', undefined],
    ['[127.0.0.1]:80', undefined],
    ['host:65536', undefined],
    ['host', undefined],
    [':80', undefined],
  ])('parseListen(%s)', (s, want) => {
    expect(parseListen(s)).toEqual(want);
  });
  it.each([
    ['10.0.0.0/8', 4, 8],
    ['fd00::/64', 6, 64],
    ['::/0', 6, 0],
    ['10.0.0.0/33', undefined, 0],
    ['fd00::/129', undefined, 0],
    ['10.0.0/8', undefined, 0],
    ['10.0.0.0', undefined, 0],
  ])('parseCidr(%s)', (s, family, len) => {
    const r = parseCidr(s);
    if (family === undefined) expect(r).toBeUndefined();
    else expect(r).toEqual({ address: s.split('/')[0], family, prefixLen: len });
  });
  it('suggestKey', () => {
    expect(suggestKey('rateWindowMS', ['slotUs', 'rateWindowMs'])).toBe('rateWindowMs');
    expect(suggestKey('bakend', ['backend', 'resyncIntervalMs'])).toBe('backend');
    expect(suggestKey('colour', ['level'])).toBeUndefined();
  });
  it('dottedPath', () => {
    expect(dottedPath([])).toBe('(root)');
    expect(dottedPath(['flows', 'quic', 'ports', 2])).toBe('flows.quic.ports[2]');
  });
});

// ----- the TS Config interface and the JSON Schema must describe the same tree -----

/** Every key of T, recursively, required (optional keys too): a compile-time mirror of Config. */
type KeyTree<T> = { [K in keyof T]-?: NonNullable<T[K]> extends unknown[] ? true : NonNullable<T[K]> extends object ? KeyTree<NonNullable<T[K]>> : true };

// `satisfies` rejects a missing or an extra key: this literal is exactly Config's key tree.
const CONFIG_KEYS = {
  interfaces: { eth: true, wlan: true },
  queue: { backend: true, resyncIntervalMs: true, txqPollMs: true, discipline: true, limitBytes: true, rateFrom: true },
  flows: {
    tcp: { enabled: true, ports: true },
    quic: { enabled: true, ports: true },
    rtp: { enabled: true, twccExtensionId: true, feedbackIntervalMs: true, maxTransports: true, srtcpFallback: true, reportTiming: true, repairDrops: true, beyondLead: true, maxLeadMs: true, leadEarnedBy: true, unmeasured: true, reportSpacing: true, sojournCap: true, signal: true, capRecovery: true, capFloor: true, capDelayFrom: true, kernelDrops: true },
    clientSubnets: true,
    dscp: true,
    idleTimeoutMs: true,
    maxFlows: true,
  },
  fortuneTeller: { slotUs: true, rateWindowMs: true, minRateBps: true, initialRateBps: true, burstWindowMs: true, stableQueueMs: true },
  feedbackUpdater: { historyMs: true, maxDeltaMs: true, capMs: true, mode: true, drain: { targetMs: true, closeMs: true, maxHoldMs: true, catchUp: true, keepaliveMs: true }, window: { targetMs: true, minWindowBytes: true }, seed: true },
  nfqueue: { queueNum: true, maxLen: true, failOpen: true, chain: true, bridgeMark: true },
  watchdog: { stallMs: true },
  metrics: { listen: true },
  log: { level: true, stderrLevel: true },
} satisfies KeyTree<Config>;

/** Optional by design (absent has a meaning): the only schema properties with neither default nor required. */
const OPTIONAL = new Set(['feedbackUpdater.seed', 'feedbackUpdater.drain.closeMs']);

interface S {
  type?: string;
  properties?: Record<string, S>;
  required?: string[];
  default?: unknown;
  title?: string;
  description?: string;
}

function schemaTree(s: S): unknown {
  if (s.type === 'object' && s.properties !== undefined) {
    return Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, schemaTree(v)]));
  }
  return true;
}

describe('schema', () => {
  const schema = loadSchema() as S;

  it('is the shipped file, draft 2020-12, with an $id', () => {
    const raw = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>;
    expect(raw['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof raw['$id']).toBe('string');
  });

  it('has the same key tree as the Config interface', () => {
    expect(schemaTree(schema)).toEqual(CONFIG_KEYS);
  });

  it('every property has a default or is required (or is deliberately optional), and is documented', () => {
    const missing: string[] = [];
    const walk = (s: S, path: string[]): void => {
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const p = [...path, k].join('.');
        const required = (s.required ?? []).includes(k);
        if (v.default === undefined && !required && !OPTIONAL.has(p)) missing.push(`${p}: no default`);
        if (typeof v.title !== 'string' || typeof v.description !== 'string') missing.push(`${p}: no title/description`);
        if (v.type === 'object') walk(v, [...path, k]);
      }
    };
    walk(schema, []);
    expect(missing).toEqual([]);
  });

  it('every leaf key appears in the example file (it documents them all)', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const leaves: string[] = [];
    const walk = (t: unknown): void => {
      for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
        if (v === true) leaves.push(k);
        else walk(v);
      }
    };
    walk(CONFIG_KEYS);
    for (const k of leaves) expect(text, k).toMatch(new RegExp(`^\\s*#?\\s*${k}:`, 'm'));
  });
});

describe('parseConfig never throws anything but ConfigError (fast-check)', () => {
  const example = readFileSync(EXAMPLE, 'utf8');
  const check = (text: string): void => {
    try {
      parseConfig(text, 'fuzz.yaml');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) {
        expect(p.line).toBeGreaterThanOrEqual(1);
        expect(p.col).toBeGreaterThanOrEqual(1);
      }
    }
  };
  it('on truncated and byte-mutated example files', () => {
    fc.assert(
      fc.property(fc.nat({ max: example.length }), fc.array(fc.tuple(fc.nat({ max: example.length - 1 }), fc.constantFrom(...': -[]{}#&*!|>\'"%@`\n\t0aZ,?'.split(''))), { maxLength: 6 }), (cut, edits) => {
        const chars = example.slice(0, cut).split('');
        for (const [at, ch] of edits) if (at < chars.length) chars[at] = ch;
        check(chars.join(''));
      }),
      { numRuns: 400 },
    );
  });
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => check(s)),
      { numRuns: 400 },
    );
  });
});

describe('configWarnings: valid, likely not meant', () => {
  it.each([
    ['127.0.0.1:9469', 0],
    ['[::1]:9469', 0],
    ['localhost:9469', 0],
    ['0.0.0.0:9469', 1],
    ['192.168.1.1:9469', 1],
    ['[::]:9469', 1],
  ])('metrics.listen %s: %d warning(s)', (listen, n) => {
    const w = configWarnings(parseConfig(`${MIN}metrics:\n  listen: "${listen}"\n`, 'z.yaml'));
    expect(w).toHaveLength(n);
    if (n > 0) expect(w[0]).toContain('not a loopback address');
  });
});
