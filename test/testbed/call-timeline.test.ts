import { describe, expect, it } from 'vitest';
import { callTimeline, dropInTable, lateFrameSplit, parseTsv, timelineText } from '../../testbed/webrtc/call-timeline.js';

const packets = parseTsv(
  [
    'seq\tsizeBytes\tapArrivalMs\tdepartureMs',
    '1\t1000\t4000\t4040', // before 5 s: not the drop, however long it waited
    '2\t1000\t5900\t5905',
    '3\t1250\t6000\t6200', // the first to wait > 30 ms after 5 s: the drop is 50 ms before it
    '4\t1000\t6100\t', // dropped by the queue
    '5\t1000\t6400\t6700',
  ].join('\n'),
);
const sender = parseTsv(['tFromDropMs\tavailableOutgoingMbps\ttargetMbps\tsentMbps\tpacerDelayMs', '-500\t3.0\t1.5\t1.4\t0', '120\t0.1\t0.05\t0.2\t751'].join('\n'));
const receiver = parseTsv(['kind\ttFromDropMs\tdelayMs', 'frame\t-400\t80', 'frame\t100\t450', 'frame\t200\t300', 'stats\t210\t'].join('\n'));

describe('call-timeline', () => {
  it('finds the drop: the first packet after 5 s that waited over 30 ms, less 50 ms', () => {
    expect(dropInTable(packets)).toBe(5950);
    expect(dropInTable(packets.slice(0, 2))).toBeUndefined();
  });

  it('bins the queue, the frames and the sender around the drop', () => {
    const bins = callTimeline(packets, sender, receiver, 250, -1000, 1000);
    expect(bins.map((b) => b.tFromDropMs)).toEqual([-1000, -750, -500, -250, 0, 250, 500, 750]);
    const at = (t: number): (typeof bins)[number] | undefined => bins.find((b) => b.tFromDropMs === t);
    // packets 3 and 4 arrived 50 and 150 ms after the drop: one waited 200 ms, one was dropped
    expect(at(0)).toMatchObject({ apSojournMaxMs: 200, queueDrops: 1, frames: 2, frameDelayMaxMs: 450, availableMbps: '0.1', pacerDelayMs: '751' });
    expect(at(0)?.apArrivalMbps).toBeCloseTo(((1250 + 1000) * 8) / 250_000, 6);
    expect(at(250)).toMatchObject({ apSojournMaxMs: 300, queueDrops: 0 });
    expect(at(-250)).toMatchObject({ apSojournMaxMs: 5, frames: 0 });
    expect(at(-500)).toMatchObject({ frames: 1, frameDelayMaxMs: 80, targetMbps: '1.5' });
    expect(timelineText(bins).split('\n')).toHaveLength(bins.length + 1);
  });

  it('lateFrameSplit: the pacer delay at each late frame\'s capture, the rest after the pacer', () => {
    const sender = parseTsv('tFromDropMs\tpacerDelayMs\n0\t0\n100\t0\n1000\t300\n1100\t500\n2000\t0\n');
    // shown at 1500 with 600 ms: captured at 900, nearest sample 1000 (300 ms in the pacer)
    // shown at 1650 with 550 ms: captured at 1100 (500); shown at 1700 with 300 ms: not late
    // shown at 2500 with 450 ms: captured at 2050, nearest 2000 (0); shown before fromMs: left out
    const receiver = parseTsv('kind\ttFromDropMs\tdelayMs\nframe\t-500\t900\nframe\t1500\t600\nframe\t1650\t550\nframe\t1700\t300\nstats\t1800\t\nframe\t2500\t450\n');
    expect(lateFrameSplit(sender, receiver, 0)).toEqual({ lateFrames: 3, meanDelayMs: 533.3, meanPacerMs: 266.7, meanAfterPacerMs: 266.7 });
    expect(lateFrameSplit(sender, receiver, 0, 1600).lateFrames).toBe(1);
    expect(lateFrameSplit([], receiver, 0).lateFrames).toBe(0);
  });
});
