/**
 * The packet status chunks of a transport-wide CC feedback (twcc.ts has the wire format): which
 * chunk (run length, 1-bit or 2-bit status vector) carries the next symbols, decided exactly as
 * libwebrtc's encoder does.
 */

/** Longest run a run-length chunk carries (13 bits). */
export const TWCC_MAX_RUN_LENGTH = 0x1fff;
/** Symbols in a 1-bit status vector chunk. */
export const TWCC_ONE_BIT_CAPACITY = 14;
/** Symbols in a 2-bit status vector chunk. */
export const TWCC_TWO_BIT_CAPACITY = 7;

/**
 * libwebrtc's "last chunk" state: the symbols not yet committed to an emitted chunk. Adding a symbol
 * that the pending chunk cannot take emits a chunk (greedy), exactly like
 * modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc (LastChunk::CanAdd/Add/Emit/EncodeLast).
 */
export class TwccChunker {
  private size = 0;
  private allSame = true;
  private hasLarge = false;
  private readonly symbols = new Uint8Array(TWCC_ONE_BIT_CAPACITY);

  reset(): void {
    this.size = 0;
    this.allSame = true;
    this.hasLarge = false;
  }

  isEmpty(): boolean {
    return this.size === 0;
  }

  copyFrom(other: TwccChunker): void {
    this.size = other.size;
    this.allSame = other.allSame;
    this.hasLarge = other.hasLarge;
    this.symbols.set(other.symbols);
  }

  canAdd(symbol: number): boolean {
    if (this.size < TWCC_TWO_BIT_CAPACITY) return true;
    if (this.size < TWCC_ONE_BIT_CAPACITY && !this.hasLarge && symbol !== 2) return true;
    return this.size < TWCC_MAX_RUN_LENGTH && this.allSame && this.symbols[0] === symbol;
  }

  add(symbol: number): void {
    if (this.size < TWCC_ONE_BIT_CAPACITY) this.symbols[this.size] = symbol;
    this.size++;
    this.allSame = this.allSame && symbol === this.symbols[0];
    this.hasLarge = this.hasLarge || symbol === 2;
  }

  /** Emits the chunk that must be closed because canAdd() refused a symbol; keeps any remainder. */
  emit(): number {
    if (this.allSame) {
      const chunk = this.runLength();
      this.reset();
      return chunk;
    }
    if (this.size === TWCC_ONE_BIT_CAPACITY) {
      const chunk = this.oneBit();
      this.reset();
      return chunk;
    }
    const chunk = this.twoBit(TWCC_TWO_BIT_CAPACITY);
    const rest = this.size - TWCC_TWO_BIT_CAPACITY;
    this.reset();
    for (let i = 0; i < rest; i++) {
      const s = this.symbols[TWCC_TWO_BIT_CAPACITY + i] ?? 0;
      this.symbols[i] = s;
      this.size++;
      this.allSame = this.allSame && s === this.symbols[0];
      this.hasLarge = this.hasLarge || s === 2;
    }
    return chunk;
  }

  /** The final chunk (not emptied): run length if uniform, 2-bit vector if <= 7, else 1-bit vector. */
  encodeLast(): number {
    if (this.allSame) return this.runLength();
    if (this.size <= TWCC_TWO_BIT_CAPACITY) return this.twoBit(this.size);
    return this.oneBit();
  }

  private runLength(): number {
    return ((this.symbols[0] ?? 0) << 13) | this.size;
  }

  private oneBit(): number {
    let chunk = 0x8000;
    for (let i = 0; i < this.size; i++) chunk |= (this.symbols[i] ?? 0) << (TWCC_ONE_BIT_CAPACITY - 1 - i);
    return chunk;
  }

  private twoBit(n: number): number {
    let chunk = 0xc000;
    for (let i = 0; i < n; i++) chunk |= (this.symbols[i] ?? 0) << (2 * (TWCC_TWO_BIT_CAPACITY - 1 - i));
    return chunk;
  }
}
