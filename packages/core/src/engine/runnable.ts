/**
 * The scheduler's view of the harts: each hart's next-event cycle, kept in a tournament tree so
 * the step loop finds the earliest cycle, how many harts are due then, and the k-th of them in
 * hart order in O(log harts) instead of scanning every hart on every step (cost per step flat in
 * harts). The tie order is the scan's: harts due at the same cycle are offered in hart order.
 *
 * Up to 32 harts the same answers come from the earliest cycle and a bit mask of the harts due
 * then: a step that moves the picked hart later clears one bit, and only the step that empties the
 * mask rescans the harts (harts with equal costs advance in lockstep, so that is one step in
 * `harts`). On the 8-hart loops it costs ~25 ns a step less than the tree's three-level update.
 */
/** Up to this many harts the earliest cycle and the harts due then are kept as one number and a
 *  bit mask (one bit per hart) instead of the tree. */
const MASK_MAX = 32;

export class Runnable {
  /** Mask mode (harts <= MASK_MAX): `min[size + i]` still holds hart i's cycle; `best` is the
   *  earliest of them and bit i of `dueMask` is set when hart i is due at `best`. */
  private readonly masked: boolean;
  private readonly harts: number;
  private best = Number.POSITIVE_INFINITY;
  private dueMask = 0;
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
    this.harts = harts;
    this.masked = harts <= MASK_MAX;
    // Mask mode reads only the leaves; the tree's inner nodes are kept above MASK_MAX only.
    if (this.masked) this.rescan();
    else for (let n = size - 1; n >= 1; n--) this.pull(n);
  }

  /** Hart `i`'s next-event cycle, as last `set`. */
  at(i: number): number {
    return this.min[this.size + i]!;
  }

  /** Mask mode: recompute `best` and `dueMask` from every hart's cycle. */
  private rescan(): void {
    const min = this.min;
    const base = this.size;
    let m = Number.POSITIVE_INFINITY;
    let mask = 0;
    for (let i = 0; i < this.harts; i++) {
      const t = min[base + i]!;
      if (t < m) {
        m = t;
        mask = 1 << i;
      } else if (t === m) mask |= 1 << i;
    }
    this.best = m;
    this.dueMask = mask;
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
    if (this.masked) {
      const bit = 1 << i;
      if (t < this.best) {
        this.best = t;
        this.dueMask = bit;
      } else if (t === this.best) this.dueMask |= bit;
      else if ((this.dueMask & bit) !== 0) {
        // Hart i was due at `best` and now is later: the earliest may move once no hart is due.
        this.dueMask &= ~bit;
        if (this.dueMask === 0) this.rescan();
      }
      return;
    }
    for (n >>= 1; n >= 1 && this.pull(n); n >>= 1);
  }

  /** The earliest next-event cycle over all harts. */
  earliest(): number {
    return this.masked ? this.best : this.min[1]!;
  }

  /** How many harts are due at `earliest()`. */
  due(): number {
    if (!this.masked) return this.count[1]!;
    // Population count of the due mask.
    let m = this.dueMask;
    m -= (m >>> 1) & 0x55555555;
    m = (m & 0x33333333) + ((m >>> 2) & 0x33333333);
    return Math.imul((m + (m >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }

  /** The `k`-th (from 0, in hart order) of the harts due at `earliest()`. */
  nth(k: number): number {
    if (this.masked) {
      // The k-th set bit from the lowest: hart order.
      let m = this.dueMask;
      for (; k > 0; k--) m &= m - 1;
      return 31 - Math.clz32(m & -m);
    }
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
