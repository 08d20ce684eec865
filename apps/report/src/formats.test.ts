import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { everyOutcomeDocument, smallDocument } from '../test/fixtures.js';
import { csvField, exportCsv } from './csv.js';
import { exportJson } from './json.js';
import { textTable, toAscii, wrap } from './layout.js';
import { exportMarkdown, mdEscape } from './markdown.js';
import { buildReportModel } from './model.js';
import { shellQuote, wrapCommand } from './shell.js';

/** Split an RFC 4180 document into records of fields (a small reference parser). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}

describe('csv', () => {
  it('quotes fields with commas, quotes or line breaks, doubling the quotes', () => {
    expect(csvField('a, "b"\nc')).toBe('"a, ""b""\nc"');
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
  });

  it('round-trips every cell id through an RFC 4180 parser, one row per cell', () => {
    const doc = everyOutcomeDocument();
    const rows = parseCsv(exportCsv(buildReportModel(doc)));
    expect(rows[0]!.slice(0, 2)).toEqual(['record', 'id']);
    const cells = rows.filter((r) => r[0] === 'cell');
    expect(cells.map((r) => r[1])).toEqual(doc.cells.map((c) => c.id));
    // The scorecard comes first: one row per strategy set and mode.
    const score = rows.slice(1, rows.length - cells.length);
    expect(score.length).toBeGreaterThan(0);
    expect(score.every((r) => r[0] === 'scorecard')).toBe(true);
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
  });

  it('has a mean, p50, p99 and max column for every metric', () => {
    const header = parseCsv(exportCsv(buildReportModel(smallDocument())))[0]!;
    for (const m of ['ipisSent', 'mappingLatency', 'refillMisses', 'sfenceVaAsid']) {
      for (const s of ['mean', 'p50', 'p99', 'max']) expect(header).toContain(`${m}.${s}`);
    }
  });
});

describe('json', () => {
  it('is the same bytes for the same document and parses back to the summary', () => {
    const a = exportJson(buildReportModel(smallDocument()));
    expect(exportJson(buildReportModel(smallDocument()))).toBe(a);
    const parsed = JSON.parse(a) as { kind: string; matrices: unknown[]; failureClasses: unknown[] };
    expect(parsed.kind).toBe('tlblab-report');
    expect(parsed.failureClasses).toHaveLength(4);
  });
});

describe('markdown', () => {
  it('escapes characters that would open a tag, a cell or emphasis', () => {
    expect(mdEscape('<img src=x>|*a*_b_')).toBe('\\<img src=x\\>\\|\\*a\\*\\_b\\_');
  });

  it('keeps every table row with as many cells as its header', () => {
    const md = exportMarkdown(buildReportModel(everyOutcomeDocument()));
    const cellsIn = (line: string) => line.replace(/\\\|/g, '').split('|').length;
    let width = 0;
    for (const line of md.split('\n')) {
      if (!line.startsWith('|')) {
        width = 0;
        continue;
      }
      if (width === 0) width = cellsIn(line);
      expect(cellsIn(line), line).toBe(width);
    }
  });
});

describe('text layout', () => {
  it('transliterates typography and replaces anything else outside ASCII', () => {
    expect(toAscii('a \u2014 b \u2192 c \u00d7 d \u4e2d\n')).toBe('a -- b -> c x d ? ');
  });

  it('wraps prose to the width and cuts words longer than a line', () => {
    const lines = wrap(`short ${'x'.repeat(100)} words`, 30, '  ');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(30);
    expect(lines.join('').replace(/\s/g, '')).toBe(`short${'x'.repeat(100)}words`);
  });

  it('splits a wide table into column groups that repeat the key column', () => {
    const values = Array.from({ length: 8 }, (_, i) => ({ header: `column-${i}`, align: 'right' as const }));
    const lines = textTable(
      [{ header: 'key', align: 'left' }],
      values,
      [['k', ...values.map(() => '123456789012')]],
      40,
    );
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(lines.filter((l) => l.startsWith('key')).length).toBeGreaterThan(1);
  });
});

describe('replay commands', () => {
  /** What a POSIX shell makes of the command lines: the argument vector. */
  function argv(lines: string[]): string[] {
    const script = `set -- ${lines.join('\n').replace(/^ *tlblab /, '')}\nprintf '%s\\n' "$@"`;
    return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trimEnd().split('\n');
  }

  it('quotes a cell id so the shell passes | and quotes through unchanged', () => {
    expect(shellQuote('a|b')).toBe("'a|b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('results.jsonl')).toBe('results.jsonl');
  });

  it('stays within the width and gives the shell back the exact arguments, even for a very long id', () => {
    const id = `early-sfence|${'a-very-long-scenario-id-'.repeat(5)}|caches-invalid|sv39|h2`;
    const lines = wrapCommand(['tlblab', 'replay', "it's results.jsonl", '--cell', id], 78, '     ');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(78);
    expect(argv(lines)).toEqual(['replay', "it's results.jsonl", '--cell', id]);
  });
});
