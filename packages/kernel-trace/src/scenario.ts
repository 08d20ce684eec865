/**
 * A trace-driven scenario: `defineScenario` over an imported workload, replayed by `buildReplay`.
 * The workload is loaded on first use (fixtures are gunzipped and parsed once per process), so
 * listing scenarios costs nothing.
 */
import { readFileSync } from 'node:fs';
import { defineScenario, type Scenario } from '@tlblab/core';
import { z } from 'zod';
import { buildReplay, DEFAULT_FREQUENCY_MHZ, DEFAULT_MAX_GAP_CYCLES } from './replay.js';
import { type ImportedWorkload, WORKLOAD_FORMAT, WORKLOAD_VERSION } from './workload.js';

export const realWorkloadParams = z
  .object({
    /** Core clock the log's time between events is converted at (cycles = ns * MHz / 1000). */
    frequencyMHz: z.number().positive().max(100_000).default(DEFAULT_FREQUENCY_MHZ),
    /** Longest gap between two events replayed as compute (replay.ts): 20 us at 1 GHz by default. */
    maxGapCycles: z.number().int().min(0).default(DEFAULT_MAX_GAP_CYCLES),
    /** Which harts touch each new mapping (replay.ts). */
    accessRule: z.enum(['scheduling', 'maker-only', 'all-harts']).default('scheduling'),
    /** What harts beyond the captured count do (replay.ts). */
    extraHarts: z.enum(['mirror', 'idle']).default('mirror'),
    /** Replay one phase of the capture (`boot`, `fork-loop`, ...) or `all`. */
    phase: z.string().min(1).default('all'),
    /** User pages in each hart's working set. */
    userPages: z.number().int().min(0).max(256).default(8),
    /** Passes over the working set each hart makes before the replay. */
    backgroundRounds: z.number().int().min(0).max(64).default(1),
  })
  .strict();

export type RealWorkloadParams = z.infer<typeof realWorkloadParams>;

export interface RealScenarioMeta {
  readonly id: string;
  readonly title: string;
  readonly story: string;
  readonly source: string;
}

/** A scenario replaying `load()`'s workload. */
export function scenarioFromWorkload(
  meta: RealScenarioMeta,
  load: () => ImportedWorkload,
): Scenario<RealWorkloadParams> {
  let cached: ImportedWorkload | undefined;
  return defineScenario({
    id: meta.id,
    meta: { title: meta.title, story: meta.story, source: meta.source },
    minHarts: 1,
    // VMAP_STACK is 64-bit only on riscv; the capture's own mode does not matter to the replay.
    modes: ['sv39', 'sv48', 'sv57'],
    expect: 'ok',
    purpose: 'cost',
    params: realWorkloadParams,
    build(p, env) {
      cached ??= load();
      const r = buildReplay(cached, { ...p, harts: env.harts });
      return {
        programs: r.programs,
        userPages: p.userPages,
        // Every op may fan out into IPIs to every hart: budget the steps accordingly.
        kernelConfig: { vmapStack: true, stepLimit: 200_000 + 40 * r.totalOps * env.harts },
      };
    },
  });
}

/**
 * A scenario over a workload file `tlblab import-trace` wrote, for a `tlblab.config.ts`:
 * `scenarios: [workloadScenarioFromFile('my-boot.json', 'real-my-boot')]`.
 */
export function workloadScenarioFromFile(
  file: string,
  id: string,
  title?: string,
): Scenario<RealWorkloadParams> {
  return scenarioFromWorkload(
    {
      id,
      title: title ?? `the real kernel workload of ${file}`,
      story: `The kernel events of a captured ftrace log (${file}), replayed on the model's harts.`,
      source: file,
    },
    () => {
      const w = JSON.parse(readFileSync(file, 'utf8')) as ImportedWorkload;
      if (w.format !== WORKLOAD_FORMAT || w.version !== WORKLOAD_VERSION)
        throw new Error(
          `${file} is not a ${WORKLOAD_FORMAT} v${WORKLOAD_VERSION} file (tlblab import-trace writes one)`,
        );
      return w;
    },
  );
}
