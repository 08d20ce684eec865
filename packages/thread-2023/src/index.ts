/**
 * The six strategies of the 2023 thread as the catalog's columns: each applied on top of the
 * v6.5-rc1 baseline kernel (`onBaseline`), in catalog order.
 */
import type { StrategySet } from '@tlblab/core';
import baseline, { onBaseline } from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import flushCacheVmap from '@tlblab/strategy-flush-cache-vmap';
import notraceFault from '@tlblab/strategy-notrace-fault';
import rangedFlush from '@tlblab/strategy-ranged-flush';
import sv32VmallocFault from '@tlblab/strategy-sv32-vmalloc-fault';

export function threadStrategies(): StrategySet[] {
  return [baseline(), sv32VmallocFault(), notraceFault(), flushCacheVmap(), rangedFlush(), earlySfence()].map(
    onBaseline,
  );
}
