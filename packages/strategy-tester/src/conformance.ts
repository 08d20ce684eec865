/**
 * `runStrategyConformance(strategy, { valid, invalid })`: the one harness every strategy package's
 * tests use (ESLint's RuleTester): valid cases are cells that must be `correct` over their seeds,
 * invalid cases cells that must fail with a given outcome, plus the contract every strategy must
 * keep. It registers `describe`/`it` blocks with vitest or the runner given; the judging functions (`judgeValid`,
 * `judgeInvalid`, `contractProblems`) are exported for use outside vitest.
 *
 * A case runs the strategy on the baseline kernel (`onBaseline`, the convention that a single
 * strategy name means "this policy on v6.5-rc1") unless it says `alone: true`.
 */
import {
  type AnyScenario,
  type Cell,
  type CellRecord,
  defineStrategy,
  isInconclusiveOutcome,
  type KernelConfig,
  type MachineConfig,
  MODES,
  type Mode,
  type Outcome,
  PluginOptionError,
  PROFILES,
  type RunResult,
  replay,
  runCell,
  SLOT_NAMES,
  type SlotName,
  type Strategy,
  type StrategySlots,
  simulate,
} from '@tlblab/core';
import { onBaseline } from '@tlblab/strategy-baseline';
import { crossHartVmalloc, vfreeReuse } from './probes.js';

/**
 * The test runner the suite registers with (ESLint's RuleTester takes `describe`/`it` the same way):
 * vitest, jest, mocha or node:test all fit. `expect` is optional; without it a failing case throws
 * an `Error` listing its problems, which every runner reports.
 */
export interface TestRunner {
  readonly describe: (name: string, fn: () => void) => unknown;
  readonly it: (name: string, fn: () => void) => unknown;
  readonly expect?: (actual: unknown) => { toEqual(expected: unknown): void };
}

/**
 * vitest's `describe`/`it`/`expect`, when vitest is installed (an optional peer): the default
 * runner. Loaded once, at import, so registration stays synchronous as runners require.
 */
const vitestRunner: TestRunner | null = await import('vitest').then(
  (v) => ({ describe: v.describe, it: v.it, expect: v.expect }) as TestRunner,
  () => null,
);

function assertNone(runner: TestRunner, problems: readonly string[]): void {
  if (runner.expect) runner.expect(problems).toEqual([]);
  else if (problems.length > 0) throw new Error(problems.join('\n'));
}

export interface CaseBase {
  /** Test title override. */
  readonly name?: string;
  readonly scenario: AnyScenario;
  readonly params?: Readonly<Record<string, unknown>>;
  /** A profile name from `PROFILES` or a machine config (default `caches-invalid`). */
  readonly machine?: string | MachineConfig;
  readonly mode?: Mode;
  /** Default: the scenario's minimum, at least 2. */
  readonly harts?: number;
  readonly kernel?: Partial<KernelConfig>;
  /** A seed count from 1, or an explicit range (default 20 seeds from 1). */
  readonly seeds?: number | { readonly base: number; readonly count: number };
  /** Run the strategy by itself instead of on the baseline kernel. */
  readonly alone?: boolean;
}

/** A cell that must be `correct` over all its seeds. */
export type ValidCase = CaseBase;

/** A cell that must be `incorrect`, with `outcome` among its runs' outcomes. */
export interface InvalidCase extends CaseBase {
  readonly outcome: Outcome;
  /** Every run ends with `outcome` (a deterministic failure such as a livelock). */
  readonly always?: boolean;
}

export interface ConformanceOptions {
  readonly valid?: readonly ValidCase[];
  readonly invalid?: readonly InvalidCase[];
  /** The npm name of the package; its suffix after `strategy-` must equal `strategy.name`. */
  readonly packageName?: string;
  /** The package's factory: `factory()` must give the same name; each of `invalidOptions` must
   *  throw a `PluginOptionError` naming the strategy. */
  readonly factory?: (options?: never) => Strategy;
  readonly invalidOptions?: readonly unknown[];
  /** The test runner (default: vitest's). */
  readonly runner?: TestRunner;
}

