/**
 * Outcomes, metrics, and the results document: the one interchange format between `simulate`,
 * the CLI (output, shard files, resume), and the report generator. Validated with a schema on read.
 */
import { z } from 'zod';
import { summarizeInPlace } from './summary.js';

/**
 * Per-run outcome (machine-model section 10). Exactly one per run. `timeout` is never produced by
 * the model: a host (the CLI's wall-clock watchdog, issue 15) records it for a cell whose worker it
 * stopped before any run finished, so no strategy is blamed for a loaded machine. Documents written
 * before it existed simply never hold it.
 */
export const OUTCOMES = [
  'ok',
  'oops',
  'panic:spurious-fault',
  'panic:stack-overflow',
  'livelock',
  'deadlock',
  'stale-access',
  'strategy-error',
  'step-limit',
  'timeout',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * Outcomes that end a run before it could answer, because a budget ran out: the model's own step
 * budget (`kernel.stepLimit`) or the host's wall-clock watchdog. Neither says anything about the
 * strategy, so neither may make a cell `incorrect` (issue 13). The failure modes the model
 * detects have their own outcomes and never end as `step-limit`: a hart faulting on the same VA and
 * cause more than `livelockK` times with no successful access is `livelock`, every live hart waiting
 * on another `deadlock`, trap recursion past the stack `panic:stack-overflow`. Programs are finite,
 * so what only the budget stops is a workload larger than the budget, or a strategy whose slots
 * make unbounded work without a faulting access (an IPI handler that keeps sending IPIs): a larger
 * `--kernel stepLimit` tells the two apart.
 */
export const INCONCLUSIVE_OUTCOMES = ['step-limit', 'timeout'] as const satisfies readonly Outcome[];

/** A run outcome that is a budget overrun, not an answer. */
export function isInconclusiveOutcome(outcome: Outcome): boolean {
  return outcome === 'step-limit' || outcome === 'timeout';
}

/**
 * A cell's verdict: `correct` when every run met the scenario's expectation; `incorrect` when any
 * run failed for a real reason; `inconclusive` when every failing run ended on a budget
 * (`INCONCLUSIVE_OUTCOMES`) — the cell was neither shown correct nor shown incorrect.
 */
export const VERDICTS = ['correct', 'incorrect', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The verdict of a cell from its outcome counts (the one rule; `runCell` and readers use it). */
export function verdictOf(
  outcomes: Readonly<Partial<Record<Outcome, number>>>,
  expect: 'ok' | 'oops',
): Verdict {
  let overrun = false;
  for (const o of OUTCOMES) {
    if (o === expect || !outcomes[o]) continue;
    if (!isInconclusiveOutcome(o)) return 'incorrect';
    overrun = true;
  }
  return overrun ? 'inconclusive' : 'correct';
}

/**
 * Per-run counters (machine-model section 11). Cycles: `cycles` is the makespan (the largest hart
 * clock); the busy/waiting/handling splits are summed over harts (a hart idle until an interrupt
 * arrives is none of them). `steps` counts engine steps.
 */
export const METRIC_NAMES = [
  'steps',
  'cycles',
  'cyclesBusy',
  'cyclesWaitingIpi',
  'cyclesHandlingIpi',
  'accesses',
  'tlbHits',
  'tlbMisses',
  'tlbNegativeHits',
  'walksDemand',
  'walksSpeculative',
  'walkLevels',
  'pageFaults',
  'spuriousFaults',
  'genuineFaults',
  'replays',
  'sfenceAll',
  'sfenceAsid',
  'sfenceVa',
  'sfenceVaAsid',
  'sfenceLocal',
  'sfenceIpi',
  'sfenceFirmware',
  'ipisSent',
  'ipisReceived',
  'sbiCalls',
  'mappings',
  'mappingLatency',
  'refillMisses',
  'maxTrapDepth',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type RunMetrics = Record<MetricName, number>;

/** Where and why a run ended other than `ok`. */
export interface RunFailure {
  readonly hart: number;
  readonly step: number;
  /** Faulting VA, when the outcome concerns one. */
  readonly stval?: string;
  readonly cause?: string;
  /** One sentence: what happened, in kernel words. */
  readonly message: string;
}

/** The result of `simulate(cell, seed)`. */
export interface RunResult {
  readonly seed: number;
  readonly outcome: Outcome;
  readonly failure: RunFailure | null;
  /** Per-run counters; `mappingLatency` is the mean over this run's mappings. */
  readonly metrics: RunMetrics;
  /** Latency in cycles of every mapping call of the run, in order (flush included). */
  readonly mappingLatencies: readonly number[];
  /** The run's choice sequence, compactly encoded (see `encodeChoices`); replays the run exactly. */
  readonly choices: string;
}

/** Aggregate of one metric over a cell's runs. */
export interface MetricSummary {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export const SCHEMA_VERSION = 1;

const outcomeSchema = z.enum(OUTCOMES);

/** Kinds of trace event, per hart (the swimlanes of a report's timeline). */
export const TRACE_KINDS = [
  'op',
  'access',
  'walk',
  'speculate',
  'fault',
  'trap',
  'slot',
  'fence',
  'ipi-send',
  'ipi-handle',
  'sbi',
  'map',
  'unmap',
  'outcome',
] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

/** One step-by-step trace event (from `replay(..., { trace: true })`). */
export interface TraceEvent {
  /** Engine step (an index, not time). */
  readonly step: number;
  readonly hart: number;
  /** Time: the hart's cycle clock after the event (hart -1: the latest hart clock). Divide by the
   *  machine's `frequencyMHz` for µs. Events of one hart are in cycle order; across harts the
   *  engine runs the earliest hart first, so a trace sorted by step is nearly sorted by cycle. */
  readonly cycle: number;
  readonly kind: TraceKind;
  /** Human-readable, in kernel words: `load page fault at 0xffffffc600003000 (negative TLB entry)`. */
  readonly text: string;
}

export const traceEventSchema = z.object({
  step: z.number().int(),
  hart: z.number().int(),
  cycle: z.number(),
  kind: z.enum(TRACE_KINDS),
  text: z.string(),
});
const summarySchema = z.object({ mean: z.number(), p50: z.number(), p99: z.number(), max: z.number() });

export const cellRecordSchema = z.object({
  kind: z.literal('cell'),
  /** Stable id: `strategy|scenario|machine|mode|hN`. */
  id: z.string(),
  /** Position in the plan (cells are written in this order). */
  index: z.number().int().nonnegative(),
  strategy: z.string(),
  scenario: z.string(),
  machine: z.string(),
  mode: z.string(),
  harts: z.number().int().positive(),
  params: z.record(z.string(), z.unknown()),
  expect: z.enum(['ok', 'oops']),
  seeds: z.object({ base: z.number().int(), count: z.number().int().nonnegative() }),
  /** `inconclusive` is absent from documents written before it existed (issue 13): there a cell
   *  whose failing runs all ended on a budget reads `incorrect`; `recordVerdict` reads it anew. */
  verdict: z.enum(VERDICTS),
  outcomes: z.partialRecord(outcomeSchema, z.number().int().nonnegative()),
  firstFailure: z
    .object({
      seed: z.number().int(),
      outcome: outcomeSchema,
      failure: z
        .object({
          hart: z.number(),
          step: z.number(),
          stval: z.string().optional(),
          cause: z.string().optional(),
          message: z.string(),
        })
        .nullable(),
      choices: z.string(),
      /** The last events of the failing run's trace (at most 400), for reports. */
      trace: z.array(traceEventSchema).optional(),
    })
    .nullable(),
  /**
   * How the verdict was reached (absent in documents written before it existed: read as sampled
   * over `seeds.count`): `sampled` over N seeds, or `explored` — every execution within `bound`
   * enumerated (`complete`), or as far as a limit allowed (`complete: false`, the proof covers
   * `provedLevel` non-default choices).
   */
  basis: z
    .discriminatedUnion('method', [
      z.object({
        method: z.literal('sampled'),
        seeds: z.number().int().nonnegative(),
        /** Set when sampling stood in for an exploration whose budget ran out (what it reached). */
        fallback: z.string().optional(),
      }),
      z.object({
        method: z.literal('explored'),
        bound: z.string(),
        executions: z.number().int().nonnegative(),
        states: z.number().int().nonnegative(),
        complete: z.boolean(),
        provedLevel: z.number().int(),
        /**
         * Present when the enumeration was reduced (docs/explore.md, Reductions): speculative
         * targets skipped as equivalent to one run, and runs whose continuations were covered.
         */
        reduction: z
          .object({ sameTarget: z.number().int().nonnegative(), frozen: z.number().int().nonnegative() })
          .optional(),
        /**
         * Present when some executions ended on the step budget (`step-limit`): they are no
         * counterexample, so a search with no failure besides them is `inconclusive` (absent in
         * documents written before the explorer told them apart).
         */
        overruns: z.number().int().positive().optional(),
      }),
    ])
    .optional(),
  /** Slot overrides in the strategy set: `{ slot, by, over }`. */
  overrides: z.array(z.object({ slot: z.string(), by: z.string(), over: z.string() })),
  metrics: z.record(z.string(), summarySchema),
});
export type CellRecord = z.infer<typeof cellRecordSchema>;

export type VerdictBasis = NonNullable<CellRecord['basis']>;

/**
 * A record's verdict under today's rule: a record from before `inconclusive` existed whose failing
 * runs all ended `step-limit` or `timeout` reads `inconclusive`, as the same cell would be recorded
 * now; every other record reads as written. Reports, the diff and the CLI's summaries use this, so
 * old and new documents compare under one rule.
 */
export function recordVerdict(record: Pick<CellRecord, 'verdict' | 'outcomes' | 'expect'>): Verdict {
  if (record.verdict !== 'incorrect') return record.verdict;
  return verdictOf(record.outcomes, record.expect) === 'inconclusive' ? 'inconclusive' : 'incorrect';
}

/** The basis of a record's verdict (a record without one was sampled over its seeds). */
export function verdictBasis(record: Pick<CellRecord, 'basis' | 'seeds'>): VerdictBasis {
  return record.basis ?? { method: 'sampled', seeds: record.seeds.count };
}

/** `sampled 48 seeds` or `explored, bound schedule<=2 ..., 26968 executions` (for reports). */
export function describeBasis(record: Pick<CellRecord, 'basis' | 'seeds'>): string {
  const b = verdictBasis(record);
  if (b.method === 'sampled') {
    const sampled = `sampled ${b.seeds} seed${b.seeds === 1 ? '' : 's'}`;
    return b.fallback ? `${sampled} (fallback: ${b.fallback})` : sampled;
  }
  const reduced = b.reduction
    ? `, reduced (${b.reduction.sameTarget} equivalent speculative targets skipped, ${b.reduction.frozen} covered runs not branched)`
    : '';
  const what = `explored, bound ${b.bound}, ${b.executions} execution${b.executions === 1 ? '' : 's'}${reduced}`;
  const overran = b.overruns
    ? `, ${b.overruns} execution${b.overruns === 1 ? '' : 's'} out of steps (step-limit)`
    : '';
  return b.complete
    ? `${what}${overran}`
    : `${what}${overran} (stopped early: proved to ${b.provedLevel} non-default choices)`;
}

export const metaRecordSchema = z.object({
  kind: z.literal('meta'),
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.string(), version: z.string() }),
  /** ISO time the sweep started (the only field allowed to differ between identical sweeps). */
  createdAt: z.string().optional(),
  plan: z.object({
    strategies: z.array(z.string()),
    scenarios: z.array(z.string()),
    machines: z.array(z.string()),
    harts: z.array(z.number().int().positive()),
    mode: z.string(),
    seeds: z.object({ base: z.number().int(), count: z.number().int().nonnegative() }),
    params: z.record(z.string(), z.unknown()).optional(),
    /**
     * The kernel settings given on the command line or in the config's `kernel` section (`--kernel
     * stepLimit=...`), as given: they have the last word over the scenario's and the strategy
     * set's settings, so `replay` needs them to rebuild a cell. Absent: none were given.
     */
    kernelOverrides: z.record(z.string(), z.unknown()).optional(),
    totalCells: z.number().int().nonnegative(),
    shard: z.object({ index: z.number().int().positive(), count: z.number().int().positive() }).nullable(),
    /**
     * `compare --explore`: each cell was explored for at most `executions` executions (derived
     * from `budgetSeconds`; the count, not the clock, decides), else sampled over `seeds`.
     */
    explore: z
      .object({ budgetSeconds: z.number().positive(), executions: z.number().int().positive() })
      .optional(),
  }),
  /** Full machine configs (with cost tables) used, by name. */
  machines: z.record(z.string(), z.record(z.string(), z.unknown())),
  /** Kernel settings used (before per-scenario/strategy overrides). */
  kernel: z.record(z.string(), z.unknown()),
  /** Strategy sets by id: members with their meta and options. */
  strategies: z.record(
    z.string(),
    z.object({
      title: z.string(),
      /** The released kernel the set is, and in which modes (`StrategySet.kernel`); absent: a what-if. */
      kernel: z.object({ release: z.string(), modes: z.array(z.string()) }).optional(),
      members: z.array(
        z.object({
          name: z.string(),
          title: z.string(),
          description: z.string(),
          source: z.record(z.string(), z.string()),
          options: z.unknown().optional(),
        }),
      ),
    }),
  ),
  scenarios: z.record(
    z.string(),
    z.object({
      title: z.string(),
      story: z.string(),
      source: z.string(),
      minHarts: z.number().int(),
      modes: z.array(z.string()),
      expect: z.enum(['ok', 'oops']),
      purpose: z.enum(['survival', 'cost']),
    }),
  ),
});
export type MetaRecord = z.infer<typeof metaRecordSchema>;

/** The whole document in object form: the meta record plus cells in plan order. */
export interface ResultsDocument {
  readonly meta: MetaRecord;
  readonly cells: readonly CellRecord[];
}

/** Aggregate runs into a metric summary (nearest-rank percentiles; deterministic). */
export function summarize(values: readonly number[]): MetricSummary {
  return summarizeInPlace(Float64Array.from(values));
}

/** A results file that cannot be read: names the line and the field. */
export class ResultsFormatError extends Error {
  override name = 'ResultsFormatError';
}

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  return `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`;
}

/**
 * Read a results document: JSON Lines (first record the meta record, then cell records) or the
 * JSON object form `{ meta, cells }`. A truncated last line (a sweep killed mid-write) is refused
 * unless `allowTruncatedTail` (the CLI's `--resume` uses that to drop it). Mixed schema versions,
 * a missing meta record, or a malformed record are refused with the line number.
 */
export function parseResultsDocument(
  text: string,
  opts: { allowTruncatedTail?: boolean; source?: string } = {},
): ResultsDocument & { truncatedTail: boolean } {
  const where = opts.source ?? 'results';
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && !trimmed.includes('\n{"kind"')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      obj = undefined;
    }
    if (obj && typeof obj === 'object' && 'meta' in obj && 'cells' in obj) {
      const o = obj as { meta: unknown; cells: unknown };
      const meta = parseMeta(o.meta, `${where}: meta`);
      if (!Array.isArray(o.cells)) throw new ResultsFormatError(`${where}: 'cells' is not an array`);
      const cells = o.cells.map((c, i) => parseCell(c, `${where}: cells[${i}]`));
      return { meta, cells, truncatedTail: false };
    }
  }
  const lines = text.split('\n');
  let truncatedTail = false;
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  else if (lines.length > 0) {
    // No final newline: the last record may have been cut by a crash.
    try {
      JSON.parse(lines[lines.length - 1]!);
    } catch {
      if (!opts.allowTruncatedTail) {
        throw new ResultsFormatError(
          `${where}:${lines.length}: truncated record (the file ends mid-line; --resume completes it)`,
        );
      }
      lines.pop();
      truncatedTail = true;
    }
  }
  if (lines.length === 0) throw new ResultsFormatError(`${where}: empty file (no meta record)`);
  const records = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new ResultsFormatError(`${where}:${i + 1}: not JSON`);
    }
  });
  const meta = parseMeta(records[0], `${where}:1`);
  const cells = records.slice(1).map((r, i) => {
    if (r && typeof r === 'object' && (r as { kind?: unknown }).kind === 'meta') {
      throw new ResultsFormatError(
        `${where}:${i + 2}: a second meta record (mixed documents; use 'tlblab merge')`,
      );
    }
    return parseCell(r, `${where}:${i + 2}`);
  });
  return { meta, cells, truncatedTail };
}

function parseMeta(v: unknown, where: string): MetaRecord {
  if (v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'meta') {
    const version = (v as { schemaVersion?: unknown }).schemaVersion;
    if (version !== SCHEMA_VERSION) {
      throw new ResultsFormatError(
        `${where}: schemaVersion ${JSON.stringify(version)} is not supported (this tlblab reads version ${SCHEMA_VERSION})`,
      );
    }
  } else {
    throw new ResultsFormatError(`${where}: the first record is not a meta record`);
  }
  const parsed = metaRecordSchema.safeParse(v);
  if (!parsed.success)
    throw new ResultsFormatError(`${where}: bad meta record: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

function parseCell(v: unknown, where: string): CellRecord {
  const parsed = cellRecordSchema.safeParse(v);
  if (!parsed.success)
    throw new ResultsFormatError(`${where}: bad cell record: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

/** Serialize to JSON Lines (meta first, cells in the order given). Stable key order. */
export function serializeResultsDocument(doc: ResultsDocument): string {
  return [doc.meta, ...doc.cells].map((r) => JSON.stringify(r)).join('\n') + '\n';
}
