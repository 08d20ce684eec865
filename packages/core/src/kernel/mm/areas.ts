/**
 * The kernel's named virtual areas (vmalloc, vmap stacks, modules, ftrace buffers), interned by
 * name so the compiled programs of the hot path refer to them by id.
 */
import type { KernelRange } from '../../contracts.js';
import { type Area, SimulationError } from '../../engine/types.js';

/** The table as boot left it: names in id order and a copy of each area (null: interned only). */
export interface AreaTableSnapshot {
  readonly names: readonly string[];
  readonly areas: readonly (Readonly<Area> | null)[];
}

export class AreaTable {
  /** Areas by interned id (names are interned when programs are compiled or areas created). */
  private readonly ids = new Map<string, number>();
  /** By id; read directly by the hot path. */
  readonly list: (Area | null)[] = [];

  newArea(name: string, kind: KernelRange['kind'], pages: number): Area {
    return { name, kind, region: 'vmalloc', start: -1, pages, mapped: false, freed: false, clearTick: 0 };
  }

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.list.length;
      this.ids.set(name, id);
      this.list.push(null);
    }
    return id;
  }

  get(name: string): Area | null {
    const id = this.ids.get(name);
    return id === undefined ? null : this.list[id]!;
  }

  set(a: Area): void {
    this.list[this.id(a.name)] = a;
  }

  /** The area named, which must exist. */
  area(name: string): Area {
    const a = this.get(name);
    if (!a) throw new SimulationError(`no area named '${name}' (map it before using it)`);
    return a;
  }

  /** A copy of the table (areas are mutable: each is copied). */
  snapshot(): AreaTableSnapshot {
    return { names: [...this.ids.keys()], areas: this.list.map((a) => (a === null ? null : { ...a })) };
  }

  /** Become the table `s` was taken from (on a new table), with fresh copies of its areas. */
  restore(s: AreaTableSnapshot): void {
    if (this.list.length > 0) throw new SimulationError('restore into a used area table');
    for (let i = 0; i < s.names.length; i++) {
      this.ids.set(s.names[i]!, i);
      const a = s.areas[i]!;
      this.list.push(a === null ? null : { ...a });
    }
  }
}
