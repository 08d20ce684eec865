/**
 * A parser for ftrace's text output (`/sys/kernel/tracing/trace`, kernel/trace/trace_output.c):
 * the header (`# entries-in-buffer/entries-written: N/M   #P:C`), then one record per line in the
 * default layout `TASK-PID [CPU] FLAGS TIMESTAMP: BODY`, where BODY is an event (`name: fields`),
 * a trace marker (`tracing_mark_write: text`) or a function-tracer call (`func <-caller`).
 *
 * It knows nothing about the model: it turns text into records and refuses what is not ftrace
 * text, naming the file and line (`TraceParseError`).
 */

/** Bad input: a line that is not ftrace text, a bad timestamp, a cut file. */
export class TraceParseError extends Error {
  override name = 'TraceParseError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

interface RecordBase {
  /** 1-based line number in the file. */
  readonly line: number;
  /** The task's comm as ftrace printed it (`kworker/0:1`, `<idle>`). */
  readonly comm: string;
  readonly pid: number;
  readonly cpu: number;
  /** The irqs-off / need-resched / hardirq / preempt flags column (`d....`), or '' when absent. */
  readonly flags: string;
  /** Timestamp in nanoseconds since boot (ftrace prints seconds with 6 or 9 decimals). */
  readonly ns: number;
}

export interface EventRecord extends RecordBase {
  readonly type: 'event';
  /** Event name (`alloc_vmap_area`). */
  readonly name: string;
  /** The event's printed fields after `name: `. */
  readonly text: string;
}

export interface FunctionRecord extends RecordBase {
  readonly type: 'function';
  readonly name: string;
  /** The caller the function tracer printed after `<-` (`__set_memory`). */
  readonly caller: string;
}

export interface MarkerRecord extends RecordBase {
  readonly type: 'marker';
  readonly text: string;
}

export type TraceRecord = EventRecord | FunctionRecord | MarkerRecord;

export interface ParsedTrace {
  readonly file: string;
  readonly records: readonly TraceRecord[];
  /** `#P:` of the header: CPUs the buffer had (0 when there was no header). */
  readonly cpus: number;
  /** `entries-in-buffer/entries-written` of the header, when present. */
  readonly entriesInBuffer: number | null;
  readonly entriesWritten: number | null;
  /** Events the ring buffer lost (`entries-written - entries-in-buffer`, plus `[LOST N EVENTS]` lines). */
  readonly lostEvents: number;
}

// `TASK-PID` may contain spaces and dashes in the comm; the pid is the last `-digits` before the CPU.
// An optional `(TGID)` column appears with the record-tgid option.
const RECORD =
  /^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:([A-Za-z.][A-Za-z.0-9]{3,4})\s+)?(\S+):\s(.*)$/;
const TIMESTAMP = /^(\d+)\.(\d{6}|\d{9})$/;
const FUNCTION = /^([A-Za-z_][\w.]*)\s+<-(\S+)$/;
const EVENT = /^([a-z_][a-z0-9_]*):(?:\s(.*))?$/;
const HEADER_ENTRIES = /^#\s*entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)\s+#P:(\d+)/;
const LOST = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/;
const BUFFER_STARTED = /^##### CPU \d+ buffer started ####$/;

/** Parse a timestamp (`12.345678`) into nanoseconds, or null when it is not one. */
export function parseTimestamp(s: string): number | null {
  const m = TIMESTAMP.exec(s);
  if (!m) return null;
  const sec = Number(m[1]);
  const frac = m[2]!.length === 6 ? Number(m[2]) * 1000 : Number(m[2]);
  const ns = sec * 1e9 + frac;
  return Number.isSafeInteger(ns) ? ns : null;
}

/**
 * Parse a whole ftrace text log. Throws `TraceParseError` on the first line that is not a header,
 * a record or a lost-events note; on a timestamp that is not `seconds.micro(nano)seconds` or that
 * goes backwards on its CPU (the ring buffer is per CPU and time-ordered); and on a cut file (no
 * final newline, or fewer records than the header's `entries-in-buffer`).
 */
export function parseTrace(text: string, file = '<trace>'): ParsedTrace {
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== undefined && last !== '')
    throw new TraceParseError(file, lines.length + 1, 'truncated: the last line has no newline (cut file?)');
  const records: TraceRecord[] = [];
  const lastNs = new Map<number, number>();
  let cpus = 0;
  let inBuffer: number | null = null;
  let written: number | null = null;
  let lostLines = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const n = i + 1;
    if (raw.startsWith('#')) {
      const h = HEADER_ENTRIES.exec(raw);
      if (h) {
        inBuffer = Number(h[1]);
        written = Number(h[2]);
        cpus = Number(h[3]);
      }
      if (BUFFER_STARTED.test(raw)) continue;
      continue;
    }
    if (raw.trim() === '') continue;
    const lost = LOST.exec(raw.trim());
    if (lost) {
      lostLines += Number(lost[2]);
      continue;
    }
    const m = RECORD.exec(raw);
    if (!m) throw new TraceParseError(file, n, `not an ftrace record: '${clip(raw)}'`);
    const ns = parseTimestamp(m[5]!);
    if (ns === null)
      throw new TraceParseError(file, n, `bad timestamp '${m[5]}' (want seconds.microseconds)`);
    const cpu = Number(m[3]);
    const prev = lastNs.get(cpu);
    if (prev !== undefined && ns < prev)
      throw new TraceParseError(
        file,
        n,
        `bad timestamp ${m[5]}: goes back in time on CPU ${cpu} (previous ${(prev / 1e9).toFixed(6)})`,
      );
    lastNs.set(cpu, ns);
    const base = { line: n, comm: m[1]!, pid: Number(m[2]), cpu, flags: m[4] ?? '', ns };
    const body = m[6]!;
    const f = FUNCTION.exec(body);
    if (f) {
      records.push({ ...base, type: 'function', name: f[1]!, caller: f[2]! });
      continue;
    }
    const e = EVENT.exec(body);
    if (!e) throw new TraceParseError(file, n, `neither an event nor a function call: '${clip(body)}'`);
    if (e[1] === 'tracing_mark_write') records.push({ ...base, type: 'marker', text: (e[2] ?? '').trim() });
    else records.push({ ...base, type: 'event', name: e[1]!, text: e[2] ?? '' });
  }
  if (inBuffer !== null && records.length < inBuffer)
    throw new TraceParseError(
      file,
      lines.length,
      `truncated: the header says ${inBuffer} entries in the buffer, the file holds ${records.length}`,
    );
  const lostEvents = (written !== null && inBuffer !== null ? written - inBuffer : 0) + lostLines;
  return { file, records, cpus, entriesInBuffer: inBuffer, entriesWritten: written, lostEvents };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The `key=value` (and `key: value`) pairs of an event's fields. `alloc_vmap_area` prints
 * `va_start: <decimal>`, the others `key=value`.
 */
export function fieldsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([A-Za-z_][\w]*)(?:=|: )(\S*)/g)) out.set(m[1]!, m[2]!);
  return out;
}
