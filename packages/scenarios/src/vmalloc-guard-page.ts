import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, withBackground } from './common.js';

const params = z
  .object({
    /** Pages of the vmalloc'd array. */
    pages: z.number().int().min(1).max(64).default(2),
    ...backgroundParams,
  })
  .strict();

export type VmallocGuardPageParams = z.infer<typeof params>;

/**
 * Every vmalloc area is followed by an unmapped guard page (mm/vmalloc.c, unless VM_NO_GUARD): an
 * access one page past the end is a genuine fault on an address init_mm does not map, and the
 * kernel must oops. No strategy may turn it into anything else (a replay at most).
 */
export const vmallocGuardPage = defineScenario({
  id: 'vmalloc-guard-page',
  meta: {
    title: 'a read one page past a vmalloc area',
    story:
      'Hart 0 vmallocs an array and publishes it; hart 1 (hart 0 itself on a single hart) indexes it with an off-by-one bound and reads the word just past its end, which falls in the area\'s guard page. Nothing maps that page, so the kernel must report "Unable to handle kernel paging request". This is the control: every strategy must keep genuine faults genuine.',
    source:
      'mm/vmalloc.c __get_vm_area_node() (guard page unless VM_NO_GUARD); arch/riscv/mm/fault.c no_context()',
  },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'oops',
  purpose: 'survival',
  params,
  explore: { sizes: { backgroundRounds: 0 } },
  build(p, env) {
    const mapper: Op[] = [ops.vmalloc('array', p.pages), ops.signal('array:published')];
    const reader: Op[] = [ops.wait('array:published'), ops.read(area('array', p.pages))];
    const roles = env.harts === 1 ? [[...mapper, ...reader]] : [mapper, reader];
    return { programs: withBackground(env, roles, p), userPages: p.userPages };
  },
});
