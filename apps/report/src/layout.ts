/**
 * Plain-text layout for the mailing-list report: ASCII only, at most 78 columns, whatever the
 * plugins named themselves. Tables too wide for one block are split into column groups that
 * repeat the key columns, like a printed spreadsheet.
 */

export const TEXT_WIDTH = 78;

const REPLACEMENTS: Readonly<Record<string, string>> = {
  '\u2014': '--',
  '\u2013': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u2212': '-',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u2026': '...',
  '\u2192': '->',
  '\u2190': '<-',
  '\u00d7': 'x',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u00a0': ' ',
  '\u00b5': 'u',
};

/** Plain printable ASCII on one line: known typography transliterated, anything else `?`. */
export function toAscii(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f) out += ch;
    else if (ch === '\t' || ch === '\n' || ch === '\r') out += ' ';
    else out += REPLACEMENTS[ch] ?? (code < 0x20 || code === 0x7f ? '' : '?');
  }
  return out;
}

/** Word-wrap `text` to `width` columns; words longer than a line are cut. */
export function wrap(text: string, width: number = TEXT_WIDTH, indent = '', firstIndent = indent): string[] {
  const words = toAscii(text)
    .split(' ')
    .filter((w) => w !== '');
  const lines: string[] = [];
  let line = firstIndent;
  let lineHasWord = false;
  const push = () => {
    lines.push(line.replace(/\s+$/, ''));
    line = indent;
    lineHasWord = false;
  };
  for (let word of words) {
    const sep = lineHasWord ? ' ' : '';
    if ((line + sep + word).length <= width) {
      line += sep + word;
      lineHasWord = true;
      continue;
    }
    if (lineHasWord) push();
    while ((line + word).length > width) {
      const room = Math.max(1, width - line.length);
      line += word.slice(0, room);
      word = word.slice(room);
      push();
    }
    if (word !== '') {
      line += word;
      lineHasWord = true;
    }
  }
  if (lineHasWord || lines.length === 0) lines.push(line.replace(/\s+$/, ''));
  return lines;
}

/** Cut to `width` columns, marking the cut with `~`. */
export function truncate(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}~`;
}

export interface TextColumn {
  readonly header: string;
  readonly align: 'left' | 'right';
}

const GAP = '  ';

function pad(s: string, width: number, align: 'left' | 'right'): string {
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/**
 * Render a table with `keys` columns repeated in every group and `values` columns packed into as
 * few groups as fit in `maxWidth`; the key columns together take at most `keyBudget`. Cells must already be ASCII; a value column wider than a whole
 * line on its own is truncated rather than allowed to overflow.
 */
export function textTable(
  keys: readonly TextColumn[],
  values: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  maxWidth: number = TEXT_WIDTH,
  keyBudget: number = Math.floor(maxWidth * 0.55),
): string[] {
  const all = [...keys, ...values];
  const widths = all.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Key columns repeat in every group, so together they may take at most `keyBudget` columns:
  // shrink the widest until they fit (cells are then cut with `~`).
  const keyTotal = () => keys.reduce((s, _, i) => s + widths[i]! + GAP.length, 0);
  while (keys.length > 0 && keyTotal() > keyBudget) {
    let widest = 0;
    for (let i = 1; i < keys.length; i++) if (widths[i]! > widths[widest]!) widest = i;
    if (widths[widest]! <= 4) break;
    widths[widest] = widths[widest]! - 1;
  }
  const keyWidth = keys.reduce((s, _, i) => s + widths[i]! + GAP.length, 0);
  const groups: number[][] = [];
  let current: number[] = [];
  let used = keyWidth;
  for (let j = keys.length; j < all.length; j++) {
    const room = maxWidth - keyWidth;
    if (widths[j]! > room) widths[j] = Math.max(1, room);
    const w = widths[j]! + (current.length > 0 ? GAP.length : 0);
    if (current.length > 0 && used + w > maxWidth) {
      groups.push(current);
      current = [];
      used = keyWidth;
    }
    used += widths[j]! + (current.length > 0 ? GAP.length : 0);
    current.push(j);
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  const lines: string[] = [];
  for (const [g, group] of groups.entries()) {
    if (g > 0) lines.push('');
    const cols = [...keys.map((_, i) => i), ...group];
    const fmt = (cells: readonly string[]) =>
      cols
        .map((i) => pad(truncate(cells[i] ?? '', widths[i]!), widths[i]!, all[i]!.align))
        .join(GAP)
        .replace(/\s+$/, '');
    lines.push(fmt(all.map((c) => c.header)));
    lines.push(
      cols
        .map((i) => '-'.repeat(widths[i]!))
        .join(GAP)
        .replace(/\s+$/, ''),
    );
    for (const r of rows) lines.push(fmt(r));
  }
  return lines;
}

/**
 * A number for a table, with the same precision everywhere: `-` when absent, whole numbers as they
 * are, other values to three significant digits (`4.50`, `215`, `0.0123`), and whole from 1000 up.
 */
export function formatNumber(x: number | null): string {
  if (x === null || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) >= 1000) return String(Math.round(x));
  const p = x.toPrecision(3);
  return p.includes('e') ? String(Number(p)) : p;
}
