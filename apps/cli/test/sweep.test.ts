/**
 * The sweep engine with an injected registry (the fixture plugins only, no built-in packages):
 * determinism across --jobs and shards, resume, the watchdog, and merge's refusals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/plan.js';
import { PLUGINS, runMain, scratchDir, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('sweep');
const at = (name: string) => join(scratch.dir, name);
const SWEEP = [
  'compare',
  '--plugin',
  PLUGINS,
  '-s',
  'flush-all,throws,flush-all+throws',
  '-c',
  'tiny-map,pair-only',
  '-m',
  'emulator,caches-invalid',
  '--mode',
  'sv39,sv48',
  '--harts',
  '1,2,3',
  '--seeds',
  '3',
];
const compare = (...args: string[]) => runMain([...SWEEP, ...args], scratch.dir, false);
let reference = '';

beforeAll(async () => {
  const r = await compare('--jobs', '1', '--out', at('jobs1.jsonl'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  reference = withoutCreatedAt(readFileSync(at('jobs1.jsonl'), 'utf8'));
}, 120_000);
afterAll(() => scratch.cleanup());

describe('a sweep', () => {
  it('plans strategy sets x scenarios x machines x modes x harts, leaving out what a scenario does not apply to', () => {
    const doc = parseResultsDocument(reference);
    // tiny-map: 2 modes x 3 hart counts; pair-only: sv48 only, at least 2 harts.
    expect(doc.meta.plan.totalCells).toBe(3 * 2 * (6 + 2));
    expect(doc.cells.map((c) => c.index)).toEqual(doc.cells.map((_, i) => i));
    expect(doc.cells.some((c) => c.scenario === 'pair-only' && (c.mode === 'sv39' || c.harts < 2))).toBe(
      false,
    );
    expect(doc.meta.strategies['flush-all+throws']!.members.map((m) => m.name)).toEqual([
      'flush-all',
      'throws',
    ]);
    expect(doc.meta.machines['caches-invalid']!.costs).toBeDefined();
  });

  it('marks only the cells of the throwing strategy strategy-error', () => {
    const doc = parseResultsDocument(reference);
    for (const c of doc.cells) {
      const throwing = c.strategy.includes('throws');
      expect(c.verdict, c.id).toBe(throwing ? 'incorrect' : 'correct');
      if (throwing)
        expect(c.firstFailure?.failure?.message).toMatch(/deliberate failure in flush_cache_vmap/);
    }
  });

  it('gives the same bytes with --jobs 2 as with --jobs 1', async () => {
    expect((await compare('--jobs', '2', '--out', at('jobs2.jsonl'))).code).toBe(0);
    expect(withoutCreatedAt(readFileSync(at('jobs2.jsonl'), 'utf8'))).toBe(reference);
  }, 120_000);

  it('gives the same bytes split into three shards and merged', async () => {
    for (const i of [3, 1, 2]) {
      expect((await compare('--jobs', '2', '--shard', `${i}/3`, '--out', at(`shard${i}.jsonl`))).code).toBe(
        0,
      );
    }
    const shard2 = parseResultsDocument(readFileSync(at('shard2.jsonl'), 'utf8'));
    expect(shard2.meta.plan.shard).toEqual({ index: 2, count: 3 });
    expect(shard2.cells.every((c) => shardOf(c.index, 3) === 2)).toBe(true);
    // Every cell in exactly one shard, and the shards roughly even.
    const sizes = [1, 2, 3].map(
      (i) => Array.from({ length: 48 }, (_, k) => shardOf(k, 3)).filter((s) => s === i).length,
    );
    expect(sizes.reduce((a, b) => a + b)).toBe(48);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
    const r = await runMain(
      ['merge', at('shard2.jsonl'), at('shard3.jsonl'), at('shard1.jsonl'), '--out', at('merged.jsonl')],
      scratch.dir,
      false,
    );
    expect(r.code).toBe(0);
    expect(withoutCreatedAt(readFileSync(at('merged.jsonl'), 'utf8'))).toBe(reference);
  }, 120_000);

  it('resumes a file cut mid-line, with cells in completion order, into the same document', async () => {
    const lines = readFileSync(at('jobs1.jsonl'), 'utf8').trimEnd().split('\n');
    const [meta, ...cells] = lines;
    // Finished cells arrive in completion order: keep a scattered subset, then half a record.
    const kept = cells
      .filter((_, i) => i % 3 !== 0)
      .reverse()
      .slice(0, 20);
    writeFileSync(at('partial.jsonl'), `${[meta, ...kept].join('\n')}\n${cells[0]!.slice(0, 50)}`);
    const r = await compare('--jobs', '2', '--resume', '--out', at('partial.jsonl'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/20 resumed/);
    expect(withoutCreatedAt(readFileSync(at('partial.jsonl'), 'utf8'))).toBe(reference);
  }, 120_000);

  it('refuses to resume a file written by another plan', async () => {
    writeFileSync(at('other.jsonl'), readFileSync(at('jobs1.jsonl')));
    const r = await runMain(
      [...SWEEP.slice(0, -1), '4', '--resume', '--out', at('other.jsonl')],
      scratch.dir,
      false,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/written by another plan: plan\.seeds differs/);
  });

  it('refuses to merge shards of different sweeps', async () => {
    expect(
      (
        await runMain(
          [...SWEEP.slice(0, -1), '2', '--shard', '2/3', '--out', at('other2.jsonl')],
          scratch.dir,
          false,
        )
      ).code,
    ).toBe(0);
    const r = await runMain(
      ['merge', at('shard1.jsonl'), at('other2.jsonl'), at('shard3.jsonl'), '--out', '-'],
      scratch.dir,
      false,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/come from different sweeps: plan\.seeds differs/);
  }, 60_000);

  it('replays a failing cell from the file and refuses a file whose outcome it does not reproduce', async () => {
    const id = 'throws|tiny-map|caches-invalid|sv48|h2';
    const ok = await runMain(
      ['replay', at('jobs1.jsonl'), '--plugin', PLUGINS, '--cell', id],
      scratch.dir,
      false,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/slot/);
    expect(ok.stderr).toMatch(/replayed .* strategy-error as recorded/);
    const tampered = readFileSync(at('jobs1.jsonl'), 'utf8')
      .split('\n')
      .map((l) =>
        l.includes(`"id":"${id}"`) ? l.replace('"outcome":"strategy-error"', '"outcome":"livelock"') : l,
      )
      .join('\n');
    writeFileSync(at('tampered.jsonl'), tampered);
    const bad = await runMain(
      ['replay', at('tampered.jsonl'), '--plugin', PLUGINS, '--cell', id],
      scratch.dir,
      false,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /did not reproduce the recorded outcome \(recorded livelock, got strategy-error\)/,
    );
  }, 120_000);
});

describe('the watchdog', () => {
  it('stops a strategy that never returns, marks only its cells, and the sweep goes on', async () => {
    const r = await runMain(
      [
        'compare',
        '--plugin',
        PLUGINS,
        '-s',
        'hangs,flush-all',
        '-c',
        'tiny-map',
        '-m',
        'emulator',
        '--harts',
        '1,2',
        '--seeds',
        '2',
        '--jobs',
        '2',
        // Generous: the well-behaved cells must finish inside it on a loaded machine too (a
        // wall-clock limit is a backstop, never a verdict on a cell that was merely slow).
        '--cell-timeout',
        '8',
        '--out',
        at('hangs.jsonl'),
      ],
      scratch.dir,
      false,
    );
    expect(r.code).toBe(0);
    const doc = parseResultsDocument(readFileSync(at('hangs.jsonl'), 'utf8'));
    expect(doc.cells.map((c) => [c.strategy, c.verdict])).toEqual([
      ['hangs', 'inconclusive'],
      ['hangs', 'inconclusive'],
      ['flush-all', 'correct'],
      ['flush-all', 'correct'],
    ]);
    // Its own outcome, blamed on no strategy (issue 15); the verdict is inconclusive (issue 13): a
    // budget ran out, so the cell was neither shown correct nor shown incorrect.
    expect(doc.cells[0]!.outcomes).toEqual({ timeout: 2 });
    expect(doc.cells[0]!.firstFailure?.outcome).toBe('timeout');
    expect(doc.cells[0]!.firstFailure?.failure?.message).toMatch(/^no result within 8 s of wall-clock time/);
  }, 60_000);
});

describe('run --cell-timeout', () => {
  it('runs the cell under the watchdog and reports a slot that never returns', async () => {
    const r = await runMain(
      [
        'run',
        '--plugin',
        PLUGINS,
        '-s',
        'hangs',
        '-c',
        'tiny-map',
        '-m',
        'emulator',
        '--seeds',
        '2',
        '--cell-timeout',
        '1',
        '--json',
        '--fail-on',
        'incorrect',
      ],
      scratch.dir,
      false,
    );
    // Not shown correct, so a gate fails; but with 3, not 1: no strategy is blamed.
    expect(r.code).toBe(3);
    const record = JSON.parse(r.stdout) as {
      verdict: string;
      outcomes: Record<string, number>;
      firstFailure: { failure: { message: string } };
    };
    expect(record.verdict).toBe('inconclusive');
    expect(record.outcomes).toEqual({ timeout: 2 });
    expect(record.firstFailure.failure.message).toMatch(/^no result within 1 s/);
  }, 60_000);

  it('says a timed-out cell blames no strategy, without a made-up hart or a trace hint', async () => {
    const r = await runMain(
      [
        'run',
        '--plugin',
        PLUGINS,
        '-s',
        'hangs',
        '-c',
        'tiny-map',
        '-m',
        'emulator',
        '--seeds',
        '1',
        '--cell-timeout',
        '1',
      ],
      scratch.dir,
      false,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^outcomes {2}timeout 1$/m);
    expect(r.stdout).toMatch(/^first failing seed 0: timeout: no result within 1 s/m);
    expect(r.stdout).toContain(
      'no run finished, so no strategy is blamed: rerun with a longer --cell-timeout',
    );
    expect(r.stdout).not.toContain('hart -1');
    expect(r.stdout).not.toContain('trace it:');
  }, 60_000);
});

describe('a config file', () => {
  it('is found from the current folder upward and supplies plugins and sweep defaults', async () => {
    const { mkdirSync } = await import('node:fs');
    const dir = at('project');
    mkdirSync(join(dir, 'deep/er'), { recursive: true });
    writeFileSync(
      join(dir, 'tlblab.config.ts'),
      [
        "import { defineConfig } from '@tlblab/core';",
        `import { flushAll, tinyMap } from ${JSON.stringify(join(import.meta.dirname, 'fixtures/plugins.ts'))};`,
        'export default defineConfig({',
        '  strategies: [flushAll],',
        '  scenarios: [tinyMap],',
        "  sweep: { strategies: ['flush-all'], scenarios: ['tiny-map'], machines: ['emulator'], harts: [1, 2], seeds: 2 },",
        '});',
        '',
      ].join('\n'),
    );
    const r = await runMain(['compare', '--jobs', '2', '--out', 'r.jsonl'], join(dir, 'deep/er'), false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = parseResultsDocument(readFileSync(join(dir, 'deep/er/r.jsonl'), 'utf8'));
    expect(doc.cells.map((c) => c.id)).toEqual([
      'flush-all|tiny-map|emulator|sv39|h1',
      'flush-all|tiny-map|emulator|sv39|h2',
    ]);
    expect(doc.meta.plan.seeds).toEqual({ base: 0, count: 2 });
  }, 60_000);
  it("applies its 'kernel' section to every cell, lets --kernel override it key by key, and records both", async () => {
    const { mkdirSync } = await import('node:fs');
    const dir = at('kernel-project');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tlblab.config.ts'),
      [
        "import { defineConfig } from '@tlblab/core';",
        `import { flushAll, tinyMap } from ${JSON.stringify(join(import.meta.dirname, 'fixtures/plugins.ts'))};`,
        'export default defineConfig({',
        '  strategies: [flushAll],',
        '  scenarios: [tinyMap],',
        "  sweep: { strategies: ['flush-all'], scenarios: ['tiny-map'], machines: ['emulator'], harts: [1], seeds: 2 },",
        '  kernel: { stepLimit: 1, stackCache: 1 },',
        '});',
        '',
      ].join('\n'),
    );
    const limited = await runMain(['compare', '--jobs', '1', '--out', 'a.jsonl'], dir, false);
    expect(limited.code).toBe(0);
    const a = parseResultsDocument(readFileSync(join(dir, 'a.jsonl'), 'utf8'));
    expect(a.meta.kernel.stepLimit).toBe(1);
    expect(a.meta.kernel.stackCache).toBe(1);
    expect(a.cells[0]!.outcomes).toEqual({ 'step-limit': 2 });
    const flag = await runMain(
      ['compare', '--jobs', '1', '--kernel', 'stepLimit=200000', '--out', 'b.jsonl'],
      dir,
      false,
    );
    expect(flag.code).toBe(0);
    const b = parseResultsDocument(readFileSync(join(dir, 'b.jsonl'), 'utf8'));
    expect(b.meta.kernel.stepLimit).toBe(200000);
    expect(b.meta.kernel.stackCache).toBe(1);
    expect(b.cells[0]!.outcomes).toEqual({ ok: 2 });
  }, 60_000);
});
