import { createHash } from 'node:crypto';
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
        'timeout',
        'no-oops',
      ]) {
        if (format === 'csv') continue;
        expect(out, kind).toContain(kind);
      }
      if (format === 'csv')
        expect(out.split('\r\n').filter((l) => l.startsWith('cell,')).length).toBe(doc.cells.length);
    });
  }

  it('keeps every text line within 78 columns of plain ASCII, digest and full', async () => {
    for (const full of [false, true]) {
      const text = await renderReport(doc, {
        format: 'text',
        full,
        resultsPath: '/a/rather/long/path/to/sweeps/2026-01-02/caches-invalid/results.jsonl',
      });
      for (const line of text.split('\n')) {
        expect(line.length, line).toBeLessThanOrEqual(78);
        expect(line, line).toMatch(/^[\x20-\x7e]*$/);
      }
    }
  });
});

/** A payload per string field: each names its field, so a leak says where it came from. */
const payload = (field: string) =>
  `<img src=x onerror=alert('${field}')></script><script>alert('${field}')</script>`;

/** The small document with every string a plugin or a results file supplies made hostile. */
function hostileEverywhere(): ResultsDocument {
  const doc = smallDocument();
  const strategies = Object.fromEntries(
    Object.entries(doc.meta.strategies).map(([id, st]) => [
      id,
      {
        ...st,
        title: payload('set.title'),
        kernel: { release: payload('kernel.release'), modes: ['sv39'] },
        members: st.members.map((m) => ({
          ...m,
          title: payload('member.title'),
          description: payload('member.description'),
          source: { commit: payload('source.commit'), note: payload('source.note') },
          options: { x: payload('options') },
        })),
      },
    ]),
  );
  const scenarios = Object.fromEntries(
    Object.entries(doc.meta.scenarios).map(([id, sc]) => [
      id,
      {
        ...sc,
        title: payload('scenario.title'),
        story: payload('scenario.story'),
        source: payload('scenario.source'),
      },
    ]),
  );
  const machines = Object.fromEntries(
    Object.entries(doc.meta.machines).map(([name, m]) => [
      name,
      {
        ...m,
        description: payload('machine.description'),
        evidence: payload('machine.evidence'),
        extra: payload('machine.setting'),
      },
    ]),
  );
  const cells = doc.cells.map((c) =>
    c.firstFailure
      ? {
          ...c,
          firstFailure: {
            ...c.firstFailure,
            failure: c.firstFailure.failure
              ? {
                  ...c.firstFailure.failure,
                  message: payload('failure.message'),
                  cause: payload('failure.cause'),
                  stval: payload('failure.stval'),
                }
              : null,
            trace: (c.firstFailure.trace ?? []).map((e) => ({ ...e, text: payload('trace.text') })),
          },
        }
      : c,
  );
  return {
    meta: {
      ...doc.meta,
      tool: { name: payload('tool.name'), version: payload('tool.version') },
      createdAt: payload('createdAt'),
      kernel: { ...doc.meta.kernel, [payload('kernel.key')]: payload('kernel.value') },
      strategies,
      scenarios,
      machines,
    },
    cells,
  };
}

/** The page without its own two script elements (the data island and the hashed script). */
function withoutOwnScripts(html: string): string {
  return html
    .replace(/<script type="application\/json" id="tlb-data">[^<]*<\/script>/, '')
    .replace(/<script>\(function \(\) \{[\s\S]*?\}\)\(\);<\/script>/, '');
}

describe('escaping in the HTML report', () => {
  it('never emits a plugin-supplied tag from any string field, only its escaped text', async () => {
    for (const doc of [everyOutcomeDocument(), hostileEverywhere()]) {
      const html = await renderReport(doc, { format: 'html', resultsPath: payload('resultsPath') });
      const rest = withoutOwnScripts(html);
      expect(rest).not.toMatch(/<img|<script|<\/script|<b>bold<\/b>/i);
      // The data island cannot be closed early: no `<` survives inside it.
      const island = /<script type="application\/json" id="tlb-data">([^<]*)<\/script>/.exec(html);
      expect(island, 'the data island').not.toBeNull();
      expect(JSON.parse(island![1]!)).toBeTruthy();
      expect(html.match(/<script/g)).toHaveLength(2);
    }
    const html = await renderReport(hostileEverywhere(), {
      format: 'html',
      resultsPath: payload('resultsPath'),
    });
    for (const field of [
      'set.title',
      'kernel.release',
      'member.title',
      'member.description',
      'source.commit',
      'scenario.title',
      'scenario.story',
      'machine.description',
      'machine.evidence',
      'machine.setting',
      'failure.message',
      'tool.name',
      'tool.version',
      'createdAt',
      'kernel.key',
      'resultsPath',
    ]) {
      expect(html, field).toContain(`&lt;img src=x onerror=alert(&#39;${field}&#39;)&gt;`);
    }
  });

  it('keeps hostile strings inert in md (escaped) and csv (neutralised, no control characters)', async () => {
    const md = await renderReport(hostileEverywhere(), { format: 'md' });
    // Markdown escapes with a backslash: `\<img` renders as text, a bare `<img` would be a tag.
    expect(md).not.toMatch(/(?<!\\)<(?:img|script|\/script)/);
    expect(md).toContain("\\<img src=x onerror=alert('kernel.release')\\>");
    const doc = everyOutcomeDocument();
    const evil = {
      ...doc,
      cells: doc.cells.map((c, i) =>
        i === doc.cells.findIndex((x) => x.firstFailure?.failure) && c.firstFailure?.failure
          ? {
              ...c,
              firstFailure: {
                ...c.firstFailure,
                failure: { ...c.firstFailure.failure, message: '=HYPERLINK("http://x")\u001b[2J\u202e' },
              },
            }
          : c,
      ),
    };
    const csv = await renderReport(evil, { format: 'csv' });
    expect(csv).toContain(`"'=HYPERLINK(""http://x"")[2J"`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    expect(csv).not.toMatch(/[\u0000-\u0008\u001b\u202e]/);
  });

  it('admits only its own script, by hash, and loads nothing: no external stylesheet, font, image or frame', async () => {
    const html = await renderReport(everyOutcomeDocument(), { format: 'html' });
    expect(html).not.toMatch(/<link|<iframe|<object|<embed|@import|@font-face/i);
    const csp = /content="(default-src 'none';[^"]*)"/.exec(html)![1]!;
    const hash = /script-src 'sha256-([A-Za-z0-9+/=]+)'/.exec(csp)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(createHash('sha256').update(script, 'utf8').digest('base64')).toBe(hash);
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|connect-src|https?:/);
    expect(withoutOwnScripts(html)).not.toMatch(/\b(?:href|src)\s*=\s*["'](?!#)/i);
    expect(html).not.toMatch(/url\((?!#)/i);
  });

  it('renders the hostile strategy name as escaped text in the verdict table header', async () => {
    const html = await renderReport(everyOutcomeDocument(), { format: 'html' });
    expect(html).toContain(
      `title="strategy set ${HOSTILE_STRATEGY.replace(/</g, '&lt;').replace(/>/g, '&gt;')}">&lt;img src=x onerror=alert(1)&gt;</th>`,
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
