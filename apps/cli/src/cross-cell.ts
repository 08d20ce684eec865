/**
 * Cross-cell state (issue 15): a plugin that patches a built-in (`Array.prototype.sort`) or keeps a
 * module-level counter makes a cell's result depend on which cells ran before it in the same
 * worker, so `--jobs 1` and `--jobs 2` disagree. Two checks, both in the worker:
 *
 * - a fingerprint of the intrinsics' own property descriptors, taken once the registry is loaded
 *   and compared after every cell: a change is reported as a plugin fault of that cell and undone,
 *   so the cells after it run on the real built-ins;
 * - for cells that run plugin code (anything not built in), the cell's first seed is run once more
 *   after the cell and must give the same run (outcome, choices, metrics) as before it.
 */
import { type Cell, type RunResult, simulate } from '@tlblab/core';

const INTRINSICS: readonly (readonly [string, object])[] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
  ['Boolean.prototype', Boolean.prototype],
  ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype],
  ['Promise.prototype', Promise.prototype],
  ['RegExp.prototype', RegExp.prototype],
  ['Uint8Array.prototype', Object.getPrototypeOf(Uint8Array.prototype) as object],
  ['Object', Object],
  ['Array', Array],
  ['Math', Math],
  ['JSON', JSON],
  ['Reflect', Reflect],
  ['Number', Number],
];

export type Fingerprint = ReadonlyMap<string, ReadonlyMap<PropertyKey, PropertyDescriptor>>;

export function fingerprint(): Fingerprint {
  const out = new Map<string, Map<PropertyKey, PropertyDescriptor>>();
  for (const [name, obj] of INTRINSICS) {
    const d = Object.getOwnPropertyDescriptors(obj) as Record<PropertyKey, PropertyDescriptor>;
    out.set(name, new Map(Reflect.ownKeys(d).map((k) => [k, d[k as string]!])));
  }
  return out;
}

function same(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable;
}

/** The first intrinsic that differs from `before` (`Array.prototype.sort`), or null. */
export function changedIntrinsic(before: Fingerprint): string | null {
  const now = fingerprint();
  for (const [name, props] of before) {
    const cur = now.get(name)!;
    for (const [k, d] of props) {
      const c = cur.get(k);
      if (!c || !same(d, c)) return `${name}.${String(k)}`;
    }
    for (const k of cur.keys()) if (!props.has(k)) return `${name}.${String(k)}`;
  }
  return null;
}

/** Put every intrinsic back as `before` had it (best effort: frozen objects stay as they are). */
export function restoreIntrinsics(before: Fingerprint): void {
  for (const [name, obj] of INTRINSICS) {
    const props = before.get(name)!;
    try {
      for (const k of Reflect.ownKeys(obj)) if (!props.has(k)) Reflect.deleteProperty(obj, k);
      for (const [k, d] of props) Object.defineProperty(obj, k, d);
    } catch {
      // non-configurable: nothing more can be done; the fault is reported either way
    }
  }
}

function sameRun(a: RunResult, b: RunResult): boolean {
  return (
    a.outcome === b.outcome &&
    a.choices === b.choices &&
    JSON.stringify(a.metrics) === JSON.stringify(b.metrics)
  );
}

/**
 * Run `body` (the cell) between two runs of its first seed; a difference means state carried over
 * from one run to the next. Returns the fault, or null.
 */
export function withRerunCheck<T>(
  cell: Cell,
  seed: number,
  body: () => T,
): { result: T; fault: string | null } {
  const before = simulate(cell, seed);
  let result: T | undefined;
  let failure: { error: unknown } | null = null;
  try {
    result = body();
  } catch (error) {
    // State carried between runs also breaks the cell's own replay of its failing seed: say why.
    failure = { error };
  }
  const after = simulate(cell, seed);
  if (!sameRun(before, after)) {
    return {
      result: result as T,
      fault: `plugin fault: seed ${seed} gave a different run after the cell than before it (${before.outcome} vs ${after.outcome}): a strategy or scenario keeps state between runs (a module-level variable?), so results depend on which cells ran before`,
    };
  }
  if (failure !== null) throw failure.error;
  return { result: result as T, fault: null };
}
