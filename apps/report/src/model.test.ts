import { describe, expect, it } from 'vitest';
import { everyOutcomeDocument, makeDocument, smallDocument } from '../test/fixtures.js';
import { buildReportModel, failureKindOf } from './model.js';

describe('buildReportModel', () => {
  const model = buildReportModel(smallDocument());
  const matrix = model.summary.matrices[0]!;
  const cell = (scenario: string, strategy: string) =>
    matrix.rows[matrix.scenarios.indexOf(scenario)]![matrix.strategies.indexOf(strategy)]!;

  it('sums a verdict entry over every hart count of the strategy set and scenario', () => {
    const c = cell('cross-hart-vmalloc', 'baseline');
    expect(c.harts).toEqual([2, 4]);
    expect(c.label).toBe('panic:spurious-fault 54/64');
    expect(c.cellIds).toHaveLength(2);
  });

  it('counts an expected oops as correct and says so', () => {
    expect(cell('kernel-protection-fault', 'baseline')).toMatchObject({
      status: 'correct',
      label: 'ok (oops)',
    });
  });

  it("reports notrace-fault's protection-fault livelock, as the thread predicts", () => {
    expect(cell('kernel-protection-fault', 'notrace-fault')).toMatchObject({
      status: 'incorrect',
      label: 'livelock 64/64',
    });
  });

  it('computes IPIs per new mapping as ipisSent.mean / mappings.mean', () => {
    const rows = model.summary.costs[0]!.rows.filter((r) => r.strategy === 'flush-cache-vmap');
    expect(rows.map((r) => [r.harts, r.ipisPerMapping])).toEqual([
      [2, 1],
      [4, 3],
    ]);
    expect(model.summary.costs[0]!.rows.find((r) => r.strategy === 'early-sfence')!.ipisPerMapping).toBe(0);
  });

  it('restricts cost sections to cost-purpose scenarios when the document has any', () => {
    expect(model.summary.costScenarios).toEqual(['vmalloc-stress']);
  });

  it('groups failures by kind and strategy set, in plan order, with a replay command per class', () => {
    expect(model.summary.failureClasses.map((c) => `${c.kind} ${c.strategy}`)).toEqual([
      'panic:spurious-fault baseline',
      'panic:stack-overflow baseline',
      'panic:stack-overflow notrace-fault',
      'livelock notrace-fault',
    ]);
    expect(model.summary.failureClasses[0]!.replay).toBe(
      "tlblab replay results.jsonl --cell 'baseline|cross-hart-vmalloc|caches-invalid|sv39|h2'",
    );
  });

  it('names the results file given in the replay command, quoted for the shell', () => {
    const m = buildReportModel(smallDocument(), { resultsPath: "sweep's results.jsonl" });
    expect(m.summary.failureClasses[0]!.replay).toBe(
      "tlblab replay 'sweep'\\''s results.jsonl' --cell 'baseline|cross-hart-vmalloc|caches-invalid|sv39|h2'",
    );
  });

  it('explains a spurious fault from the trace: no sfence.vma on the faulting hart after the mapping', () => {
    const text = model.summary.failureClasses[0]!.explanation;
    expect(text).toContain('Unable to handle kernel paging request');
    expect(text).toContain('load page fault at 0xffffffc600003000 (negative TLB entry)');
    expect(text).toContain('hart 1 executed no sfence.vma');
    expect(text).toContain('No strategy slot ran on hart 1');
  });

  it('explains a livelock with the fault count and the slot that kept replaying', () => {
    const text = model.summary.failureClasses.find((c) => c.kind === 'livelock')!.explanation;
    expect(text).toContain('took 17 faults at 0xffffffff81200040');
    expect(text).toContain('kernelFault(notrace-fault): vmalloc_fault -> handled, replay');
    expect(text).toContain('more than 16 such faults');
  });

  it('keeps a timeline for every incorrect cell that recorded a trace', () => {
    expect(model.timelines.map((t) => t.cellId)).toEqual(
      smallDocument()
        .cells.filter((c) => c.verdict === 'incorrect')
        .map((c) => c.id),
    );
  });

  it('charts caches-invalid by default and the requested machine when there is one', () => {
    const doc = makeDocument({
      strategies: ['baseline'],
      scenarios: ['vmalloc-stress'],
      machines: ['emulator', 'caches-invalid'],
      harts: [2],
    });
    expect(buildReportModel(doc).chartMachine).toBe('caches-invalid');
    expect(buildReportModel(doc, { chartMachine: 'emulator' }).chartMachine).toBe('emulator');
    expect(buildReportModel(doc, { chartMachine: 'nope' }).chartMachine).toBe('caches-invalid');
  });
});

describe('failure kinds', () => {
  it('calls an ok run of an oops-expecting scenario no-oops, and a met expectation no failure', () => {
    expect(failureKindOf('ok', 'oops')).toBe('no-oops');
    expect(failureKindOf('oops', 'oops')).toBeNull();
    expect(failureKindOf('oops', 'ok')).toBe('oops');
  });

  it('marks a matrix entry with + when more than one failure kind occurred', () => {
    const m = buildReportModel(everyOutcomeDocument());
    const labels = m.summary.matrices[0]!.rows.flat().map((c) => c.label);
    expect(labels).toContain('livelock 2/8+');
  });

  it('says when a class has no recorded trace, and still gives the replay command', () => {
    const m = buildReportModel(everyOutcomeDocument());
    const cl = m.summary.failureClasses.find((c) => c.kind === 'step-limit')!;
    expect(cl.explanation).toContain('No trace was recorded');
    expect(cl.replay).toContain("--cell 'early-sfence|fork-storm|caches-invalid|sv39|h8'");
  });

  it('gives a timed-out cell no replay command (its worker returned no run) and no made-up hart', async () => {
    const doc = everyOutcomeDocument();
    const m = buildReportModel(doc);
    const cl = m.summary.failureClasses.find((c) => c.kind === 'timeout')!;
    expect(cl.replay).toBeNull();
    expect(cl.example).toMatchObject({ hart: null, step: null, replayable: false });
    expect(cl.explanation).toMatch(/^Seed 1: no result within 60 s/);
    expect(cl.explanation).toContain('nothing to replay');
    expect(cl.explanation).toContain('No strategy is blamed');
    const { renderReport } = await import('./index.js');
    for (const format of ['text', 'md', 'html'] as const) {
      const out = await renderReport(doc, { format, full: true });
      expect(out, format).not.toContain("--cell 'flush-all|fork-storm|caches-invalid|sv39|h8'");
      expect(out, format).toContain('nothing to replay');
    }
  });
});

describe('failure evidence', () => {
  it('cites the last mapping only when it covers the faulting address', async () => {
    const { mappingCovers } = await import('./explain.js');
    expect(
      mappingCovers('vmalloc 0xffffffc600003000-0xffffffc600005000 (2 pages)', '0xffffffc600004ff8'),
    ).toBe(true);
    expect(
      mappingCovers('vmalloc 0xffffffc600003000-0xffffffc600005000 (2 pages)', '0xffffffff81200040'),
    ).toBe(false);
    const livelock = buildReportModel(smallDocument()).summary.failureClasses.find(
      (c) => c.kind === 'livelock',
    )!;
    expect(livelock.explanation).not.toContain('After the mapping');
  });
});
