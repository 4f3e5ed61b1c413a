import { describe, expect, it } from 'vitest';
import { joinPredictions, summarizeByStation } from '../../../testbed/wifi/predict.js';

const PRED = ['# wallUs key queue totalMs qLongMs qShortMs txMs', '1000000 11 1 5.000 3 1 1', '1002000 12 2 20.000 15 3 2', '1003000 11 1 6.000 4 1 1', ''].join('\n');

describe('the Wi-Fi prediction trial: joining predictions with deliveries', () => {
  it('each delivery takes the latest unused prediction of its key that came before it', () => {
    const medium = [
      'in 5 420000000000 100 fc=88 flags=1', // not a delivery line
      'd 1004000 1 11 120', // key 11: the prediction at 1 003 000 (the latest before it)
      'd 1009000 1 11 120', // key 11 again: the one at 1 000 000 (the other is used)
      'd 1030000 2 12 1500',
      'd 1031000 2 99 1500', // no prediction: an uplink frame, or a packet the taps missed
      'd 999000 2 12 1500', // before every prediction of its key: nothing
    ].join('\n');
    const j = joinPredictions(PRED, medium);
    expect(j.predicted).toBe(3);
    expect(j.delivered).toBe(5);
    expect(j.packets).toEqual([
      { station: 1, queue: 1, actualMs: 1, predictedMs: 6 },
      { station: 1, queue: 1, actualMs: 9, predictedMs: 5 },
      { station: 2, queue: 2, actualMs: 28, predictedMs: 20 },
    ]);
  });

  it('per station: percentiles of actual, predicted and the error; packets at the default queue counted apart', () => {
    const s = summarizeByStation([
      { station: 2, queue: 2, actualMs: 30, predictedMs: 20 },
      { station: 1, queue: 0, actualMs: 10, predictedMs: 12 },
      { station: 1, queue: 1, actualMs: 20, predictedMs: 14 },
    ]);
    expect(s.map((x) => [x.station, x.matched, x.atStationQueue])).toEqual([
      [1, 2, 1],
      [2, 1, 1],
    ]);
    expect(s[0]?.actualMs).toEqual({ p50: 20, p90: 20 });
    expect(s[0]?.absErrorMs).toEqual({ p50: 6, p90: 6 });
    expect(s[0]?.signedErrorMs).toEqual({ p50: 2, p90: 2 });
    expect(s[1]?.signedErrorMs.p50).toBe(-10);
  });
});