function machineOf(m: CaseBase['machine']): MachineConfig {
  if (m === undefined) return PROFILES['caches-invalid']!;
  if (typeof m !== 'string') return m;
  const p = PROFILES[m];
  if (!p) throw new Error(`unknown profile '${m}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}

function seedsOf(s: CaseBase['seeds']): { base: number; count: number } {
  if (s === undefined) return { base: 1, count: 20 };
  return typeof s === 'number' ? { base: 1, count: s } : s;
}

/** The cell a case describes. */
export function cellOf(strategy: Strategy, c: CaseBase): Cell {
  return {
    strategy: c.alone ? strategy : onBaseline(strategy),
    scenario: c.scenario,
    machine: machineOf(c.machine),
    harts: c.harts ?? Math.max(2, c.scenario.minHarts),
    ...(c.params ? { params: c.params } : {}),
    ...(c.mode ? { mode: c.mode } : {}),
    ...(c.kernel ? { kernel: c.kernel } : {}),
  };
}

function describeCase(strategy: Strategy, c: CaseBase): string {
  const cell = cellOf(strategy, c);
  const s = seedsOf(c.seeds);
  return `${c.scenario.id} on ${cell.machine.name}/${c.mode ?? 'sv39'} with ${cell.harts} harts${c.alone ? ' (alone)' : ''}, seeds ${s.base}..${s.base + s.count - 1}`;
}

/** Problems with a valid case (empty = it holds), and the cell record. */
export function judgeValid(strategy: Strategy, c: ValidCase): { problems: string[]; record: CellRecord } {
  const record = runCell(cellOf(strategy, c), seedsOf(c.seeds));
  const problems: string[] = [];
  if (record.verdict !== 'correct') {
    const f = record.firstFailure!;
    // Inconclusive: no run failed for a real reason, a budget ran out (issue 13).
    const hint =
      record.verdict === 'inconclusive'
        ? '; inconclusive, not a failure: give the case a larger budget (kernel: { stepLimit })'
        : '';
    problems.push(
      `expected correct (${c.scenario.expect}) but seed ${f.seed} ended ${f.outcome}: ${f.failure?.message ?? ''} (outcomes ${JSON.stringify(record.outcomes)})${hint}`,
    );
  }
  return { problems, record };
}

/** Problems with an invalid case (empty = it holds): the cell fails, with `outcome`, reproducibly. */
export function judgeInvalid(
  strategy: Strategy,
  c: InvalidCase,
): { problems: string[]; record: CellRecord; seed: number | null } {
  const cell = cellOf(strategy, c);
  const seeds = seedsOf(c.seeds);
  let first: RunResult | null = null;
  const record = runCell(cell, seeds, {
    onRun: (r) => {
      if (first === null && r.outcome === c.outcome) first = r;
    },
  });
  const problems: string[] = [];
  const seen = JSON.stringify(record.outcomes);
  if (record.verdict === 'correct')
    problems.push(
      `expected the cell to fail with ${c.outcome} but every run met '${c.scenario.expect}' (${seen})`,
    );
  else if (record.verdict === 'inconclusive' && !isInconclusiveOutcome(c.outcome))
    problems.push(
      `expected the cell to fail with ${c.outcome} but it is inconclusive: its failing runs all ran out of a budget (${seen})`,
    );
  const hit = first as RunResult | null;
  if (hit === null) {
    problems.push(`no run ended with ${c.outcome} (${seen})`);
  } else {
    const again = replay(cell, hit.choices);
    if (again.outcome !== c.outcome)
      problems.push(`seed ${hit.seed} ended ${c.outcome} but its replay ended ${again.outcome}`);
  }
  if (c.always && (record.outcomes[c.outcome] ?? 0) !== seeds.count)
    problems.push(`expected every run to end with ${c.outcome} (${seen})`);
  return { problems, record, seed: hit?.seed ?? null };
}

const CONTRACT_MODES: readonly Mode[] = MODES;

/** Wrap a strategy so that each run's `setup` result is captured. */
function capturingSetup(strategy: Strategy): {
  wrapped: Strategy;
  results: { mode: Mode; slots: StrategySlots }[];
} {
  const results: { mode: Mode; slots: StrategySlots }[] = [];
  const wrapped = defineStrategy({
    ...strategy,
    setup: (setup) => {
      const slots = strategy.setup(setup);
      results.push({ mode: setup.mode, slots });
      return slots;
    },
  });
  return { wrapped, results };
}

/** The contract every strategy keeps, as a list of problems (empty = it holds). */
export function contractProblems(
  strategy: Strategy,
  opts: Pick<ConformanceOptions, 'packageName' | 'factory' | 'invalidOptions'> = {},
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (check: string, problem: string) => {
    const list = out[check] ?? [];
    list.push(problem);
    out[check] = list;
  };
  // 1. Name equals the package suffix.
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(strategy.name))
    add('name', `name '${strategy.name}' is not kebab-case`);
  if (opts.packageName !== undefined) {
    const i = opts.packageName.lastIndexOf('strategy-');
    const suffix = i < 0 ? null : opts.packageName.slice(i + 'strategy-'.length);
    if (suffix !== strategy.name)
      add(
        'name',
        `package '${opts.packageName}' has suffix '${suffix ?? '(none)'}' but the strategy is named '${strategy.name}'`,
      );
  }
  // 2. meta is complete.
  const m = strategy.meta;
  if (!m || typeof m.title !== 'string' || m.title.trim() === '') add('meta', 'meta.title is empty');
  if (!m || typeof m.description !== 'string' || m.description.trim() === '')
    add('meta', 'meta.description is empty');
  if (!m?.source || !(m.source.commit || m.source.kernel || m.source.url || m.source.note))
    add('meta', 'meta.source names no commit, kernel, url or note');
  const declared = m?.slots ?? [];
  if (declared.length === 0) add('meta', 'meta.slots is empty');
  for (const s of declared) if (!SLOT_NAMES.includes(s)) add('meta', `meta.slots names unknown slot '${s}'`);
  if (new Set(declared).size !== declared.length) add('meta', 'meta.slots lists a slot twice');
  if (strategy.functions?.kernelFault !== undefined && !declared.includes('kernelFault')) {
    add(
      'meta',
      `functions.kernelFault = '${strategy.functions.kernelFault}' but kernelFault is not among meta.slots`,
    );
  }
  // 3. setup returns only declared slots, as functions, on every mode.
  for (const mode of CONTRACT_MODES) {
    const { wrapped, results } = capturingSetup(strategy);
    const r = simulate(
      { strategy: wrapped, scenario: vfreeReuse, machine: PROFILES.emulator!, harts: 2, mode },
      1,
    );
    if (r.outcome === 'strategy-error') add('setup', `${mode}: ${r.failure?.message ?? 'strategy-error'}`);
    for (const { slots } of results) {
      if (typeof slots !== 'object' || slots === null) {
        add('setup', `${mode}: setup returned ${String(slots)}`);
        continue;
      }
      for (const [k, v] of Object.entries(slots)) {
        if (!SLOT_NAMES.includes(k as SlotName)) add('setup', `${mode}: setup returned unknown slot '${k}'`);
        else if (!declared.includes(k as SlotName))
          add('setup', `${mode}: setup returned slot '${k}' not declared in meta.slots`);
        if (typeof v !== 'function') add('setup', `${mode}: slot '${k}' is not a function`);
      }
    }
  }
  // 4. Deterministic: the same seed gives the same run, also after other runs of the same instance
  //    (state must live in what setup creates, not in the factory's closure).
  const cell: Cell = {
    strategy: onBaseline(strategy),
    scenario: crossHartVmalloc,
    machine: PROFILES['caches-invalid']!,
    harts: 2,
  };
  const key = (r: RunResult) =>
    JSON.stringify({ o: r.outcome, f: r.failure, m: r.metrics, l: r.mappingLatencies, c: r.choices });
  const first = simulate(cell, 7);
  simulate(cell, 8);
  // Twice in a row as well: a counter kept across runs shows up in one of the two.
  for (const [i, again] of [simulate(cell, 7), simulate(cell, 7)].entries()) {
    if (key(again) !== key(first)) {
      add(
        'determinism',
        `seed 7 gave ${first.outcome} (sfence.vma x0 ${first.metrics.sfenceAll}) first and ${again.outcome} (sfence.vma x0 ${again.metrics.sfenceAll}) on run ${i + 3}`,
      );
      break;
    }
  }
  // 5. Options.
  if (opts.factory) {
    const d = opts.factory();
    if (d.name !== strategy.name) add('options', `factory() is named '${d.name}', not '${strategy.name}'`);
    for (const bad of opts.invalidOptions ?? []) {
      try {
        opts.factory(bad as never);
        add('options', `options ${JSON.stringify(bad)} were accepted`);
      } catch (e) {
        if (!(e instanceof PluginOptionError))
          add('options', `options ${JSON.stringify(bad)} threw ${String(e)}, not a PluginOptionError`);
        else if (e.plugin !== strategy.name)
          add('options', `PluginOptionError names plugin '${e.plugin}', not '${strategy.name}'`);
      }
    }
  }
  return out;
}

const CONTRACT_CHECKS: readonly [string, string][] = [
  ['name', 'is named as its package suffix'],
  ['meta', 'has complete meta (title, description, source, known slots)'],
  ['setup', 'returns only its declared slots, as functions, on every mode'],
  ['determinism', 'gives the same run for the same seed'],
  ['options', 'validates its options with a PluginOptionError naming it'],
];

/** Register the conformance suite for `strategy` with the runner (default vitest). */
export function runStrategyConformance(strategy: Strategy, opts: ConformanceOptions = {}): void {
  const runner = opts.runner ?? vitestRunner;
  if (runner === null) {
    throw new Error(
      'runStrategyConformance: vitest is not installed; pass { runner: { describe, it, expect } } from your test runner',
    );
  }
  const { describe, it } = runner;
  describe(`${strategy.name}: conformance`, () => {
    describe('contract', () => {
      let problems: Record<string, string[]> | null = null;
      const get = () => {
        problems ??= contractProblems(strategy, opts);
        return problems;
      };
      for (const [check, title] of CONTRACT_CHECKS) {
        if (check === 'options' && !opts.factory) continue;
        it(title, () => {
          assertNone(runner, get()[check] ?? []);
        });
      }
    });
    if (opts.valid?.length) {
      describe('valid', () => {
        for (const c of opts.valid!) {
          it(c.name ?? `is correct on ${describeCase(strategy, c)}`, () => {
            assertNone(runner, judgeValid(strategy, c).problems);
          });
        }
      });
    }
    if (opts.invalid?.length) {
      describe('invalid', () => {
        for (const c of opts.invalid!) {
          it(
            c.name ?? `ends ${c.always ? 'always ' : ''}with ${c.outcome} on ${describeCase(strategy, c)}`,
            () => {
              assertNone(runner, judgeInvalid(strategy, c).problems);
            },
          );
        }
      });
    }
  });
}
