/** The explorer (issue 17): bounded enumeration of a cell's choice sequences. */
export * from './bounds.js';
export { type OutcomeCensus, outcomeCensus } from './census.js';
export { ExploringChooser, KindTable, type RunPosition } from './chooser.js';
export * from './litmus.js';
export * from './operations.js';
export * from './parallel.js';
export * from './record.js';
export * from './search.js';
export { type ShrinkOptions, shrinkCounterexample } from './shrink.js';
export { reductionFaults } from './speculative-targets.js';
