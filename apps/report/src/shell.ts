/**
 * POSIX shell quoting for the replay commands a report prints. Cell ids contain `|`, which a
 * shell would read as a pipe, so anything beyond a safe set is single-quoted.
 */
const SAFE = /^[A-Za-z0-9_./,:=@%+-]+$/;

export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Lay out `tlblab replay <file> --cell <id>` within `width` columns, continuing lines with a
 * backslash. A word too long for any line is cut into separately quoted pieces on continuation
 * lines that start in column 0: a shell joins `'abc'\<newline>'def'` into one word only when
 * nothing (not even indentation) follows the line break.
 */
export function wrapCommand(words: readonly string[], width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  const contIndent = `${indent}  `;
  for (const [i, raw] of words.entries()) {
    const quoted = shellQuote(raw);
    const sep = line.trim() === '' ? '' : ' ';
    // Keep room for the trailing ` \` unless this is the last word.
    const room = width - (i === words.length - 1 ? 0 : 2);
    if ((line + sep + quoted).length <= room) {
      line += sep + quoted;
      continue;
    }
    if (line.trim() !== '') {
      lines.push(`${line} \\`);
      line = contIndent;
    }
    if ((line + quoted).length <= room) {
      line += quoted;
      continue;
    }
    // Cut the raw word into pieces that fit once quoted; the first piece stays on this line.
    let rest = raw;
    let first = true;
    while (rest.length > 0) {
      const lead = first ? line : '';
      let take = rest.length;
      while (take > 1 && (lead + shellQuote(rest.slice(0, take))).length > width - 1) take--;
      const piece = shellQuote(rest.slice(0, take));
      rest = rest.slice(take);
      if (rest.length > 0) lines.push(`${lead}${piece}\\`);
      else line = `${lead}${piece}`;
      first = false;
    }
  }
  lines.push(line);
  return lines;
}
