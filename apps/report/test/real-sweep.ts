/**
 * A real sweep for the browser test: the built-in scenarios and strategies run through core's
 * `runCell`, with a meta record built the way the CLI builds it. Small, so the test stays quick,
 * but every number and every trace on the page comes out of the simulation.
 */
import {
  type CellRecord,
  DEFAULT_KERNEL,
  type MetaRecord,
  PROFILES,
  type ResultsDocument,
  runCell,
  SCHEMA_VERSION,
  type StrategySet,
} from '@tlblab/core';
import { crossHartVmalloc, kernelProtectionFault, tracingInFaultPath } from '@tlblab/scenarios';
import baseline, { onBaseline } from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import flushCacheVmap from '@tlblab/strategy-flush-cache-vmap';
import notraceFault from '@tlblab/strategy-notrace-fault';

export function realSweep(): ResultsDocument {
  const sets: StrategySet[] = [baseline(), notraceFault(), flushCacheVmap(), earlySfence()].map(onBaseline);
  const scenarios = [crossHartVmalloc, tracingInFaultPath, kernelProtectionFault];
  const machine = PROFILES['caches-invalid']!;
  const harts = [2, 4, 8];
  const seeds = { base: 0, count: 6 };
  const cells: CellRecord[] = [];
  for (const s of sets) {
    for (const sc of scenarios) {
      for (const h of harts) {
        cells.push(
          runCell({ strategy: s, scenario: sc, machine, harts: h, mode: 'sv39' }, seeds, {
            index: cells.length,
          }),
        );
      }
    }
  }
  const meta: MetaRecord = {
    kind: 'meta',
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'tlblab', version: '0.1.0' },
    createdAt: '2026-01-01T00:00:00.000Z',
    plan: {
      strategies: sets.map((s) => s.id),
      scenarios: scenarios.map((s) => s.id),
      machines: [machine.name],
      harts,
      mode: 'sv39',
      seeds,
      totalCells: cells.length,
      shard: null,
    },
    machines: { [machine.name]: machine as unknown as Record<string, unknown> },
    kernel: { ...DEFAULT_KERNEL },
    strategies: Object.fromEntries(
      sets.map((s) => [
        s.id,
        {
          title: s.members.map((m) => m.meta.title).join(' + '),
          members: s.members.map((m) => ({
            name: m.name,
            title: m.meta.title,
            description: m.meta.description,
            source: Object.fromEntries(
              Object.entries(m.meta.source).filter(([, v]) => typeof v === 'string'),
            ) as Record<string, string>,
            ...(m.options === undefined ? {} : { options: m.options }),
          })),
        },
      ]),
    ),
    scenarios: Object.fromEntries(
      scenarios.map((sc) => [
        sc.id,
        {
          title: sc.meta.title,
          story: sc.meta.story,
          source: sc.meta.source,
          minHarts: sc.minHarts,
          modes: [...sc.modes],
          expect: sc.expect,
          purpose: sc.purpose ?? 'survival',
        },
      ]),
    ),
  };
  return { meta, cells };
}
