/**
 * Which sequence numbers of one stream still have to be reported, shared by the TWCC and RFC 8888
 * recorders (they differ only in how a range becomes packets).
 *
 * Rules (see twcc-recorder.ts for why):
 *   - 16-bit numbers are unwrapped relative to the previous one (reordering within +-32767);
 *   - a drain reports [frontier, highest recorded]; unrecorded numbers in it are "not received";
 *     the frontier then moves past it;
 *   - a packet recorded after its number was reported as not received is *late*: the next drain
 *     returns it in a range of consecutive late numbers only, so it is reported received once
 *     and nothing else is re-reported; a late packet below every number ever covered extends the
 *     covered range downwards (the numbers in between are reported not received);
 *   - the first recorded value of a number wins.
 * Memory bound: at most maxRange numbers pending (a larger jump drops the oldest, unreported),
 * at most maxLate late packets, and a ring of RING numbers remembering which of the latest
 * reported numbers were reported received (older late packets are ignored).
 */

export class SeqUnwrapper {
  private last: number | undefined;

  /** Extended sequence number of `seq16`, relative to the previous call. */
  unwrap(seq16: number): number {
    const s = seq16 & 0xffff;
    const last = this.last;
    if (last === undefined) {
      this.last = s;
      return s;
    }
    const lastS = last & 0xffff;
    let diff = (s - lastS) & 0xffff;
    // exactly half-way counts as forward when the raw value grew (libwebrtc's IsNewerSequenceNumber)
    if (diff > 0x8000 || (diff === 0x8000 && s < lastS)) diff -= 0x10000;
    const ext = last + diff;
    this.last = ext;
    return ext;
  }

  /** Unwrap the next numbers relative to `ext` (an extended number) again. */
  reset(ext: number): void {
    this.last = ext;
  }
}

export interface SeqTrackerStats {
  recorded: number;
  duplicates: number;
  late: number;
  tooOld: number;
  dropped: number;
}

/** A range to report: numbers first..last; `values` holds the received ones (null/absent = not received). */
export interface SeqRange<T> {
  first: number;
  last: number;
  values: ReadonlyMap<number, T | null>;
}

const RING = 4096;

export class SeqTracker<T> {
  private readonly unwrapper = new SeqUnwrapper();
  private frontier: number | undefined;
  private coveredStart: number | undefined;
  private highest = -Infinity;
  private pending = new Map<number, T | null>();
  private late = new Map<number, T | null>();
  private readonly reportedReceived = new Uint8Array(RING);
  readonly stats: SeqTrackerStats = { recorded: 0, duplicates: 0, late: 0, tooOld: 0, dropped: 0 };

  constructor(
    private readonly maxRange: number,
    private readonly maxLate: number,
  ) {
    if (!(maxRange >= 1) || !(maxLate >= 0)) throw new RangeError('SeqTracker: bad limits');
  }

  /** Numbers waiting for the next drain. */
  get pendingCount(): number {
    return this.pending.size + this.late.size;
  }

  record(seq16: number, value: T): void {
    this.put(this.unwrapper.unwrap(seq16), value);
  }

  markLost(seq16: number): void {
    this.put(this.unwrapper.unwrap(seq16), null);
  }

  private put(ext: number, value: T | null): void {
    const received = value !== null;
    if (this.frontier === undefined) {
      this.frontier = ext;
      this.coveredStart = ext;
    }
    if (ext >= this.frontier) {
      const prev = this.pending.get(ext);
      if (prev !== undefined && prev !== null) {
        if (received) this.stats.duplicates++;
        return;
      }
      this.pending.set(ext, value);
      if (received) this.stats.recorded++;
      if (ext > this.highest) this.highest = ext;
      this.enforceRange();
      return;
    }
    if (!received) return; // already reported (as lost or received), or below everything covered
    if (ext < this.frontier - RING) {
      this.stats.tooOld++;
      return;
    }
    if (this.reportedReceived[ext & (RING - 1)] === 1 || this.late.has(ext)) {
      this.stats.duplicates++;
      return;
    }
    if (this.late.size >= this.maxLate) {
      this.stats.dropped++;
      return;
    }
    this.late.set(ext, value);
    this.stats.recorded++;
    this.stats.late++;
  }

  private enforceRange(): void {
    const frontier = this.frontier;
    if (frontier === undefined || this.highest - frontier < this.maxRange) return;
    const newFrontier = this.highest - this.maxRange + 1;
    for (let e = frontier; e < newFrontier; e++) {
      const v = this.pending.get(e);
      if (v !== undefined) {
        this.pending.delete(e);
        if (v !== null) this.stats.dropped++;
      }
      this.reportedReceived[e & (RING - 1)] = 0;
    }
    this.frontier = newFrontier;
  }

  /**
   * Everything to report now, in order: late packets below the covered range, runs of late
   * packets, then the main range. Late packets failing `keepLate` are dropped (counted).
   * The tracker considers every returned number reported.
   */
  drain(keepLate: (v: T) => boolean): Array<SeqRange<T>> {
    const out: Array<SeqRange<T>> = [];
    if (this.late.size > 0) {
      const late = new Map<number, T | null>();
      for (const [e, v] of this.late) if (v !== null && keepLate(v)) late.set(e, v);
      this.stats.dropped += this.late.size - late.size;
      this.late = new Map();
      const exts = [...late.keys()].sort((a, b) => a - b);
      let i = 0;
      const cs = this.coveredStart;
      const lowest = exts[0];
      if (cs !== undefined && lowest !== undefined && lowest < cs) {
        while (i < exts.length && (exts[i] ?? cs) < cs) i++;
        out.push(this.mark({ first: lowest, last: cs - 1, values: late }));
        this.coveredStart = lowest;
      }
      while (i < exts.length) {
        const first = exts[i] ?? 0;
        let last = first;
        i++;
        while (i < exts.length && exts[i] === last + 1) {
          last++;
          i++;
        }
        out.push(this.mark({ first, last, values: late }));
      }
    }
    const frontier = this.frontier;
    if (frontier !== undefined && this.pending.size > 0 && this.highest >= frontier) {
      out.push(this.mark({ first: frontier, last: this.highest, values: this.pending }));
      this.frontier = this.highest + 1;
      this.pending = new Map();
    }
    return out;
  }

  private mark(r: SeqRange<T>): SeqRange<T> {
    for (let e = r.first; e <= r.last; e++) {
      const v = r.values.get(e);
      this.reportedReceived[e & (RING - 1)] = v !== undefined && v !== null ? 1 : 0;
    }
    return r;
  }
}
