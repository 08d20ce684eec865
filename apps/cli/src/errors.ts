/**
 * Errors the command line reports as one line with exit code 2 (architecture.md, "Command line":
 * "2 for bad input (with a one-line message naming the bad flag or field, never a stack trace)").
 */
import { closest, distance } from 'fastest-levenshtein';
import { clean } from './output.js';

/** Bad input: a flag, a name, a file or a config. Printed as one line; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The close match for a mistyped name, if one is close enough to be a plausible typo: at most a
 * third of the name's length in edits (at least 1, at most 3), like git's "did you mean".
 */
export function closeMatch(name: string, candidates: Iterable<string>): string | null {
  const list = [...candidates];
  if (list.length === 0 || name.length === 0) return null;
  const best = closest(name, list);
  const d = distance(name, best);
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return d <= limit ? best : null;
}

/** `unknown strategy 'early-sfense' — did you mean 'early-sfence'?` (or the list of known names). */
export function unknownName(kind: string, name: string, candidates: Iterable<string>): UsageError {
  const list = [...candidates];
  const match = closeMatch(name, list);
  if (match !== null)
    return new UsageError(`unknown ${kind} '${clean(name)}' — did you mean '${clean(match)}'?`);
  const known = list.length <= 12 ? list.join(', ') : `${list.slice(0, 12).join(', ')}, ...`;
  return new UsageError(`unknown ${kind} '${clean(name)}' (known: ${clean(known) || 'none'})`);
}

/**
 * An error's message as one line (multi-line messages from libraries would break "one line"),
 * stripped of control characters (a plugin's message must not drive the terminal).
 */
export function oneLine(e: unknown): string {
  let text: string;
  try {
    text = e instanceof Error ? String(e.message) : String(e);
  } catch {
    // A thrown value whose toString throws (or a revoked proxy).
    text = 'a value that cannot be printed';
  }
  return clean(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' '),
  );
}
