/**
 * The demo's comparison (`pnpm demo`, tools/demo.ts): every set, scenario and core profile, Sv39
 * and Sv32, 1 to 8 harts. Also the bench's `jobs` figure's "demo sweep" (tools/bench/figures.ts),
 * which must stay the same selection. Seeds are left to the caller (the demo runs 16).
 */
export const DEMO_SWEEP: readonly string[] = [
  '-s',
  'all',
  '-c',
  'all',
  '-m',
  'all',
  '--mode',
  'sv39,sv32',
  '--harts',
  '1,2,4,8',
];

/** The seeds the demo runs per cell. */
export const DEMO_SEEDS = 16;
