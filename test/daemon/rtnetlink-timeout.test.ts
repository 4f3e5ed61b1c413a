/**
 * A rtnetlink request the kernel never answers (issue 15, item 5): before, TcNetlink queued every
 * later request behind it for ever (the qdisc resync, the drop poll and the shaper read share
 * one socket, one request at a time), so the queue model silently lost its backlog readings.
 */
import type { RtNetlinkSocket } from 'netlink';
import { describe, expect, it } from 'vitest';
import { RtnetlinkTimeoutError, TcNetlink } from '../../src/daemon/rtnetlink.js';

/** A fake socket whose first `hangs` dump requests never answer; the others answer with no qdisc. */
function fakeSockets(hangs: number): { open: () => RtNetlinkSocket; opened: number; closed: number; asked: number } {
  const st = { opened: 0, closed: 0, asked: 0, open: (): RtNetlinkSocket => st.make() } as { opened: number; closed: number; asked: number; open: () => RtNetlinkSocket; make: () => RtNetlinkSocket };
  st.make = () => {
    st.opened++;
    const fake = {
      getQdiscs: () => {
        st.asked++;
        return st.asked <= hangs ? new Promise(() => undefined) : Promise.resolve([]);
      },
      socket: { close: () => void st.closed++ },
    };
    return fake as unknown as RtNetlinkSocket;
  };
  return st;
}

describe('TcNetlink: a request never answered', () => {
  it('is abandoned after the timeout, the socket replaced, and the requests queued behind it are served', async () => {
    const f = fakeSockets(1);
    const tc = new TcNetlink(f.open, 50);
    const t0 = Date.now();
    const first = tc.qdiscStats(3);
    const second = tc.qdiscStats(3);
    await expect(first).rejects.toBeInstanceOf(RtnetlinkTimeoutError);
    await expect(second).resolves.toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(tc.timeouts).toBe(1);
    expect(f.opened).toBe(2);
    expect(f.closed).toBe(1);
  });

  it('answered requests never time out, and the socket stays', async () => {
    const f = fakeSockets(0);
    const tc = new TcNetlink(f.open, 50);
    for (let i = 0; i < 5; i++) await expect(tc.qdiscStats(3)).resolves.toEqual([]);
    await new Promise((r) => setTimeout(r, 80)); // no timer left behind fires
    expect(tc.timeouts).toBe(0);
    expect(f.opened).toBe(1);
  });
});
