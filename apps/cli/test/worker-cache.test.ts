/**
 * The worker's fast path for built-in cells (issue 13): cells of a batch share core's CellCache
 * (programs, kernel settings, booted machines) and their records are written as runCell builds
 * them, without a second schema parse. Over built-in strategy sets, scenarios (a real-kernel
 * workload among them), failing cells with their traced first failure, and several seeds: each
 * line is the line an uncached cell normalised through the schema gives, and every cell of the
 * batch is reached in the order the sweep hands them out.
 */
import { MessageChannel } from 'node:worker_threads';
import { cellRecordSchema, runCell } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { loadRegistry, type RegistrySpec } from '../src/config.js';
import { buildPlan, coreCell, type PlanInput } from '../src/plan.js';
import { isBuiltinCell } from '../src/registry.js';
import { type CellsMessage, runTask } from '../src/worker.js';
import { REPO } from './helpers.js';

const spec: RegistrySpec = { cwd: REPO, config: null, plugins: [], builtins: true };

async function batch(
  input: PlanInput,
): Promise<{ lines: Map<number, string>; expected: Map<number, string> }> {
  const { registry } = await loadRegistry(spec);
  const plan = buildPlan(registry, input);
  // The sweep's order: largest hart count first, then plan order.
  const cells = [...plan.selected].sort((a, b) => b.harts - a.harts || a.index - b.index);
  const { port1, port2 } = new MessageChannel();
  const lines = new Map<number, string>();
  const got = new Promise<void>((resolve) => {
    port1.on('message', (m: CellsMessage) => {
      const cell = cells[m.at]!;
      if (!('cell' in m.result)) throw new Error(`${cell.id}: ${JSON.stringify(m.result)}`);
      lines.set(cell.index, m.result.cell.line);
      if (lines.size === cells.length) resolve();
    });
  });
  await runTask({ kind: 'cells', spec, cells, seeds: input.seeds, params: input.params, port: port2 });
  await got;
  port1.close();
  const expected = new Map<number, string>();
  for (const c of plan.selected) {
    expect(isBuiltinCell(registry, c), c.id).toBe(true);
    const record = runCell(coreCell(registry, c, input.params), input.seeds, { index: c.index });
    expected.set(c.index, JSON.stringify(cellRecordSchema.parse(record)));
  }
  return { lines, expected };
}

describe('built-in cells on a worker', () => {
  it('write the lines uncached cells give through the schema (failing cells and traces included)', async () => {
    const input: PlanInput = {
      strategies: ['all'],
      scenarios: ['cross-hart-vmalloc', 'vmap-stack-migrate', 'tracing-in-fault-path', 'sv32-new-pgd'],
      machines: ['caches-invalid', 'emulator'],
      modes: ['sv39', 'sv32'],
      harts: [1, 2],
      seeds: { base: 3, count: 3 },
      params: {},
      shard: null,
    };
    const { lines, expected } = await batch(input);
    expect(lines.size).toBe(expected.size);
    expect(lines.size).toBeGreaterThanOrEqual(100);
    for (const [index, line] of expected) expect(lines.get(index), `cell ${index}`).toBe(line);
    const failing = [...lines.values()].filter((l) => l.includes('"firstFailure":{'));
    expect(failing.length).toBeGreaterThan(5);
    expect(failing.some((l) => l.includes('"stval":'))).toBe(true);
  }, 120_000);

  it('treat the shipped real-kernel workloads as built in (one seed, no rerun)', async () => {
    const input: PlanInput = {
      strategies: ['linux-6.4', 'linux-6.12'],
      scenarios: ['real-fork'],
      machines: ['caches-invalid'],
      modes: ['sv39'],
      harts: [2],
      seeds: { base: 0, count: 1 },
      params: { 'real-fork': { phase: 'boot' } },
      shard: null,
    };
    const { lines, expected } = await batch(input);
    expect([...lines.entries()].sort()).toEqual([...expected.entries()].sort());
  }, 120_000);
});
