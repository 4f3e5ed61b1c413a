/** Running size of a transport-wide CC feedback being built (the wire format is in twcc.ts). */
import { TWCC_HEADER_BYTES, TWCC_MAX_PACKET_BYTES, TWCC_MAX_STATUS_COUNT, twccSymbol, TwccChunker } from './twcc.js';

/**
 * Incremental size of a feedback packet being filled entry by entry, so a builder can stop before a
 * byte budget is exceeded and start a new packet. Mirrors the serializer's chunking exactly.
 */
export class TwccSizeCounter {
  private readonly chunker = new TwccChunker();
  private readonly trial = new TwccChunker();
  private emitted = 0;
  private deltaBytes = 0;
  private entries = 0;

  reset(): void {
    this.chunker.reset();
    this.emitted = 0;
    this.deltaBytes = 0;
    this.entries = 0;
  }

  get count(): number {
    return this.entries;
  }

  /** Bytes on the wire (padded to 32 bits) of what was added so far. */
  get packetBytes(): number {
    return twccPaddedSize(this.emitted + (this.chunker.isEmpty() ? 0 : 1), this.deltaBytes);
  }

  /**
   * Adds `missing` not-received entries followed by `delta` (null: one more not received), unless
   * the result would exceed `maxBytes` or the status count limit; returns whether it was added.
   */
  tryAdd(missing: number, delta: number | null, maxBytes: number = TWCC_MAX_PACKET_BYTES): boolean {
    const total = missing + 1;
    if (this.entries + total > TWCC_MAX_STATUS_COUNT) return false;
    const symbol = twccSymbol(delta);
    this.trial.copyFrom(this.chunker);
    let emitted = this.emitted;
    for (let i = 0; i < total; i++) {
      const s = i < missing ? 0 : symbol;
      if (!this.trial.isEmpty() && !this.trial.canAdd(s)) {
        this.trial.emit();
        emitted++;
      }
      this.trial.add(s);
    }
    const deltaBytes = this.deltaBytes + symbol;
    if (twccPaddedSize(emitted + 1, deltaBytes) > maxBytes) return false;
    this.chunker.copyFrom(this.trial);
    this.emitted = emitted;
    this.deltaBytes = deltaBytes;
    this.entries += total;
    return true;
  }
}

/** Bytes on the wire of a feedback with `chunks` chunks and `deltaBytes` delta bytes, padded to 32 bits. */
export function twccPaddedSize(chunks: number, deltaBytes: number): number {
  return (TWCC_HEADER_BYTES + 2 * chunks + deltaBytes + 3) & ~3;
}
