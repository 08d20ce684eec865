/**
 * Statistics and timing helpers of the bench (issue 13): medians and spread of repeated samples,
 * interleaved A/B schedules, ratios of medians, and a child-process runner that reports wall time
 * and peak RSS. Nothing here reads the clock except `runChild`, so the arithmetic is unit-tested
 * (tools/bench/stats.test.ts) without any timing assertion.
 */
import { spawn } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';

/** The `q`-quantile (0..1) of `xs` by linear interpolation between order statistics (type 7, the
 *  default of R and NumPy). NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Median and spread of one figure's samples; the raw samples are kept for the JSON. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly q1: number;
  readonly q3: number;
  /** (max - min) / median: how far apart the repetitions fell, relative to the figure. */
  readonly relSpread: number;
  readonly samples: readonly number[];
}

export function summarize(samples: readonly number[]): Summary {
  const m = median(samples);
  const min = samples.length > 0 ? Math.min(...samples) : Number.NaN;
  const max = samples.length > 0 ? Math.max(...samples) : Number.NaN;
  return {
    n: samples.length,
    median: m,
    min,
    max,
    q1: quantile(samples, 0.25),
    q3: quantile(samples, 0.75),
    relSpread: m === 0 ? Number.NaN : (max - min) / Math.abs(m),
    samples: [...samples],
  };
}

/** Ratio of medians with its spread: the ratio of each interleaved pair (rep i of `a` over rep i of
 *  `b`), whose min/max bound how much the machine's noise moved the figure. */
export interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** median(a) / median(b): the headline figure. */
  readonly ofMedians: number;
}

export function ratio(a: readonly number[], b: readonly number[]): Ratio {
  const n = Math.min(a.length, b.length);
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) pairs.push(a[i]! / b[i]!);
  return {
    median: median(pairs),
    min: pairs.length > 0 ? Math.min(...pairs) : Number.NaN,
    max: pairs.length > 0 ? Math.max(...pairs) : Number.NaN,
    ofMedians: median(a) / median(b),
  };
}

/**
 * The interleaved order of `reps` repetitions of the arms: A B C, A B C, ... with the order of the
 * arms rotated by one each repetition (A B C, B C A, C A B, ...) so no arm always runs first after
 * a pause or always follows the same neighbour. Returns [rep, arm index] pairs.
 */
export function interleave(arms: number, reps: number): [number, number][] {
  const order: [number, number][] = [];
  for (let r = 0; r < reps; r++) for (let k = 0; k < arms; k++) order.push([r, (k + r) % arms]);
  return order;
}

/** Runs `run(arm, rep)` for every arm and repetition in interleaved order and collects the values
 *  per arm in repetition order. */
export async function interleaved<T>(
  arms: readonly string[],
  reps: number,
  run: (arm: string, rep: number) => Promise<T>,
): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(arms.map((a) => [a, [] as T[]]));
  for (const [rep, k] of interleave(arms.length, reps)) {
    const arm = arms[k]!;
    out[arm]![rep] = await run(arm, rep);
  }
  return out;
}

export interface ChildResult {
  readonly code: number | null;
  readonly wallSeconds: number;
  /** Peak resident set of the child (and its waited-for descendants) in MB, from /usr/bin/time -v
   *  when present, else null. */
  readonly peakRssMB: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Peak RSS from GNU time's `-v` report ("Maximum resident set size (kbytes): N"). */
export function parseTimeV(stderr: string): number | null {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : null;
}

/** Runs a command to completion, timing it from spawn to exit. With `timeV` and /usr/bin/time
 *  present, wraps it in `/usr/bin/time -v` for the peak RSS. Never throws on a non-zero exit. */
export function runChild(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeV?: boolean; timeBin?: string | null } = {},
): Promise<ChildResult> {
  const timeBin = opts.timeV ? (opts.timeBin ?? null) : null;
  const [file, argv] = timeBin ? [timeBin, ['-v', cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      resolve({ code, wallSeconds, peakRssMB: timeBin ? parseTimeV(stderr) : null, stdout, stderr });
    });
  });
}

/** The last line of a child's stdout that parses as a JSON object (children print one result line). */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (l.startsWith('{')) return JSON.parse(l) as T;
  }
  throw new Error(`no JSON result line in child output:\n${stdout.slice(-2000)}`);
}

export function machineInfo() {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuModel: c[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/** Rounds for the printed table: 3 significant digits. */
export function sig(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return Number(x.toPrecision(digits)).toString();
}
