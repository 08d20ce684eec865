/**
 * What the cells of one sweep share (issue 13, "per-cell work outside run()"). A sweep's cells are
 * strategy sets x scenarios x machines x modes x hart counts; most of what `prepareCell` resolves
 * depends on only some of those axes, so a sweep of 10 sets x 7 machines builds each scenario's
 * programs 70 times and boots each machine 10 times when nothing is shared:
 *
 * - the scenario part (parsed parameters and `build()`'s programs) depends on the scenario, its
 *   parameters, the mode and the hart count;
 * - the resolved kernel settings on the merged layers (scenario, members, set, overrides): the
 *   same layers give the same frozen settings without parsing them again;
 * - the booted machine (engine/boot-image.ts) on the programs, the machine, the hart count and the
 *   resolved kernel settings, not on the strategy: boot calls no strategy slot, so every set with
 *   the same kernel settings boots the same machine.
 *
 * Sharing is exact only when `build()` is a pure function of its parameters and environment and
 * parameters are JSON data, as for the built-in scenarios; the CLI passes a cache for built-in
 * cells only (plugin code is re-checked for state kept between runs, which a cache would hide).
 * Entries are evicted least recently used first, so a long sweep holds a bounded number of booted
 * machines.
 */
import type { KernelConfig } from './kernel-config.js';

const UNDEFINED = '\u0000undefined';

/**
 * Least recently used first out, within a total weight (an entry's weight: 1, or what `set` says);
 * `get` refreshes an entry.
 */
class Lru<V> {
  private readonly map = new Map<string, { readonly value: V; readonly weight: number }>();
  private weight = 0;
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }
  set(key: string, value: V, weight = 1): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.weight -= old.weight;
    }
    this.map.set(key, { value, weight });
    this.weight += weight;
    // The newest entry stays even when it alone is over the capacity.
    while (this.weight > this.capacity && this.map.size > 1) {
      const [k, e] = this.map.entries().next().value!;
      this.map.delete(k);
      this.weight -= e.weight;
    }
  }
}

export interface CellCacheLimits {
  /** Scenario parts (parameters + programs) kept. */
  readonly scenarios?: number;
  /** Resolved kernel settings kept. */
  readonly kernels?: number;
  /**
   * Booted machines kept, in harts: an image holds one process root per hart besides the kernel's
   * tables, about 8-10 KB a hart in the library's scenarios (page tables as the slots boot stored
   * to, hw/page-tables.ts; it was ~100 KB a hart while snapshots copied whole tables), so the bound
   * is the sum of their hart counts. The default (8192, about 80 MB) holds every machine of the
   * demo's sweep (1638 boot slots, 6951 harts, at 1-8 harts on 7 machines in both modes) however
   * its cells are ordered: in plan order (strategy set by strategy set) a slot's cells are a whole
   * set's pass apart, and a bound below one pass (2317 harts) kept none of them (measured, 5460
   * cells: 5460 boots at 1536 and 2048 harts, 2184 at 3072, the 1638 minimum at 6144).
   */
  readonly bootHarts?: number;
}

/** Hits and misses, for tests and profiling. */
export interface CellCacheStats {
  scenarioHits: number;
  scenarioMisses: number;
  kernelHits: number;
  kernelMisses: number;
  bootSlots: number;
}

export class CellCache {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly scenarioParts: Lru<{ readonly key: string; readonly value: unknown }>;
  private readonly kernels: Lru<{ readonly resolved: KernelConfig; readonly json: string }>;
  private readonly bootSlots: Lru<object>;
  readonly stats: CellCacheStats = {
    scenarioHits: 0,
    scenarioMisses: 0,
    kernelHits: 0,
    kernelMisses: 0,
    bootSlots: 0,
  };

  constructor(limits: CellCacheLimits = {}) {
    this.scenarioParts = new Lru(limits.scenarios ?? 256);
    this.kernels = new Lru(limits.kernels ?? 1024);
    this.bootSlots = new Lru(limits.bootHarts ?? 8192);
  }

  /** A number naming `o` for as long as it lives (object identity as part of a key). */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /**
   * The scenario part under `key` (scenario identity, mode, harts, parameters), built once. Returns
   * the value and its key (the boot slot's key starts with it). A build that throws is not kept.
   */
  scenarioPart<T>(key: string, build: () => T): { readonly key: string; readonly value: T } {
    const hit = this.scenarioParts.get(key);
    if (hit !== undefined) {
      this.stats.scenarioHits++;
      return hit as { key: string; value: T };
    }
    this.stats.scenarioMisses++;
    const entry = { key, value: build() };
    this.scenarioParts.set(key, entry);
    return entry;
  }

  /**
   * The kernel settings these layers resolve to (`json`: the resolved settings as JSON), resolved
   * once per distinct list of layers. Layers are plain data (numbers, strings, booleans, null).
   */
  kernel(
    layers: readonly unknown[],
    resolve: () => KernelConfig,
  ): { readonly resolved: KernelConfig; readonly json: string } {
    // `undefined` kept apart from an absent key: Object.assign copies it over a default.
    const key = JSON.stringify(layers, (_k, v: unknown) => (v === undefined ? UNDEFINED : v));
    const hit = this.kernels.get(key);
    if (hit !== undefined) {
      this.stats.kernelHits++;
      return hit;
    }
    this.stats.kernelMisses++;
    const resolved = resolve();
    const entry = { resolved, json: JSON.stringify(resolved) };
    this.kernels.set(key, entry);
    return entry;
  }

  /**
   * The object a booted machine is remembered under (engine/boot-image.ts keys images by it) for
   * this boot key: the same object for every cell that boots the same machine.
   */
  bootSlot(key: string, harts: number): object {
    let slot = this.bootSlots.get(key);
    if (slot === undefined) {
      slot = {};
      this.bootSlots.set(key, slot, harts);
      this.stats.bootSlots++;
    }
    return slot;
  }
}

/** A cache for the cells of one sweep (see `CellCache`). */
export function createCellCache(limits?: CellCacheLimits): CellCache {
  return new CellCache(limits);
}
