/**
 * The explorer's bounds: which choice sequences `explore` enumerates. A bound is a budget per
 * choice kind, spent by the choices that leave a point's *default* alternative:
 *
 * - `choose(kind, n)`: alternative 0 is the default (the lowest-numbered runnable hart, the
 *   newest allowed PTE version, TLB way 0, no jitter); any other alternative spends 1 (`deviation`)
 *   or its own value (`value`, for kinds whose alternatives are amounts, e.g. jitter cycles).
 * - `chance(kind, p)`: `false` is the default; `true` spends 1.
 * - `events(kind, p0, p1, p2)`: no optional event is the default; each optional event that fires
 *   spends 1 (events with probability 1 always fire and spend nothing).
 * - `rotate` order (for the cycle engine's scheduling kinds, `tie` and `jitter`) makes the default a
 *   round-robin scheduler over the harts due at the same moment (`tie`) or within the machine's
 *   `schedulingJitter` (`jitter`): alternative a picks the value a places after the previous one,
 *   so a deviation is a delay in Emmi et al.'s sense. With `schedulingJitter: 0` (the shipped
 *   profiles) only equal clocks are a choice: the cost table fixes every other order.
 * - `per-event` spends on `chance` / `events` only: the `choose` calls that follow an event (where
 *   a speculative walk goes) are enumerated in full for free, so the budget counts walks.
 *
 * This is delay-bounding over the engine's default decisions (Emmi, Qadeer, Rakamaric, "Delay-
 * bounded scheduling", POPL 2011) generalised to every choice kind: the enumeration within a bound
 * is exhaustive, and the bound is a plain predicate over choice sequences, so "no failure within
 * bound B" is a precise statement. A kind the table does not name (the engine may add kinds) is
 * bounded by `other`; its default of 0 holds it at alternative 0, and results list it as held.
 */
import type { ChoiceKind } from '../choice.js';

export type CostMode = 'deviation' | 'value' | 'per-event';

export interface KindBound {
  /** Choices of this kind that may leave the default alternative in one execution. */
  readonly budget: number;
  readonly cost: CostMode;
  /**
   * Which value of a `choose` is the default: `as-offered` (value 0 first) or `rotate` (the value
   * after this kind's previous one, wrapping: for `tie` / `jitter`, round-robin through the due
   * harts, so a default run interleaves them and each alternative skips harts — delays).
   */
  readonly order?: 'as-offered' | 'rotate';
}

export interface ExploreBounds {
  /** Per choice kind (known kinds and any the engine adds). */
  readonly kinds: Readonly<Partial<Record<ChoiceKind, KindBound>> & Record<string, KindBound>>;
  /** Kinds not in `kinds`. */
  readonly other: KindBound;
  /** Cap on the summed cost over all kinds (`Infinity`: the sum of the kind budgets). */
  readonly total: number;
  /**
   * Choice points per execution at which the explorer may branch; later points take their default
   * (a bound on how deep into the run alternatives are tried). `Infinity`: everywhere.
   */
  readonly depth: number;
}

/**
 * The documented default bound: two scheduling delays among harts due at the same cycle (`tie`)
 * and two within the machine's scheduling jitter (`jitter`; round-robin default), one speculative
 * walk (anywhere its source allows), one stale PTE read, one non-default TLB victim; other kinds
 * held at their default.
 * Chosen so a proof of a 2-hart cell of the built-in scenarios finishes within a minute here.
 */
export const DEFAULT_BOUNDS: ExploreBounds = {
  kinds: {
    tie: { budget: 2, cost: 'value', order: 'rotate' },
    jitter: { budget: 2, cost: 'value', order: 'rotate' },
    speculate: { budget: 1, cost: 'per-event' },
    'stale-read': { budget: 1, cost: 'deviation' },
    victim: { budget: 1, cost: 'deviation' },
  },
  other: { budget: 0, cost: 'deviation' },
  total: Number.POSITIVE_INFINITY,
  depth: Number.POSITIVE_INFINITY,
};

export function boundFor(bounds: ExploreBounds, kind: string): KindBound {
  return bounds.kinds[kind] ?? bounds.other;
}

/** The largest total cost the bound allows (finite when every budget is). */
export function totalBudget(bounds: ExploreBounds): number {
  let sum = 0;
  for (const k of Object.keys(bounds.kinds)) sum += bounds.kinds[k]!.budget;
  sum += bounds.other.budget > 0 ? Number.POSITIVE_INFINITY : 0;
  return Math.min(sum, bounds.total);
}

/** `tie<=2(sum) jitter<=2(sum) speculate<=1(walks) stale-read<=1 victim<=1 other<=0 [total<=T] [depth<=D]`. */
export function describeBounds(bounds: ExploreBounds): string {
  const part = (name: string, b: KindBound) =>
    `${name}<=${b.budget}${b.cost === 'per-event' ? '(events)' : b.cost === 'value' ? '(sum)' : ''}`;
  const parts = Object.keys(bounds.kinds).map((k) => part(k, bounds.kinds[k]!));
  parts.push(part('other', bounds.other));
  if (Number.isFinite(bounds.total)) parts.push(`total<=${bounds.total}`);
  if (Number.isFinite(bounds.depth)) parts.push(`depth<=${bounds.depth}`);
  return parts.join(' ');
}

/** A bound spec from the command line was malformed. */
export class BoundsError extends Error {
  override name = 'BoundsError';
}

/**
 * Parse `kind=N[,kind=N...]` (also `total=N`, `depth=N`, `other=N`, and `kind=N:value|deviation|
 * per-event` to change how a kind spends) over `base`.
 */
export function parseBounds(spec: string, base: ExploreBounds = DEFAULT_BOUNDS): ExploreBounds {
  const kinds: Record<string, KindBound> = { ...base.kinds } as Record<string, KindBound>;
  let other = base.other;
  let total = base.total;
  let depth = base.depth;
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([a-z][a-z0-9-]*)=(\d+|inf)(?::(deviation|value|per-event))?$/.exec(item);
    if (!m) {
      throw new BoundsError(
        `bound '${item}': expected kind=N (e.g. tie=2, jitter=2, speculate=1, stale-read=1, total=3, depth=200)`,
      );
    }
    const name = m[1]!;
    const n = m[2] === 'inf' ? Number.POSITIVE_INFINITY : Number(m[2]);
    const cost = m[3] as CostMode | undefined;
    if (name === 'total' || name === 'depth') {
      if (cost) throw new BoundsError(`bound '${item}': ${name} takes no cost mode`);
      if (name === 'total') total = n;
      else depth = n;
    } else if (name === 'other') {
      other = { budget: n, cost: cost ?? other.cost };
    } else {
      const was = kinds[name];
      kinds[name] = {
        budget: n,
        cost: cost ?? was?.cost ?? 'deviation',
        ...(was?.order ? { order: was.order } : {}),
      };
    }
  }
  return { kinds, other, total, depth };
}
