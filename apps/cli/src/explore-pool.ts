/**
 * `tlblab explore --jobs N`: core's parallel explorer (explore/parallel.ts) on the CLI's worker
 * pool. Each region of a level is one pool task; the worker rebuilds the cell from registry names
 * (built-ins and `--plugin`s, as sweeps do) and posts the regions it hands off on a port, which is
 * drained before the task's result is returned so that no handed-off region is lost.
 */
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { RegionDonation, RegionResult, RegionRunner } from '@tlblab/core';
import type { StartedPool } from './isolate.js';
import type { PlanInput, PlannedCell } from './plan.js';

export function poolRunner(
  started: StartedPool,
  cell: PlannedCell,
  params: Readonly<Record<string, unknown>>,
  kernel?: PlanInput['kernel'],
): RegionRunner {
  return {
    jobs: started.jobs,
    run: async (region, donate) => {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (d: RegionDonation) => donate(d));
      try {
        const r = await started.pool.run(
          {
            kind: 'region',
            spec: started.spec,
            cell,
            params,
            ...(kernel !== undefined ? { kernel } : {}),
            region,
            port: port2,
          },
          { transferList: [port2] },
        );
        for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
          donate(m.message as RegionDonation);
        }
        if (r !== null && 'region' in r) return r.region as RegionResult;
        throw new Error(`explore worker: ${r !== null && 'error' in r ? r.error : 'no result'}`);
      } finally {
        port1.close();
      }
    },
  };
}
