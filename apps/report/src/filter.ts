/** The report's `--strategy/--scenario/--machine/--mode/--harts` subset (every format). */
import type { CellRecord } from '@tlblab/core';
import type { ReportFilter } from './model-types.js';

/** The cells a filter keeps. */
export function filterCells(cells: readonly CellRecord[], filter: ReportFilter | undefined): CellRecord[] {
  if (!filter) return [...cells];
  return cells.filter(
    (c) =>
      (!filter.strategies || filter.strategies.includes(c.strategy)) &&
      (!filter.scenarios || filter.scenarios.includes(c.scenario)) &&
      (!filter.machines || filter.machines.includes(c.machine)) &&
      (!filter.modes || filter.modes.includes(c.mode)) &&
      (!filter.harts || filter.harts.includes(c.harts)),
  );
}
/** The filter as one line (`machine caches-invalid; harts 4, 8`), or null without one. */
export function describeFilter(filter: ReportFilter | undefined): string | null {
  if (!filter) return null;
  const parts: string[] = [];
  if (filter.strategies) parts.push(`strategy ${filter.strategies.join(', ')}`);
  if (filter.scenarios) parts.push(`scenario ${filter.scenarios.join(', ')}`);
  if (filter.machines) parts.push(`machine ${filter.machines.join(', ')}`);
  if (filter.modes) parts.push(`mode ${filter.modes.join(', ')}`);
  if (filter.harts) parts.push(`harts ${filter.harts.join(', ')}`);
  return parts.length ? parts.join('; ') : null;
}
