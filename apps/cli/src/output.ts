/**
 * Terminal output conventions (architecture.md, "Command line"): results on stdout, diagnostics
 * and progress on stderr, colour only on a terminal and never when NO_COLOR is set
 * (https://no-color.org: present and not empty), always when FORCE_COLOR is set to anything but
 * `0`/`false` (the convention of Node, chalk and supports-color). Colour codes come from Node's
 * `util.styleText`, not hand-written escapes.
 *
 * Strings from plugins and results files reach the terminal through `clean()`: no escape sequence
 * (ESC[2J, OSC 8 links), no BEL, no C1 control, no bidirectional override can act on the terminal.
 */
import { stripVTControlCharacters, styleText } from 'node:util';
import type { TraceEvent } from '@tlblab/core';

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export function colorEnabled(io: Io, stream: 'stdout' | 'stderr'): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  const noColor = io.env.NO_COLOR;
  return io[stream].isTTY === true && (noColor === undefined || noColor === '');
}

// C0 controls but tab/newline, DEL, C1 controls, and the Unicode bidi overrides/isolates
// (CVE-2021-42574, "Trojan Source") that reorder what the terminal shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A string bound for the terminal, made inert: escape sequences removed whole (CSI, OSC), then
 * every remaining control character; a newline or tab becomes a space so one field stays one line.
 */
export function clean(s: string): string {
  return stripVTControlCharacters(s)
    .replace(/[\n\t]/g, ' ')
    .replace(CONTROL, '');
}

/** Like `clean` but keeps newlines (multi-line text such as a trace or a report). */
export function cleanLines(s: string): string {
  return stripVTControlCharacters(s).replace(/\t/g, ' ').replace(CONTROL, '');
}

export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export function paint(enabled: boolean): Paint {
  // The decision is ours (the Io's stream, NO_COLOR, FORCE_COLOR), so styleText must not second-guess
  // it against process.stdout.
  const wrap = (format: 'red' | 'green' | 'yellow' | 'bold' | 'dim') => (s: string) =>
    enabled ? styleText(format, s, { validateStream: false }) : s;
  return {
    red: wrap('red'),
    green: wrap('green'),
    yellow: wrap('yellow'),
    bold: wrap('bold'),
    dim: wrap('dim'),
  };
}

export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** One trace event as a text line: `step  hart  cycle  kind  text`. */
export function traceLine(e: TraceEvent): string {
  return `${String(e.step).padStart(7)}  h${String(e.hart).padEnd(3)} ${String(e.cycle).padStart(9)}  ${clean(e.kind).padEnd(10)} ${clean(e.text)}`;
}

/** A trace as JSON Lines (`.jsonl`/`.json` files) or text (anything else). */
export function formatTrace(events: readonly TraceEvent[], file: string): string {
  if (/\.jsonl?$/i.test(file))
    return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
  const header = `${'step'.padStart(7)}  hart ${'cycle'.padStart(9)}  ${'kind'.padEnd(10)} event\n`;
  return header + events.map(traceLine).join('\n') + (events.length ? '\n' : '');
}
