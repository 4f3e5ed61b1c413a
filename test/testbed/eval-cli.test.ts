/** `zhuge eval` option handling: presets, explicit options, rejections (no testbed needed). */
import { describe, expect, it } from 'vitest';
import { buildPlan, parseList, resolveTrace, run, tracesDir } from '../../testbed/cli/eval.js';

describe('buildPlan', () => {
  it.each([
    // the quick drop preset: Chromium at the demo's 3 Mbit/s, from a steady state at half of it, one k, two pairs
    { exp: 'drop', v: { quick: true }, cmd: 'zhuge eval drop --sender gcc --steady-cap-mbit 1.5 --rate-mbit 3 --k 10 --duration 30 --repeat 2 --base-rtt-ms 50 --buffer-ms 100' },
    { exp: 'drop', v: { quick: true, 'steady-cap-mbit': '1' }, cmd: 'zhuge eval drop --sender gcc --steady-cap-mbit 1 --rate-mbit 3' },
    { exp: 'drop', v: {}, cmd: 'zhuge eval drop --sender gcc --rate-mbit 30 --k 2,3,4,5,6,7,8,10,12,14,16,20,25,30,35,40,45,50 --duration 30 --repeat 3' },
    { exp: 'drop', v: { sender: 'bbr', quick: true }, cmd: 'zhuge eval drop --sender bbr --rate-mbit 30 --k 10 --duration 20 --repeat 2 --base-rtt-ms 50 --buffer-ms 200' },
    { exp: 'drop', v: { sender: 'cubic', k: '2,50', 'rate-mbit': '20', duration: '40', repeat: '5' }, cmd: 'zhuge eval drop --sender cubic --rate-mbit 20 --k 2,50 --duration 40 --repeat 5' },
    { exp: 'drop', v: { sender: 'bbr', quick: true, 'ack-mode': 'drain' }, cmd: 'zhuge eval drop --sender bbr --ack-mode drain --rate-mbit 30 --k 10' },
    { exp: 'trace', v: { quick: true }, cmd: 'zhuge eval trace --sender bbr --trace ' },
    { exp: 'trace', v: { quick: true, sender: 'cubic', 'ack-mode': 'window' }, cmd: 'zhuge eval trace --sender cubic --ack-mode window --trace ' },
    { exp: 'trace', v: { quick: true, sender: 'gcc' }, cmd: 'abc4g_0.pitree-trace --duration 30 --repeat 1' },
    { exp: 'drop', v: { 'rate-mbit': '2', 'steady-cap-mbit': '1.5', 'report-timing': 'departure', k: '2,10' }, cmd: 'zhuge eval drop --sender gcc --steady-cap-mbit 1.5 --report-timing departure --rate-mbit 2 --k 2,10' },
    { exp: 'trace', v: { quick: true, sender: 'gcc', 'report-timing': 'arrival' }, cmd: 'zhuge eval trace --sender gcc --report-timing arrival --trace ' },
    { exp: 'trace', v: { sender: 'gcc', 'steady-cap-mbit': '1.5', trace: ['abc4g_0'] }, cmd: 'zhuge eval trace --sender gcc --steady-cap-mbit 1.5 --trace ' },
    { exp: 'accuracy', v: { quick: true }, cmd: 'zhuge eval accuracy --sender bbr --trace ' },
    { exp: 'overhead', v: { quick: true }, cmd: 'zhuge eval overhead --pps 1000,5000,20000 --flows 1,16 --duration 5 --repeat 1' },
    { exp: 'overhead', v: {}, cmd: 'zhuge eval overhead --pps 1000,5000,10000,20000,50000,100000 --flows 1,4,16,64,128 --duration 20 --repeat 3' },
  ] as const)('$exp $v', ({ exp, v, cmd }) => {
    expect(buildPlan(exp, v).command).toContain(cmd);
  });
  it.each([
    { exp: 'trace', v: { sender: 'quic' }, err: /drop experiment only/ },
    { exp: 'drop', v: { sender: 'quic', 'quic-cc': 'vegas' }, err: /quic-cc/ },
    { exp: 'drop', v: { sender: 'reno' }, err: /--sender must be one of/ },
    { exp: 'drop', v: { sender: 'bbr', 'ack-mode': 'hold' }, err: /--ack-mode must be increments\|drain\|window/ },
    { exp: 'trace', v: { sender: 'gcc', 'ack-mode': 'window' }, err: /applies to --sender bbr\|cubic/ },
    { exp: 'drop', v: { sender: 'gcc', 'ack-mode': 'drain' }, err: /applies to --sender bbr\|cubic/ },
    { exp: 'drop', v: { 'rate-mbit': '2', 'steady-cap-mbit': '3' }, err: /below --rate-mbit/ },
    { exp: 'drop', v: { sender: 'bbr', 'steady-cap-mbit': '1' }, err: /applies to --sender gcc/ },
    { exp: 'trace', v: { sender: 'gcc', 'report-timing': 'late' }, err: /arrival\|departure/ },
    { exp: 'trace', v: { sender: 'bbr', 'report-timing': 'departure' }, err: /applies to --sender gcc/ },
    { exp: 'trace', v: { sender: 'cubic', 'steady-cap-mbit': '1' }, err: /applies to --sender gcc/ },
    { exp: 'drop', v: { k: '1' }, err: /> 1/ },
    { exp: 'drop', v: { k: '10,x' }, err: /comma-separated/ },
    { exp: 'drop', v: { duration: '3' }, err: /≥ 6/ },
    { exp: 'drop', v: { repeat: '1.5' }, err: /integer/ },
    { exp: 'accuracy', v: { sender: 'gcc' }, err: /--sender must be one of bbr\|cubic/ },
    { exp: 'trace', v: { trace: ['/nonexistent/x.trace'] }, err: /not found/ },
    { exp: 'overhead', v: { flows: '200' }, err: /128/ },
  ] as const)('rejects $exp $v', ({ exp, v, err }) => {
    expect(() => buildPlan(exp, v)).toThrow(err);
  });
});

describe('--sender quic', () => {
  // the QUIC runner (testbed/quic-experiment.ts) is part of the harness: the plan uses it
  it('plans a QUIC drop run', () => {
    expect(buildPlan('drop', { sender: 'quic', quick: true }).command).toContain('--sender quic --quic-cc cubic --rate-mbit 30 --k 10');
  });
});

describe('helpers', () => {
  it('resolves trace names into the shared traces directory', () => {
    expect(resolveTrace('abc4g_0')).toBe(`${tracesDir()}abc4g_0.pitree-trace`);
    expect(resolveTrace('office-wifi_1.pitree-trace')).toBe(`${tracesDir()}office-wifi_1.pitree-trace`);
    expect(resolveTrace('/x/y.txt')).toBe('/x/y.txt');
  });
  it.each([
    ['2,3, 4', [2, 3, 4]],
    ['0.5', [0.5]],
  ])('parseList(%j)', (s, want) => {
    expect(parseList(s, 'k')).toEqual(want);
  });
  it.each(['', 'a', '1,,2', '-1'])('parseList rejects %j', (s) => {
    expect(() => parseList(s, 'k')).toThrow();
  });
  it('usage errors exit 2 before touching the system', async () => {
    expect(await run([])).toBe(2);
    expect(await run(['nope'])).toBe(2);
    expect(await run(['trace', '--sender', 'quic'])).toBe(2);
    expect(await run(['drop', '--bogus'])).toBe(2);
    expect(await run(['--help'])).toBe(0);
  });
});
