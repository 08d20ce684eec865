/**
 * The one choice interface (machine-model section 1). Every nondeterministic decision of a run —
 * which of the harts due at the same cycle steps first (`tie`), which hart within the scheduling
 * jitter of the earliest runs first (`jitter`), whether and where a hart speculates, which allowed
 * PTE version a walk returns, which TLB way is the victim — is a call to `choose(kind, n)`. A seeded PRNG answers it in
 * simulation; a recorded list answers it in replay; an exhaustive explorer can answer it by
 * enumeration. Nothing else may influence a result: no Math.random, no clock.
 *
 * Speculation asks `gap` once per speculative event, not once per step. The hot path's calls allocate nothing (the log is a growable
 * Uint32Array).
 */

/**
 * What a choice decides. `tie`: among the harts whose next event is at the same earliest cycle, which
 * runs first (options in hart order). `jitter`: among the harts due within the machine's
 * `schedulingJitter` cycles of the earliest, which runs first (options in hart order). `schedule`: a
 * scheduling decision of a host that schedules by step rather than by cycle (the engine uses `tie`
 * and `jitter`).
 */
export type ChoiceKind = 'tie' | 'jitter' | 'schedule' | 'speculate' | 'stale-read' | 'victim';

export interface Chooser {
  /** A value in 0..n-1. `n <= 1` returns 0 without consuming a choice. */
  choose(kind: ChoiceKind, n: number): number;
  /** True with probability `p`. `p <= 0` / `p >= 1` decide without consuming a choice. */
  chance(kind: ChoiceKind, p: number): boolean;
  /**
   * Three independent events with probabilities `p0..p2`, as one choice: returns a bit mask (bit i
   * set = event i happened). One recorded value instead of three keeps the per-step log short.
   * When every p is 0 or 1 it decides without consuming a choice.
   */
  events(kind: ChoiceKind, p0: number, p1: number, p2: number): number;
  /**
   * How many *eligible* steps pass before an event of probability `p` per eligible step next
   * happens: geometric, P(k) = (1-p)^k p, so a caller that counts down only on eligible steps and
   * draws again after the event behaves like a Bernoulli(p) coin per eligible step (the geometric
   * law is memoryless) while drawing once per event instead of once per step. `GAP_NEVER`: not
   * before the run ends. `p <= 0` returns `GAP_NEVER` and `p >= 1` returns 0, without a choice.
   */
  gap(kind: ChoiceKind, p: number): number;
}

/**
 * Optional feedback from the engine to a chooser that enumerates gaps (the explorer): how each
 * drawn gap ended, so it knows how many alternatives ("fire at eligible step k") the point had.
 * `gapPoint()` right after a `gap` call names that call's choice point (-1: none). Not a decision:
 * a chooser without it answers the same.
 */
export interface GapFeedback {
  gapPoint(): number;
  gapEnded(point: number, elapsed: number, fired: boolean): void;
}

/**
 * Optional feedback from the engine to an enumerating chooser (the explorer's reductions): which
 * alternatives of the point the last `choose` call recorded need not be enumerated, because every
 * execution they lead to reaches a state some execution the enumeration does run reaches (the
 * choice value itself is not state). Masks cover alternatives 0..31.
 * - `within`: alternative `a` reaches the state a lower-numbered alternative of this point
 *   reaches (bit 0 never set).
 * - `across`: it reaches the state an alternative of an earlier point of the same decision
 *   reaches (e.g. a wild pointer's base and offset: two bases whose offsets overlap), whose cost
 *   may differ, so only a chooser whose alternatives there cost nothing may skip it.
 * - `noEffect`: it leaves the machine as it was: a speculative walk that changes nothing, the
 *   same as the gap's default of not firing, which costs less. Bit 0 may be set.
 * Not a decision: a chooser without it answers the same, and nothing is computed for one (seeded
 * and replayed runs are untouched).
 */
export interface AlternativeFeedback {
  /** False: the chooser enumerates in full and ignores `sameState` (the engine computes nothing). */
  readonly reduce: boolean;
  sameState(within: number, across: number, noEffect: number): void;
  /**
   * Whether `across` may also name alternatives equivalent to a speculative walk of the same
   * target at an earlier eligible step of the same gap (the steps between commute with it; see
   * hw/speculation.ts). Such an execution has its choice points in another order, so a chooser
   * that branches only at the first N points, or pays for targets, says no.
   */
  positionsCommute(): boolean;
}

/** A `gap` that never ends (also what one beyond 2^32 - 2 eligible steps is recorded as). */
export const GAP_NEVER = 0xffffffff;

