/**
 * Bandwidth schedules for the trace player.
 *
 * Files (`shared/traces/*.pitree-trace`): one `time_s bandwidth_Mbps` pair per line, steps of
 * about 200 ms. A bandwidth of 0 is an outage; htb needs a rate > 0, so an outage is played as
 * OUTAGE_RATE_BPS (8 kbit/s: one 1500-byte packet every 1.5 s — effectively nothing passes); any
 * rate below that (the 4G files have a few) is floored to it as well.
 *
 * Generated profiles: `drop:<R_mbit>:<k>:<T_s>[:<dur_s>]` = R Mbit/s, then R/k from T seconds
 * (the paper's bandwidth-drop experiment, e.g. `drop:30:10:15:30`), and `steady:<R_mbit>[:<dur_s>]`.
 */
export const OUTAGE_RATE_BPS = 8_000;

export interface Step {
  /** offset from the start of the play, ms */
  atMs: number;
  rateBps: number;
}

export interface Schedule {
  steps: Step[];
  /** total length, ms (the last step lasts until then) */
  durationMs: number;
}

/** Parses a `time_s bandwidth_Mbps` file; times are rebased so the first step is at 0. */
export function parseTrace(text: string, outageRateBps = OUTAGE_RATE_BPS): Schedule {
  const steps: Step[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/[\s,]+/);
    const t = Number(parts[0]);
    const mbps = Number(parts[1]);
    if (parts.length < 2 || !Number.isFinite(t) || !Number.isFinite(mbps) || mbps < 0 || t < 0) {
      throw new Error(`trace line ${lineNo}: expected 'time_s bandwidth_Mbps', got ${JSON.stringify(raw)}`);
    }
    const prev = steps[steps.length - 1];
    if (prev !== undefined && t * 1000 < prev.atMs) throw new Error(`trace line ${lineNo}: time goes backwards`);
    steps.push({ atMs: t * 1000, rateBps: Math.max(outageRateBps, Math.round(mbps * 1e6)) });
  }
  const first = steps[0];
  if (first === undefined) throw new Error('empty trace');
  const t0 = first.atMs;
  for (const s of steps) s.atMs = Math.round((s.atMs - t0) * 1000) / 1000;
  // the last step lasts one median step length
  const gaps: number[] = [];
  for (let i = 1; i < steps.length; i++) gaps.push((steps[i] as Step).atMs - (steps[i - 1] as Step).atMs);
  gaps.sort((a, b) => a - b);
  const stepMs = gaps.length > 0 ? (gaps[gaps.length >> 1] as number) : 1000;
  const last = steps[steps.length - 1] as Step;
  return { steps, durationMs: last.atMs + stepMs };
}

/** R bit/s until `atMs`, then R/k until `durationMs`. */
export function dropProfile(rateBps: number, k: number, atMs: number, durationMs: number): Schedule {
  if (!(rateBps > 0) || !(k > 0) || !(atMs >= 0) || !(durationMs > atMs)) throw new RangeError('bad drop profile');
  return {
    steps: [
      { atMs: 0, rateBps },
      { atMs, rateBps: Math.max(OUTAGE_RATE_BPS, Math.round(rateBps / k)) },
    ],
    durationMs,
  };
}

/** Parses `drop:R:k:T[:dur]` / `steady:R[:dur]` (Mbit/s, seconds). */
export function parseProfile(spec: string): Schedule {
  const [kind, ...rest] = spec.split(':');
  const n = rest.map(Number);
  if (n.some((x) => !Number.isFinite(x))) throw new RangeError(`bad profile '${spec}'`);
  if (kind === 'drop' && (n.length === 3 || n.length === 4)) {
    const [r, k, t, dur] = n as [number, number, number, number | undefined];
    return dropProfile(r * 1e6, k, t * 1000, (dur ?? 2 * t) * 1000);
  }
  if (kind === 'steady' && (n.length === 1 || n.length === 2)) {
    const [r, dur] = n as [number, number | undefined];
    return { steps: [{ atMs: 0, rateBps: Math.round(r * 1e6) }], durationMs: (dur ?? 30) * 1000 };
  }
  throw new RangeError(`bad profile '${spec}' (drop:R:k:T[:dur] or steady:R[:dur], Mbit/s and s)`);
}

/** Keeps the steps before `maxMs` (the schedule is cut there). */
export function truncate(s: Schedule, maxMs: number): Schedule {
  return { steps: s.steps.filter((x, i) => i === 0 || x.atMs < maxMs), durationMs: Math.min(s.durationMs, maxMs) };
}
