/**
 * @tlblab/kernel-trace — real Linux kernel workloads for tlblab: an ftrace text parser, an importer
 * that turns a captured log into the kernel events of a mapping workload, a trace-driven scenario
 * that replays them on the model's harts, and the shipped captures (`real-boot`, `real-fork`,
 * `real-modules`, `real-bpf`).
 */
export {
  classify,
  type KernelEvent,
  type KernelEventKind,
  type MapKind,
  type Region,
  type SetMemoryOp,
} from './events.js';
export {
  FIXTURES,
  type Fixture,
  fixtureProvenance,
  fixtureTrace,
  fixtureWorkload,
  realScenarios,
} from './fixtures.js';
export {
  type EventRecord,
  type FunctionRecord,
  fieldsOf,
  type MarkerRecord,
  type ParsedTrace,
  parseTimestamp,
  parseTrace,
  TraceParseError,
  type TraceRecord,
} from './parse.js';
export {
  type AccessRule,
  buildReplay,
  DEFAULT_FREQUENCY_MHZ,
  DEFAULT_MAX_GAP_CYCLES,
  type ExtraHarts,
  type ReplayOptions,
  type ReplayPrograms,
} from './replay.js';
export {
  type RealScenarioMeta,
  type RealWorkloadParams,
  realWorkloadParams,
  scenarioFromWorkload,
} from './scenario.js';
export {
  type Counts,
  countEvents,
  type ImportedWorkload,
  importParsed,
  importTrace,
  type ModelStatus,
  modelStatus,
  type PendingPath,
  type Phase,
  WORKLOAD_FORMAT,
  WORKLOAD_VERSION,
} from './workload.js';
