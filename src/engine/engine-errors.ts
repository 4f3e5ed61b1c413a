/**
 * The engine's error accounting: a packet that does not parse is counted by reason (the
 * observer hears of each direction/reason/codec once, for a log line, never per packet); any
 * other exception is the engine's own bug, counted as an internal error and handed to the
 * observer, so that traffic never stops.
 */
import { ParseError } from '../protocols/errors.js';
import type { EngineCounters } from './counters.js';
import type { EngineObserver } from './options.js';

/** Distinct (direction, reason, codec) triples reported to the observer at most. */
const MAX_SEEN = 256;

export class EngineErrors {
  private readonly seen = new Set<string>();

  constructor(
    private readonly counters: EngineCounters,
    private readonly observer: EngineObserver,
  ) {}

  /** A packet failed to decode: counted by reason when it is a ParseError, else an internal error. */
  malformed(err: unknown, direction: 'downlink' | 'uplink'): void {
    if (!(err instanceof ParseError)) {
      this.internal(err);
      return;
    }
    this.counters.malformed[err.reason]++;
    const k = `${direction}:${err.reason}:${err.what}`;
    if (!this.seen.has(k) && this.seen.size < MAX_SEEN) {
      this.seen.add(k);
      this.observer.onFirstMalformed?.(err.reason, err.what, direction);
    }
  }

  /** An unexpected exception from the engine itself. */
  internal(err: unknown): void {
    this.counters.internalErrors++;
    this.observer.onInternalError?.(err);
  }
}
