/**
 * The JS references of the step-loop figure (issue 13, "Done when": the model against a fair
 * reference and against bare lookups), on the stream of ./stream.ts.
 *
 * - `fairLoop`: the work the model's contract requires per access, in the same JS style as the
 *   model (typed arrays, a seeded sfc32 PRNG like core's `Prng`), none of the model's generality:
 *   a schedule choice among the harts, a speculation decision (three events per step, as core's
 *   `Chooser.events`), every consumed choice appended to a growable Uint32Array log, a TLB lookup
 *   with the ASID/global check, counters, and on a miss a three-level walk of a flat page table and
 *   a fill whose victim is the set's LRU way; a speculation event that fires runs a speculative
 *   lookup-and-fill of the hart's next page.
 * - `bareLoop`: a set-associative LRU lookup-and-fill only, harts round robin, integer arithmetic.
 *   The C reference (./lookup.c) does the same at `cc -O2`.
 * Both return CPU seconds of the loop (process.cpuUsage) beside wall seconds; the bench compares
 * accesses per CPU second, which the machine's other load colours least.
 */
import { makeStream, PER_HART } from './stream.ts';

export interface RefResult {
  readonly accesses: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  /** Hits (or a log length): printed so the loop's work cannot be optimised away. */
  readonly checksum: number;
}

function timed(run: () => number, accesses: number): RefResult {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const checksum = run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { accesses, cpuSeconds: (c.user + c.system) / 1e6, wallSeconds, checksum };
}

/** sfc32 seeded through splitmix32, as core's `Prng` (packages/core/src/choice.ts). */
class Sfc32 {
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
}

/** A growable choice log (the model's is a Uint32Array too). */
class Log {
  buf = new Uint32Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const b = new Uint32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }
}

const C_ACCESSES = 0;
const C_HITS = 1;
const C_MISSES = 2;
const C_WALKS = 3;
const C_SPEC = 4;

