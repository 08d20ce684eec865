/**
 * Shared pieces of the built-in scenarios: the background working set that extra harts run (so that
 * a flush has a real price in refill misses, catalog "Scenarios"), and parameter fragments.
 *
 * Every program here is plain data built from the parameters and the hart count only: the same
 * inputs give deep-equal programs, and nothing reads which strategy or machine is running.
 */
import { type Layout, type Op, ops, region } from '@tlblab/core';
import { z } from 'zod';

/** Parameters of the background working set, shared by every scenario. */
export const backgroundParams = {
  /** User pages mapped in each hart's process before the run (one TLB entry each, ASID-tagged). */
  userPages: z.number().int().min(0).max(256).default(8),
  /** Passes a background hart makes over its working set. */
  backgroundRounds: z.number().int().min(0).max(64).default(2),
};

/** What `build` receives about the machine. */
export interface Env {
  readonly harts: number;
  readonly layout: Layout;
}

export interface BackgroundParams {
  readonly userPages: number;
  readonly backgroundRounds: number;
}

/**
 * A page of the direct map for a hart's background data: inside the fourth 2 MiB (4 MiB on Sv32)
 * leaf the core maps at boot. The first three lie under the kernel image on Sv32 (the image sits at
 * PAGE_OFFSET in the linear map there), and non-vmap stacks are carved out above the fourth.
 */
function directMapPage(env: Env, hart: number, i: number): number {
  const huge = 2 ** env.layout.geometry.bitsPerLevel;
  return 3 * huge + ((hart * 16 + i) % huge);
}

/**
 * One pass over a hart's working set: its process's user pages (copy_{to,from}_user with SUM set:
 * ASID-tagged TLB entries), a slice of the direct map (slab objects, page cache: global 2 MiB
 * leaves) and kernel data. A full `sfence.vma` drops all of it, and the refill walks that follow are
 * where a flush's cost shows (machine-model section 9).
 */
export function workingSetPass(env: Env, hart: number, userPages: number): Op[] {
  const pass: Op[] = [];
  for (let i = 0; i < userPages; i++)
    pass.push(i % 2 === 0 ? ops.write(region('user', i)) : ops.read(region('user', i)));
  pass.push(ops.read(region('direct-map', directMapPage(env, hart, 0))));
  pass.push(ops.write(region('direct-map', directMapPage(env, hart, 1))));
  pass.push(ops.read(region('kernel-data', 0)));
  return pass;
}

/** The program of a hart with no role in the scenario: `backgroundRounds` passes over its working set. */
export function backgroundProgram(env: Env, hart: number, p: BackgroundParams): Op[] {
  if (p.backgroundRounds === 0) return [];
  return [ops.repeat(p.backgroundRounds, workingSetPass(env, hart, p.userPages))];
}

/** Programs for `harts` harts: the given role programs first, background work on every other hart. */
export function withBackground(env: Env, roles: readonly Op[][], p: BackgroundParams): Op[][] {
  const programs: Op[][] = [];
  for (let h = 0; h < env.harts; h++)
    programs.push(h < roles.length ? roles[h]! : backgroundProgram(env, h, p));
  return programs;
}

/** Byte offset of the last instruction word of a page: sequential fetch runs to the page's end,
 *  which is where the core's run-ahead walks the next page (machine-model section 5). */
export const LAST_WORD = 4096 - 4;

/** Reads of `gap` unrelated kernel-data words: work a hart does between two steps of the story
 *  (it pushes the story's next access further out of the look-ahead window). */
export function unrelatedWork(env: Env, hart: number, gap: number): Op[] {
  const out: Op[] = [];
  for (let i = 0; i < gap; i++)
    out.push(ops.read(region('direct-map', directMapPage(env, hart, 2 + (i % 8)))));
  return out;
}

/**
 * Where a store to read-only kernel memory lands: the kernel's .rodata (a read-only leaf since
 * mark_rodata_ro()), or a vmalloc'd table write-protected by set_memory_ro() after it was filled.
 */
export const readOnlyTargetParams = {
  target: z.enum(['rodata', 'vmalloc-ro']).default('rodata'),
  /** Page of the target the store hits. */
  page: z.number().int().min(0).max(255).default(0),
  /** Pages of the vmalloc'd table (target `vmalloc-ro`). */
  tablePages: z.number().int().min(1).max(64).default(2),
};

/** The page must lie inside the table when the target is the vmalloc'd one. */
export function pageInsideTable(
  p: { readonly target: 'rodata' | 'vmalloc-ro'; readonly page: number; readonly tablePages: number },
  ctx: z.RefinementCtx,
): void {
  if (p.target === 'vmalloc-ro' && p.page >= p.tablePages) {
    ctx.addIssue({
      code: 'custom',
      path: ['page'],
      message: `page ${p.page} is outside the ${p.tablePages}-page table`,
    });
  }
}
