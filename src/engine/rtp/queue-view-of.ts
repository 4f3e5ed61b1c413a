/**
 * The Wi-Fi queue as the in-band path sees it (QueueView), read from the Fortune Teller of the
 * queue a flow's packets wait in: departures re-predicted, how long a rate lasts, and the sample
 * a REMB cap is set from. Pure: an adapter, time passed in.
 */
import type { FortuneTeller } from '../../fortune-teller/fortune-teller.js';
import type { QueueView } from './feedback-builder.js';

export function queueViewOf(ftOfFlow: (flow: number) => FortuneTeller): QueueView {
  return {
    departureUs: (tUs, position, flow, measuredOnly) => ftOfFlow(flow).departureUs(tUs, position, flow, measuredOnly),
    horizonUs: (tUs, flow) => ftOfFlow(flow).service.horizonUs(tUs),
    rateAgeUs: (tUs, flow) => ftOfFlow(flow).service.ageUs(tUs),
    sampleCap: (tUs, flow, out) => {
      const ft = ftOfFlow(flow);
      const stated = ft.statedRateBps(tUs);
      out.serviceRateBps = stated > 0 ? stated : ft.service.rateBps(tUs);
      const q = ft.queue;
      const own = q.flowBytes(flow);
      if (ft.config.discipline === 'fq') {
        // a round-robin scheduler serves each busy flow 1/n of the rate: its own backlog at that share
        const n = Math.max(1, q.busyFlows);
        out.backlogBytes = own * n;
        out.share = 1 / n;
        // the flow's own head and drained bytes are not kept per bucket: the busy rate alone
        out.headAgeUs = 0;
        out.departedBytes = Number.NaN;
      } else {
        // a FIFO serves flows in the proportion they queue (bytes known only from a kernel resync belong to no flow)
        const tracked = q.bytesInQueue - q.untrackedBytes;
        out.backlogBytes = q.bytesInQueue;
        out.share = tracked > 0 ? own / tracked : 1;
        const head = q.headArrivalUs;
        out.headAgeUs = head >= 0 && tUs > head ? tUs - head : 0;
        out.departedBytes = q.bytesDeparted;
      }
    },
  };
}