export function fairLoop(
  harts: number,
  accesses: number,
  geometry: { entries: number; ways: number } = { entries: 64, ways: 4 },
  seed = 1,
): RefResult {
  const stream = makeStream(harts);
  const W = geometry.ways;
  const sets = geometry.entries / W;
  const setMask = sets - 1; // power-of-two set count (checked by the caller's geometry)
  const E = geometry.entries;
  // Per hart TLB: tag halves, ASID, flags (bit0 valid, bit1 global), LRU stamp, PPN.
  const tagHi = new Int32Array(harts * E);
  const tagLo = new Int32Array(harts * E);
  const asidOf = new Int32Array(harts * E);
  const flags = new Uint8Array(harts * E);
  const stamp = new Float64Array(harts * E);
  const ppn = new Int32Array(harts * E);
  const pos = new Int32Array(harts);
  const curAsid = new Int32Array(harts).fill(1);
  // A flat three-level page table: 512 entries per level, every PTE valid (bit 0), leaves carry a
  // PPN (the walk reads three PTEs the way the model's walker does, without the history).
  const pt = new Int32Array(3 * 512);
  for (let i = 0; i < 512; i++) {
    pt[i] = 1 | (i << 10);
    pt[512 + i] = 1 | (i << 10);
    pt[1024 + i] = 1 | 0xe | ((0x80000 + i) << 10);
  }
  const counters = new Float64Array(8);
  const log = new Log();
  const rng = new Sfc32(seed);
  const pSpec0 = 0.3;
  const pSpec1 = 0.5;
  const pSpec2 = 0.02;
  let clock = 0;

  // Lookup with the ASID/global check; fills on a miss after a walk. Returns 1 on a hit.
  const access = (h: number, k: number, speculative: boolean): number => {
    const hi = stream.hi[k]!;
    const lo = stream.lo[k]!;
    const g = stream.global[k]!;
    const base = h * E + (lo & setMask) * W;
    const asid = curAsid[h]!;
    for (let w = 0; w < W; w++) {
      const e = base + w;
      const f = flags[e]!;
      if ((f & 1) !== 0 && tagLo[e] === lo && tagHi[e] === hi && ((f & 2) !== 0 || asidOf[e] === asid)) {
        stamp[e] = ++clock;
        return 1;
      }
    }
    // Walk: VPN[2], VPN[1], VPN[0] of the low 27 bits (Sv39), integer shifts only.
    counters[speculative ? C_SPEC : C_WALKS]!++;
    let pte = pt[(lo >>> 18) & 511]!;
    if ((pte & 1) === 0) return 0;
    pte = pt[512 + ((lo >>> 9) & 511)]!;
    if ((pte & 1) === 0) return 0;
    pte = pt[1024 + (lo & 511)]!;
    if ((pte & 1) === 0) return 0;
    // Victim: an invalid way, else the set's least recently used.
    let victim = base;
    for (let w = 0; w < W; w++) {
      const e = base + w;
      if ((flags[e]! & 1) === 0) {
        victim = e;
        break;
      }
      if (stamp[e]! < stamp[victim]!) victim = e;
    }
    tagHi[victim] = hi;
    tagLo[victim] = lo;
    asidOf[victim] = asid;
    flags[victim] = 1 | (g << 1);
    ppn[victim] = pte >>> 10;
    stamp[victim] = ++clock;
    return 0;
  };

  return timed(() => {
    for (let n = 0; n < accesses; n++) {
      // Schedule choice: which hart steps.
      const r = rng.nextU32();
      const h = (r >>> 1) % harts; // int32 modulo: r >>> 1 fits 31 bits
      log.push(h);
      // Speculation decision: three events, one recorded mask (core's `events`).
      const e0 = rng.nextU32() / 4294967296 < pSpec0 ? 1 : 0;
      const e1 = rng.nextU32() / 4294967296 < pSpec1 ? 2 : 0;
      const e2 = rng.nextU32() / 4294967296 < pSpec2 ? 4 : 0;
      const mask = e0 | e1 | e2;
      log.push(mask);
      const p = pos[h]!;
      const k = h * PER_HART + p;
      pos[h] = p + 1 === PER_HART ? 0 : p + 1;
      if ((mask & 1) !== 0) access(h, h * PER_HART + (p + 1 === PER_HART ? 0 : p + 1), true);
      counters[C_ACCESSES]!++;
      if (access(h, k, false) === 1) counters[C_HITS]!++;
      else counters[C_MISSES]!++;
    }
    return counters[C_HITS]! + log.length;
  }, accesses);
}

export function bareLoop(
  harts: number,
  accesses: number,
  geometry: { entries: number; ways: number } = { entries: 64, ways: 4 },
): RefResult {
  const stream = makeStream(harts);
  const W = geometry.ways;
  const E = geometry.entries;
  const setMask = E / W - 1;
  const tagHi = new Int32Array(harts * E).fill(-1);
  const tagLo = new Int32Array(harts * E).fill(-1);
  // Stamps count accesses: int32 for any run under 2^31 accesses.
  const stamp = new Int32Array(harts * E);
  const pos = new Int32Array(harts);
  const sHi = stream.hi;
  const sLo = stream.lo;
  return timed(() => {
    let clock = 0 | 0;
    let hits = 0;
    let h = 0;
    for (let n = 0; n < accesses; n++) {
      const p = pos[h]!;
      const k = h * PER_HART + p;
      pos[h] = p + 1 === PER_HART ? 0 : p + 1;
      const hi = sHi[k]!;
      const lo = sLo[k]!;
      const base = h * E + (lo & setMask) * W;
      let hit = -1;
      for (let w = 0; w < W; w++) {
        if (tagLo[base + w] === lo && tagHi[base + w] === hi) {
          hit = base + w;
          break;
        }
      }
      if (hit >= 0) {
        hits++;
        clock = (clock + 1) | 0;
        stamp[hit] = clock;
      } else {
        let victim = base;
        for (let w = 1; w < W; w++) if (stamp[base + w]! < stamp[victim]!) victim = base + w;
        tagHi[victim] = hi;
        tagLo[victim] = lo;
        clock = (clock + 1) | 0;
        stamp[victim] = clock;
      }
      h = h + 1 === harts ? 0 : h + 1;
    }
    return hits;
  }, accesses);
}
