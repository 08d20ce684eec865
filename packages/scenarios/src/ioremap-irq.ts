import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, withBackground } from './common.js';

const params = z
  .object({
    /** Devices probed one after another. */
    devices: z.number().int().min(1).max(64).default(3),
    /** Pages of each device's register window. */
    mmioPages: z.number().int().min(1).max(16).default(1),
    /** Byte offset of the status register the handler reads (a register at the end of the window
     *  makes the handler's load sit near the page's end). */
    registerOffset: z.number().int().min(0).max(4095).default(0),
    ...backgroundParams,
  })
  .strict();

export type IoremapIrqParams = z.infer<typeof params>;

/**
 * A driver's probe() on one hart ioremaps its device's registers (mm/ioremap.c ioremap_page_range ->
 * vmap_page_range -> flush_cache_vmap), enables the interrupt and waits for the device's first
 * interrupt (wait_for_completion); the handler runs on another hart, with interrupts off, and reads
 * the registers.
 */
export const ioremapIrq = defineScenario({
  id: 'ioremap-irq',
  meta: {
    title: 'ioremap on one hart, the interrupt handler reads it on another',
    story:
      "Hart A probes devices one after another: each probe() ioremaps the device's register window (ioremap_page_range, a vmalloc-range mapping that ends in flush_cache_vmap), enables the device interrupt and waits for the reset-complete interrupt. The interrupt is routed to hart B, which idles with interrupts enabled (waiting with interrupts off while A's flush IPIs B would be a real deadlock); the handler runs with interrupts off and reads the status register through the new mapping, then completes A's wait. While B idled, its look-ahead walked the handler's coming register read as soon as the window's VA was reserved; a V=0 entry cached there makes the handler fault on a mapped address, inside an interrupt, with no vmalloc_fault to save it.",
    source:
      "mm/ioremap.c ioremap_page_range(); mm/vmalloc.c vmap_page_range(); drivers' probe()/wait_for_completion() and their IRQ handlers; the 2023 thread",
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { devices: 1, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let d = 0; d < p.devices; d++) {
      const dev = `mmio${d}`;
      a.push(ops.ioremap(dev, p.mmioPages), ops.signal(`${dev}:irq`), ops.wait(`${dev}:reset-done`));
      // B idles with interrupts on until the IRQ arrives; the handler runs with them off.
      b.push(
        ops.wait(`${dev}:irq`),
        ops.irqOff(),
        ops.read(area(dev, 0, p.registerOffset)),
        ops.signal(`${dev}:reset-done`),
        ops.irqOn(),
      );
    }
    return { programs: withBackground(env, [a, b], p), userPages: p.userPages };
  },
});