/**
 * Version of the encoded choice log (the `<version>.` before the base64url body). A log is a list of
 * answers that only means something to the engine that asked the questions: when the questions
 * change (version 2: speculation draws gaps instead of per-step event masks), old logs cannot
 * replay, and say so instead of failing on a confusing mismatch.
 */
export const CHOICE_FORMAT = 2;

/** Inverse CDF of the geometric law from one uniform `u` in [0, 1): P(k) = (1-p)^k p, given
 *  `logQ` = ln(1 - p). */
export function geometric(u: number, logQ: number): number {
  return Math.min(Math.floor(Math.log1p(-u) / logQ), GAP_NEVER);
}

/** ln(1 - p) of the last p asked (a source asks with the same p every time). */
export class LogQ {
  private p = -1;
  private q = 0;
  of(p: number): number {
    if (p !== this.p) {
      this.p = p;
      this.q = Math.log1p(-p);
    }
    return this.q;
  }
}

function certain(p0: number, p1: number, p2: number): boolean {
  return (p0 <= 0 || p0 >= 1) && (p1 <= 0 || p1 >= 1) && (p2 <= 0 || p2 >= 1);
}

function certainMask(p0: number, p1: number, p2: number): number {
  return (p0 >= 1 ? 1 : 0) | (p1 >= 1 ? 2 : 0) | (p2 >= 1 ? 4 : 0);
}

/**
 * `geometric(x / 2^32, ln(1 - p))` of a PRNG word `x`, read from thresholds instead of computed:
 * `at[k - 1]` is the least `x` whose gap is at least `k` (k = 1..K), so a gap below K is the count
 * of thresholds at or below `x` (a few compares at the lookahead's p = 0.3) and only the rest pay
 * for `Math.log1p`. Each threshold is found by bisection on `geometric` itself, so the answers are
 * the formula's bit for bit provided it is monotone in `x`: it is, because adjacent words differ in
 * ln(1 - u) by at least 2^-32, far above the 1-ulp error of log1p (|ln(1 - u)| < 23, ulp < 2^-47),
 * and division by a constant and floor keep order. The table is also checked against the formula
 * around every threshold; any disagreement (none is known) drops the table for that p.
 */
export class GapTable {
  readonly logQ: number;
  private readonly at: Float64Array;
  constructor(readonly p: number) {
    this.logQ = Math.log1p(-p);
    const g = (x: number) => geometric(x / 4294967296, this.logQ);
    // K with (1 - p)^K < 1/64: the formula is left to about one draw in 64.
    const k = p < GAP_TABLE_MIN_P ? 0 : Math.min(64, Math.ceil(Math.log(1 / 64) / this.logQ));
    let at = new Float64Array(k);
    for (let j = 1; j <= k; j++) {
      let lo = j === 1 ? 0 : at[j - 2]!;
      let hi = 4294967296;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (g(mid) >= j) hi = mid;
        else lo = mid + 1;
      }
      at[j - 1] = lo;
    }
    check: for (let j = 1; j <= k; j++) {
      const t = at[j - 1]!;
      for (let x = Math.max(0, t - 64); x < Math.min(4294967296, t + 64); x++) {
        if (g(x) >= j !== x >= t) {
          at = new Float64Array(0);
          break check;
        }
      }
    }
    this.at = at;
  }
  /** The gap of PRNG word `w`, passed as its int32 (`w | 0`: a uint32 above 2^31 would be boxed
   *  as a call argument): `geometric(w / 2^32, logQ)`. */
  gap(w32: number): number {
    const x = w32 >>> 0;
    const at = this.at;
    const k = at.length;
    let j = 0;
    while (j < k && x >= at[j]!) j++;
    return j < k ? j : geometric(x / 4294967296, this.logQ);
  }
}

/** Below this p the gaps are long and drawn rarely: the table would be long and buy little. */
const GAP_TABLE_MIN_P = 0.05;

/** sfc32, seeded through splitmix32: small, fast, and good enough for scheduling decisions. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
}

/** Append-only log of choice values, run-length encoded into varint bytes as it grows (logs are
 *  dominated by runs of the same answer; a run costs 2-4 bytes). The bytes go to fixed-size
 *  chunks, not one doubling buffer: a 2 M-step run's log is megabytes, and re-copying it at each
 *  doubling (and faulting in twice its size) showed in the step loop's profile. */
