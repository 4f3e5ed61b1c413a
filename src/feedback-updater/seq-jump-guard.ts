/**
 * Whether a transport-wide sequence number is one the sender can have sent: a forward jump
 * larger than `baseJump` + `maxPacketsPerMs` x the time since the last accepted number is held
 * back. The jump is taken (the sender did restart its numbering) only when the numbers continue
 * from it for `confirmUs` while not one number continues the old numbering; any number that
 * continues the old one refutes it. Pure, time passed in, no allocation.
 *
 * Why (issue 15, forged traffic): zhuge reads the transport-wide number from the RTP header
 * extension, which SRTP leaves in clear and which zhuge cannot authenticate. One datagram with a
 * forged number 8000 ahead would make zhuge report 8000 packets lost to the real sender, and
 * make each build walk that range; the client's SRTP layer drops the same datagram, so its own
 * feedback never shows the jump. A real sender numbers every packet it sends, one after another:
 * even at 200 Mbit/s of 1200-byte packets that is 21 numbers per ms. A jump confirmed by the next
 * number alone could be forged with two datagrams; a forger off the path cannot silence the real
 * sender, whose audio alone sends a number every 20 ms, so a jump is taken only after `confirmUs`
 * (200 ms: ten audio packets) without one.
 */
import { SeqUnwrapper } from './seq-tracker.js';

export const SEQ_JUMP_DEFAULTS = Object.freeze({ baseJump: 256, maxPacketsPerMs: 25, confirmUs: 200_000 });

export class SeqJumpGuard {
  private readonly unwrapper = new SeqUnwrapper();
  private lastExt: number | undefined;
  private lastUs = 0;
  /** the held numbering: its latest number and time, when it began (heldExt undefined: none) */
  private heldExt: number | undefined;
  private heldUs = 0;
  private heldSinceUs = 0;
  /** numbers held back as implausible jumps (their packets are not recorded) */
  rejected = 0;
  /** held jumps the old numbering went on after (forged, or a stray datagram) */
  refuted = 0;

  constructor(
    private readonly baseJump = SEQ_JUMP_DEFAULTS.baseJump,
    private readonly maxPacketsPerMs = SEQ_JUMP_DEFAULTS.maxPacketsPerMs,
    private readonly confirmUs = SEQ_JUMP_DEFAULTS.confirmUs,
  ) {}

  /** The packet numbered `seq16` arrived at tUs: true when it may be recorded. */
  accept(seq16: number, tUs: number): boolean {
    const ext = this.unwrapper.unwrap(seq16);
    const last = this.lastExt;
    if (last === undefined || ext <= last || ext - last <= this.allowed(tUs - this.lastUs)) {
      if (last === undefined || ext > last) {
        this.lastExt = ext;
        this.lastUs = tUs;
      }
      if (this.heldExt !== undefined) {
        // the old numbering goes on: the jump was not the sender's
        this.heldExt = undefined;
        this.refuted++;
      }
      return true;
    }
    const held = this.heldExt;
    if (held !== undefined && ext > held && ext - held <= this.allowed(tUs - this.heldUs)) {
      // the numbers continue from the jump
      if (tUs - this.heldSinceUs >= this.confirmUs) {
        // ... and the old numbering has been quiet all that time: the sender did jump
        this.lastExt = ext;
        this.lastUs = tUs;
        this.heldExt = undefined;
        return true;
      }
      this.heldExt = ext;
      this.heldUs = tUs;
    } else {
      // a new jump, or one that does not continue the held one: hold this one from now
      this.heldExt = ext;
      this.heldUs = tUs;
      this.heldSinceUs = tUs;
    }
    this.rejected++;
    // the unwrapper follows the last number it saw: put it back on the last accepted one
    this.unwrapper.reset(last);
    return false;
  }

  private allowed(dtUs: number): number {
    return this.baseJump + (dtUs > 0 ? (dtUs / 1000) * this.maxPacketsPerMs : 0);
  }
}
