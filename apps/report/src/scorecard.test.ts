import type { ResultsDocument } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { makeDocument, smallDocument } from '../test/fixtures.js';
import { formatNumber } from './layout.js';
import { buildReportModel } from './model.js';
import { formatRatio } from './scorecard.js';

/** The small document with early-sfence recorded as a real kernel in sv39. */
function withKernel(doc: ResultsDocument, id: string, modes: string[]): ResultsDocument {
  const st = doc.meta.strategies[id]!;
  return {
    ...doc,
    meta: {
      ...doc.meta,
      strategies: { ...doc.meta.strategies, [id]: { ...st, kernel: { release: 'v9.9', modes } } },
    },
  };
}

describe('scorecard', () => {
  it('ranks an inconclusive scenario (timeout, step-limit) below a survived one but never as a failed one', () => {
    // Four sets on the same two scenarios: all correct; one scenario failed (livelock); one
    // scenario stopped by the watchdog on every seed; one whose runs partly overran the step budget.
    // Plan order puts the inconclusive sets first and the correct one last, so only the rule can
    // produce the expected ranking.
    const cell = (strategy: string, scenario: string, outcomes?: Record<string, number>) => ({
      strategy,
      scenario,
      machine: 'caches-invalid',
      harts: 2,
      ...(outcomes ? { outcomes } : {}),
      noMetrics: true,
    });
    const doc = makeDocument({
      strategies: ['flush-all', 'ranged-flush', 'notrace-fault', 'early-sfence'],
      scenarios: ['cross-hart-vmalloc', 'vmap-stack-migrate'],
      machines: ['caches-invalid'],
      harts: [2],
      seeds: 4,
      cells: [
        cell('flush-all', 'cross-hart-vmalloc', { ok: 4 }),
        cell('flush-all', 'vmap-stack-migrate', { timeout: 4 }),
        cell('ranged-flush', 'cross-hart-vmalloc', { ok: 4 }),
        cell('ranged-flush', 'vmap-stack-migrate', { ok: 3, 'step-limit': 1 }),
        cell('notrace-fault', 'cross-hart-vmalloc', { ok: 4 }),
        cell('notrace-fault', 'vmap-stack-migrate', { livelock: 4 }),
        cell('early-sfence', 'cross-hart-vmalloc', { ok: 4 }),
        cell('early-sfence', 'vmap-stack-migrate', { ok: 4 }),
      ],
    });
    const rows = buildReportModel(doc).summary.scorecard.blocks[0]!.rows;
    expect(rows.map((r) => [r.strategy, r.rank, r.correct, r.total, r.inconclusive])).toEqual([
      ['early-sfence', 1, 2, 2, 0],
      ['flush-all', 2, 1, 2, 1],
      ['ranged-flush', 3, 1, 2, 1],
      ['notrace-fault', 4, 1, 2, 0],
    ]);
    // Inconclusive entries are not failures: no failure kind, no first failing cell; they show as ?K.
    expect(rows[1]!.failures).toEqual([]);
    expect(rows[1]!.firstFailure).toBeNull();
    expect(rows[1]!.survived).toEqual([{ machine: 'caches-invalid', correct: 1, total: 2, inconclusive: 1 }]);
    expect(rows[3]!.failures).toEqual([{ kind: 'livelock', entries: 1 }]);
    const m = buildReportModel(doc).summary.matrices[0]!;
    expect(m.rows[1]!.map((c) => [c.status, c.label])).toEqual([
      ['inconclusive', '?timeout 4/4'],
      ['inconclusive', '?step-limit 1/4'],
      ['incorrect', 'livelock 4/4'],
      ['correct', 'ok'],
    ]);
  });

  it('counts survived scenarios per machine from the verdict matrix', () => {
    const model = buildReportModel(smallDocument());
    const [block] = model.summary.scorecard.blocks;
    const m = model.summary.matrices[0]!;
    for (const row of block!.rows) {
      const j = m.strategies.indexOf(row.strategy);
      const correct = m.rows.filter((r) => r[j]!.status === 'correct').length;
      const inconclusive = m.rows.filter((r) => r[j]!.status === 'inconclusive').length;
      expect(row.survived).toEqual([
        { machine: m.machine, correct, total: m.scenarios.length, inconclusive },
      ]);
    }
  });

  it('puts real kernel configurations first, by the recorded kernel field and its modes, not by name', () => {
    const real = buildReportModel(withKernel(smallDocument(), 'notrace-fault', ['sv39']));
    const rows = real.summary.scorecard.blocks[0]!.rows;
    expect(rows[0]).toMatchObject({ strategy: 'notrace-fault', config: 'real', release: 'v9.9', rank: 1 });
    expect(rows.slice(1).every((r) => r.config === 'what-if')).toBe(true);
    // Real in another mode only: a what-if here.
    const elsewhere = buildReportModel(withKernel(smallDocument(), 'notrace-fault', ['sv32']));
    expect(elsewhere.summary.scorecard.blocks[0]!.rows.every((r) => r.config === 'what-if')).toBe(true);
  });

  it('ranks by failed scenarios, then by cycles against the cheapest correct set', () => {
    const rows = buildReportModel(smallDocument()).summary.scorecard.blocks[0]!.rows;
    const failed = rows.map((r) => r.total - r.correct);
    expect([...failed].sort((a, b) => a - b)).toEqual(failed);
    expect(rows.map((r) => r.rank)).toEqual(rows.map((_, i) => i + 1));
  });

  it('computes each ratio as value / cheapest correct value in the same context', () => {
    const doc = smallDocument();
    const model = buildReportModel(doc);
    const block = model.summary.scorecard.blocks[0]!;
    const harts = block.hartCounts[block.hartCounts.length - 1]!;
    const context = doc.cells.filter((c) => c.scenario === 'vmalloc-stress' && c.harts === harts);
    const correct = context.filter((c) => c.verdict === 'correct');
    const cheapest = Math.min(...correct.map((c) => c.metrics.cycles!.mean));
    for (const c of correct) {
      const row = block.rows.find((r) => r.strategy === c.strategy)!;
      const cost = row.costs.find((x) => x.metric === 'cycles' && x.harts === harts)!;
      expect(cost.ratio).toBeCloseTo(c.metrics.cycles!.mean / cheapest, 3);
      expect(cost.contexts).toBe(1);
    }
    // A set incorrect in the only context has no ratio.
    for (const c of context.filter((x) => x.verdict === 'incorrect')) {
      const row = block.rows.find((r) => r.strategy === c.strategy)!;
      expect(row.costs.find((x) => x.metric === 'cycles' && x.harts === harts)!.ratio).toBeNull();
    }
  });

  it('follows a filter: only the asked cells count', () => {
    const model = buildReportModel(smallDocument(), { filter: { strategies: ['baseline'], harts: [2] } });
    expect(model.summary.totals.cells).toBe(
      smallDocument().cells.filter((c) => c.strategy === 'baseline' && c.harts === 2).length,
    );
    expect(model.summary.scorecard.blocks[0]!.rows.map((r) => r.strategy)).toEqual(['baseline']);
    expect(model.summary.filter).toBe('strategy baseline; harts 2');
  });
});

describe('number formatting', () => {
  it('uses three significant digits everywhere, whole numbers as they are', () => {
    expect([4.5, 215.1, 250, 0.012345, 18714.188, 3, 0].map(formatNumber)).toEqual([
      '4.50',
      '215',
      '250',
      '0.0123',
      '18714',
      '3',
      '0',
    ]);
    expect([1, 2.1034, 35.12, 220.4, Number.POSITIVE_INFINITY, null].map(formatRatio)).toEqual([
      '1.00x',
      '2.10x',
      '35.1x',
      '220x',
      'inf',
      '-',
    ]);
  });
});
