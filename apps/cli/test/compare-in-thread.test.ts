/**
 * `compare` without `--jobs` (issue 13, session 6): built-in cells start in the command's own
 * thread and go to workers only when what is left pays for them (src/in-thread.ts). The decision
 * moves cells between threads, never changes a record: the document is the same bytes as
 * `--jobs 1` and `--jobs 2` give, whether the sweep stays here or switches part-way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AT_ONCE_HART_RUNS,
  forcedSwitch,
  PROBE_MS,
  SWITCH_MS,
  SwitchDecision,
  workersAtOnce,
} from '../src/in-thread.js';
import { runCli, runMain, scratchDir, TINY_SWEEP_ANY_JOBS, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('compare-in-thread');
const at = (name: string) => join(scratch.dir, name);
afterAll(() => scratch.cleanup());

describe('the switch decision', () => {
  it('predicts nothing before the probe is over, once at its end, and nothing after', () => {
    const d = new SwitchDecision(40, 100, 1000);
    expect(d.observe(60, 4)).toBeNull();
    expect(d.observe(39, 4)).toBeNull();
    expect(d.observe(1, 4)).not.toBeNull();
    expect(d.elapsed).toBe(100);
    expect(d.observe(1000, 4)).toBeNull();
    expect(d.elapsed).toBe(1100);
  });

  it('predicts from the recent half of the probe, per hart, times the harts left', () => {
    // A cold first cell (80 ms), then cells of 10 ms per 2 harts: the recent half (the last 100 ms
    // of 200) is ten 2-hart cells of 10 ms, so 5 ms a hart, whatever the cold cell cost.
    const d = new SwitchDecision(2 * 100 + 8, 200, 1000);
    let left: number | null = d.observe(80, 8);
    for (let i = 0; i < 12; i++) left ??= d.observe(10, 2);
    expect(d.elapsed).toBe(200);
    // 208 harts in all, 8 + 24 run: 176 left at 5 ms a hart.
    expect(left).toBeCloseTo(176 * 5, 6);
    expect(d.pays(left)).toBe(false);
    expect(new SwitchDecision(1).pays(null)).toBe(false);
  });

  it('says the workers pay back from the threshold on', () => {
    const d = new SwitchDecision(3, 10, 500);
    expect(d.pays(499.9)).toBe(false);
    expect(d.pays(500)).toBe(true);
    expect(PROBE_MS).toBeLessThan(SWITCH_MS);
  });

  it('sends a sweep of AT_ONCE_HART_RUNS hart-runs or more to the workers without a probe', () => {
    // The demo's sweep (5460 cells, a quarter each at 1, 2, 4, 8 harts: 20,475 harts) at 4 seeds:
    // 81,900 hart-runs.
    expect(workersAtOnce((5460 / 4) * (1 + 2 + 4 + 8), 4)).toBe(true);
    // The bench's 240-cell sweep at 2 and 4 harts, 48 seeds: 34,560, probed (in this thread it won).
    expect(workersAtOnce(120 * (2 + 4), 48)).toBe(false);
    expect(workersAtOnce(AT_ONCE_HART_RUNS, 1)).toBe(true);
    expect(workersAtOnce(AT_ONCE_HART_RUNS - 1, 1)).toBe(false);
  });

  it('reads TLBLAB_SWITCH_AFTER as a cell count, anything else as unset', () => {
    expect(forcedSwitch({})).toBeNull();
    expect(forcedSwitch({ TLBLAB_SWITCH_AFTER: '' })).toBeNull();
    expect(forcedSwitch({ TLBLAB_SWITCH_AFTER: '0' })).toBe(0);
    expect(forcedSwitch({ TLBLAB_SWITCH_AFTER: '12' })).toBe(12);
    expect(forcedSwitch({ TLBLAB_SWITCH_AFTER: '-1' })).toBeNull();
    expect(forcedSwitch({ TLBLAB_SWITCH_AFTER: 'x' })).toBeNull();
  });
});

// 3 sets x 4 scenarios x 1,2,4 harts, 2 seeds: ~30 cells, a second or two.
const SWEEP = [
  'compare',
  '-s',
  'baseline,early-sfence,linux-6.12',
  '-c',
  'cross-hart-vmalloc,vfree-reuse,fork-storm,vmalloc-stress',
  '-m',
  'caches-invalid',
  '--harts',
  '1,2,4',
  '--seeds',
  '2',
];

describe('compare without --jobs', () => {
  let reference = '';
  beforeAll(async () => {
    const r = await runMain([...SWEEP, '--jobs', '1', '--out', at('jobs1.jsonl')], scratch.dir);
    expect(r.code, r.stderr).toBe(0);
    reference = withoutCreatedAt(readFileSync(at('jobs1.jsonl'), 'utf8'));
  }, 120_000);

  it('runs a small sweep of built-in cells in this thread, into the --jobs 1 document', async () => {
    const r = await runMain([...SWEEP, '--out', at('here.jsonl')], scratch.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cells x 2 seeds -> .* \(in this thread\)/);
    expect(withoutCreatedAt(readFileSync(at('here.jsonl'), 'utf8'))).toBe(reference);
  }, 120_000);

  it('hands the rest to the workers after TLBLAB_SWITCH_AFTER cells, into the same document', async () => {
    const r = await runCli([...SWEEP, '--json', '--out', at('switched.jsonl')], {
      cwd: scratch.dir,
      env: { TLBLAB_SWITCH_AFTER: '7' },
    });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { cells: number; ran: number; inThread: number };
    expect(summary.inThread).toBe(7);
    expect(summary.ran).toBe(summary.cells);
    expect(summary.cells).toBeGreaterThan(20);
    expect(withoutCreatedAt(readFileSync(at('switched.jsonl'), 'utf8'))).toBe(reference);
  }, 120_000);

  it('keeps --jobs, --cell-timeout and plugin code on workers', async () => {
    const jobs = await runMain([...SWEEP, '--jobs', '2', '--json', '--out', at('j2.jsonl')], scratch.dir);
    const timeout = await runMain(
      [...SWEEP, '--cell-timeout', '600', '--json', '--out', at('timeout.jsonl')],
      scratch.dir,
    );
    for (const r of [jobs, timeout]) {
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { inThread: number }).inThread).toBe(0);
    }
    expect(withoutCreatedAt(readFileSync(at('j2.jsonl'), 'utf8'))).toBe(reference);
    expect(withoutCreatedAt(readFileSync(at('timeout.jsonl'), 'utf8'))).toBe(reference);
    const plugin = await runMain([...TINY_SWEEP_ANY_JOBS, '--out', at('plugin.jsonl')], scratch.dir);
    expect(plugin.code, plugin.stderr).toBe(0);
    expect(plugin.stdout).toMatch(/\(2 jobs\)|\(1 job\)/);
  }, 120_000);
});