class ChoiceLog {
  /** Full chunks and how many bytes of each are used. */
  private readonly full: Uint8Array[] = [];
  private readonly fullUsed: number[] = [];
  /** The chunk being written: small at first (most runs log little), then LOG_CHUNK. */
  private bytes = new Uint8Array(256);
  private n = 0;
  private last = -1;
  private run = 0;
  length = 0;
  push(v: number): void {
    this.length++;
    if (v === this.last) {
      this.run++;
      return;
    }
    if (this.run > 0) this.flush();
    this.last = v;
    this.run = 1;
  }
  /** Room for `k` more bytes in the current chunk (a run's two varints never span chunks). */
  private room(k: number): void {
    if (this.n + k <= this.bytes.length) return;
    this.full.push(this.bytes);
    this.fullUsed.push(this.n);
    this.bytes = new Uint8Array(Math.min(LOG_CHUNK, this.bytes.length * 4));
    this.n = 0;
  }
  private varint(x: number): void {
    let v = x >>> 0;
    while (v >= 0x80) {
      this.bytes[this.n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.bytes[this.n++] = v;
  }
  private flush(): void {
    const v = this.last;
    const r = this.run;
    // Most runs are a small value once (a tie among harts): two one-byte varints, written
    // directly (the same bytes `varint` writes for values below 0x80).
    if (((v | r) & ~0x7f) === 0 && this.n + 2 <= this.bytes.length) {
      this.bytes[this.n++] = v;
      this.bytes[this.n++] = r;
      return;
    }
    this.room(10);
    this.varint(v);
    this.varint(r);
  }
  encode(): string {
    // Encoding does not end the log: the pending run is flushed into a copy.
    const savedN = this.n;
    const savedBytes = this.bytes;
    const chunks = this.full.length;
    if (this.run > 0) this.flush();
    let total = this.n;
    for (let i = 0; i < this.fullUsed.length; i++) total += this.fullUsed[i]!;
    const all = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < this.full.length; i++) {
      all.set(this.full[i]!.subarray(0, this.fullUsed[i]!), at);
      at += this.fullUsed[i]!;
    }
    all.set(this.bytes.subarray(0, this.n), at);
    // Undo the flush (it may have started a chunk).
    this.full.length = chunks;
    this.fullUsed.length = chunks;
    this.bytes = savedBytes;
    this.n = savedN;
    return `${CHOICE_FORMAT}.${base64urlEncode(all)}`;
  }
}

/** Bytes per chunk of a choice log once it is long. */
const LOG_CHUNK = 1 << 16;

/** Simulation: answers from a seeded PRNG and records every answer. */
export class SeededChooser implements Chooser {
  private readonly prng: Prng;
  /** The last p's gap table (a source asks with the same p every time; there are three). */
  private tables: GapTable[] = [];
  readonly log = new ChoiceLog();
  constructor(seed: number) {
    this.prng = new Prng(seed);
  }
  choose(_kind: ChoiceKind, n: number): number {
    if (n <= 1) return 0;
    const v = Math.floor(this.prng.next() * n);
    this.log.push(v);
    return v;
  }
  chance(_kind: ChoiceKind, p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    const v = this.prng.next() < p ? 1 : 0;
    this.log.push(v);
    return v === 1;
  }
  events(_kind: ChoiceKind, p0: number, p1: number, p2: number): number {
    if (certain(p0, p1, p2)) return certainMask(p0, p1, p2);
    // Two 32-bit draws give three independent uniforms of 16 bits (probabilities resolved to
    // 1/65536, far below any profile's precision).
    const a = this.prng.nextU32();
    const b = this.prng.nextU32();
    const v =
      ((a & 0xffff) < p0 * 65536 ? 1 : 0) |
      (a >>> 16 < p1 * 65536 ? 2 : 0) |
      ((b & 0xffff) < p2 * 65536 ? 4 : 0);
    this.log.push(v);
    return v;
  }
  gap(_kind: ChoiceKind, p: number): number {
    if (p <= 0) return GAP_NEVER;
    if (p >= 1) return 0;
    const v = this.tableOf(p).gap(this.prng.nextU32() | 0);
    this.log.push(v);
    return v;
  }
  private tableOf(p: number): GapTable {
    const ts = this.tables;
    for (let i = 0; i < ts.length; i++) if (ts[i]!.p === p) return ts[i]!;
    const t = gapTableOf(p);
    ts.push(t);
    return t;
  }
  encoded(): string {
    return this.log.encode();
  }
}

/** Gap tables by p, shared by every chooser of the process (a few profiles, a few p each). */
const GAP_TABLES = new Map<number, GapTable>();
function gapTableOf(p: number): GapTable {
  let t = GAP_TABLES.get(p);
  if (t === undefined) {
    t = new GapTable(p);
    if (GAP_TABLES.size < 64) GAP_TABLES.set(p, t);
  }
  return t;
}

/** Raised when a recorded choice list does not fit the run being replayed (other code or inputs). */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
}

