/**
 * The scheduler's view of the harts: each hart's next-event cycle, kept in a tournament tree so
 * the step loop finds the earliest cycle, how many harts are due then, and the k-th of them in
 * hart order in O(log harts) instead of scanning every hart on every step (cost per step flat in
 * harts). The tie order is the scan's: harts due at the same cycle are offered in hart order.
 */
export class Runnable {
  /** Leaves start at `size` (a power of two >= harts); padding leaves are never due. */
  private readonly size: number;
  /** Per node: the earliest next-event cycle below it, and how many leaves below it have it. */
  private readonly min: Float64Array;
  private readonly count: Int32Array;

  constructor(harts: number) {
    let size = 1;
    while (size < harts) size *= 2;
    this.size = size;
    this.min = new Float64Array(2 * size).fill(Number.POSITIVE_INFINITY);
    this.count = new Int32Array(2 * size);
    for (let i = 0; i < harts; i++) this.count[size + i] = 1;
    for (let n = size - 1; n >= 1; n--) this.pull(n);
  }

  /** Recompute node `n` from its children; false when it did not change (nor will its parents). */
  private pull(n: number): boolean {
    const l = 2 * n;
    const r = l + 1;
    const a = this.min[l]!;
    const b = this.min[r]!;
    let m: number;
    let c: number;
    if (a < b) {
      m = a;
      c = this.count[l]!;
    } else if (b < a) {
      m = b;
      c = this.count[r]!;
    } else {
      m = a;
      c = this.count[l]! + this.count[r]!;
    }
    if (this.min[n] === m && this.count[n] === c) return false;
    this.min[n] = m;
    this.count[n] = c;
    return true;
  }

  /** Hart `i`'s next event is at cycle `t` (infinity: none until another hart acts). */
  set(i: number, t: number): void {
    let n = this.size + i;
    if (this.min[n] === t) return;
    this.min[n] = t;
    for (n >>= 1; n >= 1 && this.pull(n); n >>= 1);
  }

  /** The earliest next-event cycle over all harts. */
  earliest(): number {
    return this.min[1]!;
  }

  /** How many harts are due at `earliest()`. */
  due(): number {
    return this.count[1]!;
  }

  /** The `k`-th (from 0, in hart order) of the harts due at `earliest()`. */
  nth(k: number): number {
    const best = this.min[1]!;
    let n = 1;
    while (n < this.size) {
      const l = 2 * n;
      const c = this.min[l] === best ? this.count[l]! : 0;
      if (k < c) n = l;
      else {
        k -= c;
        n = l + 1;
      }
    }
    return n - this.size;
  }
}
