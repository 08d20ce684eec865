/**
 * @tlblab/strategy-tester — the conformance kit for strategy authors: `runStrategyConformance`,
 * the recording spy strategy, the failing-strategy fixture, and small probe scenarios.
 */

export { onBaseline } from '@tlblab/strategy-baseline';
export {
  type CaseBase,
  type ConformanceOptions,
  cellOf,
  contractProblems,
  type InvalidCase,
  judgeInvalid,
  judgeValid,
  runStrategyConformance,
  type TestRunner,
  type ValidCase,
} from './conformance.js';
export { type FailingHow, type FailingSite, failingStrategy } from './failing.js';
export * as probes from './probes.js';
export { createSpy, type SlotCall, SPY_NAME, type Spy, type SpyOptions } from './spy.js';
