import { describe, expect, it, vi } from 'vitest';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/replay.js';
import type { ReplayOutput } from '../../src/cli/replay.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../shared/fixtures/webrtc/${name}`, import.meta.url));

async function replayJson(args: string[]): Promise<ReplayOutput> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await run([...args, '--json'])).toBe(0);
    return JSON.parse(String(log.mock.calls[0]?.[0])) as ReplayOutput;
  } finally {
    log.mockRestore();
  }
}

describe('zhuge replay', () => {
  it('plaintext Chromium call: extension id 4, TWCC feedback present, nothing malformed', async () => {
    const o = await replayJson(['--pcap', fixture('chromium-plaintext-4s.pcap')]);
    expect(o.counts.packets).toBe(790);
    expect(o.counts.twccExtensionIds).toEqual([4]);
    expect(o.counts.twccFeedbackPackets).toBe(60); // tshark: rtcp.pt==205 && rtcp.rtpfb.fmt==15
    expect(o.counts.classes['rtcp-twcc']).toBeGreaterThan(0);
    expect(o.counts.classes['rtp-twcc-seq']).toBeGreaterThan(500);
    expect(o.counts.classes.srtcp).toBe(0);
    expect(o.counts.classes.stun).toBeGreaterThan(0);
    expect(o.malformedTotal).toBe(0);
  });

  it('DTLS-SRTP Chromium call: RTCP classed SRTCP, no plaintext TWCC', async () => {
    const o = await replayJson(['--pcap', fixture('chromium-srtp-4s.pcap')]);
    expect(o.counts.packets).toBe(397);
    expect(o.counts.classes.srtcp).toBeGreaterThan(0);
    expect(o.counts.twccFeedbackPackets).toBe(0);
    expect(o.counts.classes['rtcp-twcc']).toBe(0);
    expect(o.counts.classes.rtcp).toBe(0);
    expect(o.counts.classes.dtls).toBeGreaterThan(0);
    expect(o.counts.twccExtensionIds.length).toBe(1); // RTP headers stay plaintext under SRTP
    expect(o.malformedTotal).toBe(0);
  });

  it('usage errors exit 2, unreadable files exit 1', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await run([])).toBe(2);
    expect(await run(['--bogus'])).toBe(2);
    expect(await run(['--pcap', fixture('chromium-plaintext-4s.pcap'), '--discipline', 'wfq'])).toBe(2);
    expect(await run(['--pcap', '/nonexistent/x.pcap'])).toBe(1);
    expect(await run(['--pcap', '/etc/hostname'])).toBe(1);
    err.mockRestore();
  });
});