/** Replay: answers from a recorded list, checking each value fits. */
export class ReplayChooser implements Chooser {
  private readonly values: Uint32Array;
  private pos = 0;
  readonly log = new ChoiceLog();
  constructor(encoded: string) {
    this.values = decodeChoices(encoded);
  }
  private take(kind: ChoiceKind, n: number): number {
    if (this.pos >= this.values.length) {
      throw new ReplayMismatchError(
        `choice list exhausted at choice ${this.pos} (${kind}): not the run it was recorded from`,
      );
    }
    const v = this.values[this.pos++]!;
    if (v >= n) {
      throw new ReplayMismatchError(`choice ${this.pos - 1} (${kind}) is ${v} but only ${n} options exist`);
    }
    this.log.push(v);
    return v;
  }
  choose(kind: ChoiceKind, n: number): number {
    if (n <= 1) return 0;
    return this.take(kind, n);
  }
  chance(kind: ChoiceKind, p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.take(kind, 2) === 1;
  }
  events(kind: ChoiceKind, p0: number, p1: number, p2: number): number {
    if (certain(p0, p1, p2)) return certainMask(p0, p1, p2);
    const v = this.take(kind, 8);
    // A recorded event whose probability is now 0 is a mismatch, not a silent divergence.
    if ((v & 1 && p0 <= 0) || (v & 2 && p1 <= 0) || (v & 4 && p2 <= 0)) {
      throw new ReplayMismatchError(
        `choice ${this.pos - 1} (${kind}) names an event that cannot happen here`,
      );
    }
    return v;
  }
  gap(kind: ChoiceKind, p: number): number {
    if (p <= 0) return GAP_NEVER;
    if (p >= 1) return 0;
    return this.take(kind, 0x100000000);
  }
  /** Choices consumed so far (a complete replay consumes all). */
  get consumed(): number {
    return this.pos;
  }
  get total(): number {
    return this.values.length;
  }
  encoded(): string {
    return this.log.encode();
  }
}

// Encoding: `<CHOICE_FORMAT>.` then run-length pairs (value, run) as LEB128 varints in base64url. Choice logs are
// dominated by long runs of 0 (a `chance` that did not fire), so this stays small.

export function encodeChoices(values: ArrayLike<number>): string {
  const runs: number[] = [];
  let i = 0;
  while (i < values.length) {
    const v = values[i]!;
    let run = 1;
    while (i + run < values.length && values[i + run] === v) run++;
    runs.push(v, run);
    i += run;
  }
  return encodeRuns(runs);
}

/** (value, run) pairs -> varints -> base64url. */
function encodeRuns(pairs: ArrayLike<number>): string {
  let bytes = new Uint8Array(64);
  let n = 0;
  for (let i = 0; i < pairs.length; i++) {
    if (n + 5 > bytes.length) {
      const grown = new Uint8Array(bytes.length * 2);
      grown.set(bytes);
      bytes = grown;
    }
    let v = pairs[i]! >>> 0;
    while (v >= 0x80) {
      bytes[n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    bytes[n++] = v;
  }
  return `${CHOICE_FORMAT}.${base64urlEncode(bytes.subarray(0, n))}`;
}

export function decodeChoices(text: string): Uint32Array {
  const dot = text.indexOf('.');
  const version = dot < 0 ? null : text.slice(0, dot);
  if (version !== String(CHOICE_FORMAT)) {
    throw new ReplayMismatchError(
      version === null
        ? `choice log has no format version: it was recorded before choice-log format ${CHOICE_FORMAT} (when speculation drew an event mask every step) and cannot replay here; re-run the cell to record a new log`
        : `choice log is format ${version}, this tlblab replays format ${CHOICE_FORMAT}; re-run the cell to record a new log`,
    );
  }
  const bytes = base64urlDecode(text.slice(dot + 1));
  const out: number[] = [];
  let p = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (p >= bytes.length) throw new ReplayMismatchError('malformed choice list');
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (p < bytes.length) {
    const v = varint();
    const run = varint();
    for (let k = 0; k < run; k++) out.push(v);
  }
  return Uint32Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface NodeBuffer {
  from(bytes: Uint8Array): { toString(enc: 'base64url'): string };
}

function base64urlEncode(bytes: Uint8Array): string {
  const B = (globalThis as { Buffer?: NodeBuffer }).Buffer;
  if (B) return B.from(bytes).toString('base64url');
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    let q = B64[(n >>> 18) & 63]! + B64[(n >>> 12) & 63]!;
    if (i + 1 < bytes.length) q += B64[(n >>> 6) & 63]!;
    if (i + 2 < bytes.length) q += B64[n & 63]!;
    parts.push(q);
  }
  return parts.join('');
}

function base64urlDecode(text: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new ReplayMismatchError(`malformed choice list (character '${ch}')`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
