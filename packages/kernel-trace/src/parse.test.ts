import { describe, expect, it } from 'vitest';
import { classify } from './events.js';
import { parseTimestamp, parseTrace, TraceParseError } from './parse.js';
import { importTrace } from './workload.js';

// Hand-made logs in the layout of kernel/trace/trace_output.c (the shape `pnpm capture` writes).
const HEADER = (n: number, written = n) =>
  [
    '# tracer: function',
    '#',
    `# entries-in-buffer/entries-written: ${n}/${written}   #P:2`,
    '#',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ].join('\n');

const BODY = [
  '     kworker/0:1-10      [000] .....     1.000100: alloc_vmap_area: va_start: 18383693678926364672 size=20480 align=32768 vstart=0xff20000000000000 vend=0xff60000000000000 failed=0',
  '            init-1       [001] .....     1.000150: sched_process_exec: filename=/init pid=1 old_pid=1',
  '     kworker/0:1-10      [000] .....     1.000200: vmap_pages_range <-__vmalloc_node_range_noprof',
  '     kworker/0:1-10      [000] .....     1.000300: sched_process_fork: comm=kworker/0:1 pid=10 child_comm=kworker/0:1 child_pid=57',
  '  kworker/u8:2 x-57      [001] d....     1.000400: ipi_send_cpu: cpu=0 callsite=ttwu_queue_wakelist+0x120/0x134 callback=generic_smp_call_function_single_interrupt+0x0/0x22',
  '            init-1       [001] .....     1.000500: tracing_mark_write: tlblab-phase: boot end',
  '        modprobe-90      [000] .....     1.000600: flush_tlb_all <-__set_memory',
  '     kworker/0:0-9       [000] .n...     1.000700: purge_vmap_area_lazy: start=0xff2000000005d000 end=0xffffffff01e74000 num_purged=49',
];

const log = (lines: readonly string[], header = HEADER(lines.length)) => `${header}\n${lines.join('\n')}\n`;

function parseError(text: string): TraceParseError {
  try {
    parseTrace(text, 'broken.txt');
  } catch (e) {
    if (e instanceof TraceParseError) return e;
    throw e;
  }
  throw new Error('expected a TraceParseError');
}

describe('parseTrace on a well-formed log', () => {
  it('reads records, markers and function calls with their task, CPU and time, CPUs interleaved', () => {
    const t = parseTrace(log(BODY), 'ok.txt');
    expect(t.records).toHaveLength(BODY.length);
    expect(t.cpus).toBe(2);
    expect(t.records.map((r) => r.cpu)).toEqual([0, 1, 0, 0, 1, 1, 0, 0]);
    const fn = t.records[2]!;
    expect(fn).toMatchObject({
      type: 'function',
      name: 'vmap_pages_range',
      caller: '__vmalloc_node_range_noprof',
    });
    expect(fn).toMatchObject({ comm: 'kworker/0:1', pid: 10, ns: 1_000_200_000, line: 9 });
    // A comm with a space and a dash still splits at the last -PID.
    expect(t.records[4]).toMatchObject({ comm: 'kworker/u8:2 x', pid: 57, flags: 'd....' });
    expect(t.records[5]).toMatchObject({ type: 'marker', text: 'tlblab-phase: boot end' });
  });

  it('pairs an allocation with its mapping and a stack-shaped one with the fork that follows', () => {
    const events = classify(parseTrace(log(BODY), 'ok.txt'));
    const map = events.find((e) => e.kind === 'map');
    expect(map).toMatchObject({ map: 'stack', pages: 4, child: 57, va: '0xff20000000000000' });
    expect(events.find((e) => e.kind === 'fork')).toMatchObject({ stack: 'new', child: 57 });
    expect(events.find((e) => e.kind === 'purge')).toMatchObject({ purged: 49 });
  });

  it('takes nanosecond timestamps and rejects others', () => {
    expect(parseTimestamp('2.000000001')).toBe(2_000_000_001);
    expect(parseTimestamp('2.5')).toBeNull();
    expect(parseTimestamp('2.00000x')).toBeNull();
  });

  it('counts what the ring buffer lost', () => {
    const t = parseTrace(
      log([...BODY.slice(0, 2), 'CPU:1 [LOST 7 EVENTS]', ...BODY.slice(2)], HEADER(8, 10)),
    );
    expect(t.lostEvents).toBe(9);
  });
});

describe('parseTrace on broken logs (file:line)', () => {
  it('a bad timestamp', () => {
    const lines = [...BODY];
    lines[3] = lines[3]!.replace('1.000300:', '1.0003:');
    const e = parseError(log(lines));
    expect(e.message).toBe("broken.txt:10: bad timestamp '1.0003' (want seconds.microseconds)");
  });

  it('a timestamp that goes back in time on its CPU', () => {
    const lines = [...BODY];
    lines[6] = lines[6]!.replace('1.000600:', '0.999999:');
    expect(parseError(log(lines)).message).toMatch(
      /^broken\.txt:13: bad timestamp 0\.999999: goes back in time on CPU 0/,
    );
  });

  it('a line cut in the middle', () => {
    const lines = [...BODY];
    lines[4] = '  kworker/u8:2 x-57      [001] d....     1.00';
    expect(parseError(log(lines)).message).toMatch(/^broken\.txt:11: not an ftrace record/);
  });

  it('a file cut before its end (no final newline, or fewer entries than the header)', () => {
    const cut = log(BODY).slice(0, -30);
    expect(parseError(cut).message).toMatch(/^broken\.txt:14: truncated: the last line has no newline/);
    const short = log(BODY.slice(0, 5), HEADER(8));
    expect(parseError(short).message).toMatch(
      /truncated: the header says 8 entries in the buffer, the file holds 5/,
    );
  });

  it('a known event with a field that does not parse', () => {
    const lines = [...BODY];
    lines[7] = lines[7]!.replace('num_purged=49', 'num_purged=lots');
    expect(() => importTrace(log(lines), 'broken.txt')).toThrow(
      "broken.txt:14: event field 'num_purged' missing or not a number (got 'lots')",
    );
  });

  it('an event the importer does not know is kept, counted and reported, not dropped', () => {
    const lines = [
      ...BODY,
      '     kworker/0:0-9       [000] .....     1.000800: mm_page_alloc: page=0x1 pfn=0x2 order=0',
      '     kworker/0:0-9       [000] .....     1.000900: mm_page_alloc: page=0x3 pfn=0x4 order=0',
      '     kworker/0:0-9       [000] .....     1.001000: kmem_cache_alloc <-alloc_vmap_area',
    ];
    const w = importTrace(log(lines), 'unknown.txt');
    expect(w.unknown).toEqual({ mm_page_alloc: 2, kmem_cache_alloc: 1 });
    const kept = w.events.filter((e) => e.kind === 'unknown');
    expect(kept.map((e) => e.line)).toEqual([15, 16, 17]);
  });
});
