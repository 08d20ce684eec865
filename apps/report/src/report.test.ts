import { OUTCOMES, type ResultsDocument } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { everyOutcomeDocument, HOSTILE_STRATEGY, smallDocument } from '../test/fixtures.js';
import { REPORT_FORMATS, type ReportFormat, renderReport } from './index.js';

/** The snapshot document with its one unstable field pinned. */
function pinned(doc: ResultsDocument): ResultsDocument {
  return { ...doc, meta: { ...doc.meta, createdAt: '2000-01-01T00:00:00.000Z' } };
}

const EXTENSION: Readonly<Record<ReportFormat, string>> = {
  text: 'txt',
  md: 'md',
  csv: 'csv',
  json: 'json',
  html: 'html',
};

describe('renderReport snapshots on the small document', () => {
  for (const format of REPORT_FORMATS) {
    it(`renders ${format} as recorded in __snapshots__/small.${EXTENSION[format]}`, async () => {
      const out = await renderReport(pinned(smallDocument()), { format });
      await expect(out).toMatchFileSnapshot(`__snapshots__/small.${EXTENSION[format]}`);
    });
  }
});

describe('a document with a cell of every outcome kind', () => {
  const doc = everyOutcomeDocument();

  it('really has every outcome kind in some cell', () => {
    const seen = new Set(doc.cells.flatMap((c) => Object.keys(c.outcomes)));
    expect([...seen].sort()).toEqual([...OUTCOMES].sort());
  });

  for (const format of REPORT_FORMATS) {
    it(`renders in ${format} with every failure kind named`, async () => {
      const out = await renderReport(doc, { format });
      for (const kind of [
        'panic:spurious-fault',
        'panic:stack-overflow',
        'livelock',
        'deadlock',
        'stale-access',
        'strategy-error',
        'step-limit',
        'no-oops',
      ]) {
        if (format === 'csv') continue;
        expect(out, kind).toContain(kind);
      }
      if (format === 'csv') expect(out.split('\r\n').length).toBe(doc.cells.length + 2);
    });
  }

  it('keeps every text line within 78 columns of plain ASCII', async () => {
    const text = await renderReport(doc, {
      format: 'text',
      resultsPath: '/a/rather/long/path/to/sweeps/2026-01-02/caches-invalid/results.jsonl',
    });
    for (const line of text.split('\n')) {
      expect(line.length, line).toBeLessThanOrEqual(78);
      expect(line, line).toMatch(/^[\x20-\x7e]*$/);
    }
  });
});

describe('escaping in the HTML report', () => {
  it('never emits a plugin-supplied tag, only its escaped text', async () => {
    const html = await renderReport(everyOutcomeDocument(), { format: 'html' });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;');
  });

  it('has no script, no external stylesheet, font or image, and a CSP that forbids loads', async () => {
    const html = await renderReport(everyOutcomeDocument(), { format: 'html' });
    expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|@import|@font-face/i);
    // Only the SVG namespace declarations mention a URL; nothing is fetched from one.
    const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    expect([...new Set(urls)].sort()).toEqual(['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
    expect(html).not.toMatch(/\b(?:href|src)\s*=\s*["'](?!#)/i);
    expect(html).not.toMatch(/url\((?!#)/i);
    expect(html).toContain(`content="default-src 'none';`);
  });

  it('renders the hostile strategy name as escaped text in the verdict table header', async () => {
    const html = await renderReport(everyOutcomeDocument(), { format: 'html' });
    expect(html).toContain(
      `<th scope="col" title="strategy set ${HOSTILE_STRATEGY.replace(/</g, '&lt;').replace(/>/g, '&gt;')}">&lt;img src=x onerror=alert(1)&gt;</th>`,
    );
  });
});

describe('renderReport input handling', () => {
  it('refuses an unknown format by name', async () => {
    await expect(renderReport(smallDocument(), { format: 'pdf' as ReportFormat })).rejects.toThrow(
      /unknown report format 'pdf'/,
    );
  });

  it('renders an empty document in every format, saying it has no cells', async () => {
    const doc = smallDocument();
    const empty: ResultsDocument = { meta: doc.meta, cells: [] };
    const expected: Readonly<Record<ReportFormat, string>> = {
      text: 'tlblab report: 0 cells',
      md: '0 cells, 0 incorrect',
      csv: 'id,index,strategy',
      json: '"cells": 0',
      html: '0 cells, <strong>0 incorrect</strong>',
    };
    for (const format of REPORT_FORMATS) {
      expect(await renderReport(empty, { format })).toContain(expected[format]);
    }
  });
});
