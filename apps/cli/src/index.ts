/**
 * tlblab — the command line as a library: `main(argv, io)` for embedding (tools/demo.ts), the
 * registry, the plan, the sweep engine and the results-file helpers.
 */
export { type MainOptions, main } from './cli.js';
export {
  findConfig,
  type LoadedRegistry,
  loadRegistry,
  type RegistrySpec,
  resolvePlugin,
  type SweepDefaults,
} from './config.js';
export { closeMatch, UsageError } from './errors.js';
export type { Io } from './output.js';
export {
  buildPlan,
  coreCell,
  type Plan,
  type PlanInput,
  type PlannedCell,
  parseShard,
  type Shard,
} from './plan.js';
export {
  BUILTIN_STRATEGIES,
  builtinParts,
  createRegistry,
  type Registry,
  type RegistryParts,
  resolveStrategySet,
} from './registry.js';
export { mergeDocuments, readResults } from './results-file.js';
export { type PluginKind, type ScaffoldOptions, scaffold } from './scaffold.js';
export { defaultJobs, runSweep, type SweepOptions, type SweepProgress, type SweepResult } from './sweep.js';
export { TOOL_VERSION } from './version.js';
