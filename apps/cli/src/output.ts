/**
 * Terminal output conventions (architecture.md, "Command line"): results on stdout, diagnostics
 * and progress on stderr, colour only on a terminal and never when NO_COLOR is set
 * (https://no-color.org: present and not empty).
 */
import type { TraceEvent } from '@tlblab/core';

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export function colorEnabled(io: Io, stream: 'stdout' | 'stderr'): boolean {
  const noColor = io.env.NO_COLOR;
  return io[stream].isTTY === true && (noColor === undefined || noColor === '');
}

export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (s: string) =>
    enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    bold: wrap(1, 22),
    dim: wrap(2, 22),
  };
}

export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** One trace event as a text line: `step  hart  cycle  kind  text`. */
export function traceLine(e: TraceEvent): string {
  return `${String(e.step).padStart(7)}  h${String(e.hart).padEnd(3)} ${String(e.cycle).padStart(9)}  ${e.kind.padEnd(10)} ${e.text}`;
}

/** A trace as JSON Lines (`.jsonl`/`.json` files) or text (anything else). */
export function formatTrace(events: readonly TraceEvent[], file: string): string {
  if (/\.jsonl?$/i.test(file))
    return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
  const header = `${'step'.padStart(7)}  hart ${'cycle'.padStart(9)}  ${'kind'.padEnd(10)} event\n`;
  return header + events.map(traceLine).join('\n') + (events.length ? '\n' : '');
}
