/**
 * Issue 15, "A generated bad-input suite": fast-check generates command lines from the classes of
 * bad input the issue lists (output paths, numeric flags, parameter keys, limits, names with control
 * characters, mangled results documents) and every one must be *handled*:
 *
 * - it ends (no hang) with exit 0, 1 or 2;
 * - exit 2 prints exactly one line on stderr, `tlblab: ...`, no stack trace, no "internal error",
 *   nothing on stdout;
 * - nothing it prints carries a control character but newline;
 * - it leaves no partial output: a refused command creates no `--out` file and no temp file.
 *
 * Every case runs `main` in this process; `--limit runs=64` keeps an accidentally valid sweep small,
 * so the suite's cost is in the refusals, which is what it tests. The figure is printed.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGINS, runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('generated');
const at = (name: string) => join(scratch.dir, name);
const RUNS = Number(process.env.TLBLAB_GENERATED_RUNS ?? 1_100);
/** A case that has not ended after this long is counted as a hang (a bound, not a timing assertion). */
const HANG_MS = 120_000;

const base = ['--limit', 'runs=64', '--limit', 'import=60', '--plugin', PLUGINS];

beforeAll(async () => {
  const r = await runMain(
    [
      ...base,
      'compare',
      '-s',
      'flush-all,throws',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--harts',
      '1,2',
      '--seeds',
      '2',
      '--jobs',
      '1',
      '--out',
      at('good.jsonl'),
    ],
    scratch.dir,
    false,
  );
  expect(r.code).toBe(0);
}, 120_000);
afterAll(() => scratch.cleanup());

// ---- generators ---------------------------------------------------------------------------------

const control = fc.constantFrom(
  '\u001b[2J',
  '\u0007',
  '\u001b]8;;http://x\u0007',
  '\u009b31m',
  '\u202e',
  '\r',
  '\t',
  '\u0000',
);
const nasty = fc
  .tuple(fc.string({ maxLength: 12 }), fc.option(control, { nil: '' }), fc.string({ maxLength: 6 }))
  .map(([a, c, b]) => `${a}${c}${b}`);

const numberText = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom(
    '',
    ' ',
    '1e12',
    '0x10',
    '1.5',
    '-0',
    '+3',
    'NaN',
    'Infinity',
    '１２',
    '2.01',
    '4.03',
    '0.0015',
    '3e6',
    '1e7',
    '9'.repeat(40),
  ),
  nasty,
);

const outPath = fc.oneof(
  fc.constantFrom(
    '',
    '/no/such/dir/x.jsonl',
    '/proc/x.jsonl',
    '/proc',
    '/',
    '.',
    '..',
    'good.jsonl/x',
    `${'x'.repeat(300)}.jsonl`,
    `${'d/'.repeat(50)}x.jsonl`,
    '/dev/full',
  ),
  nasty.map((s) => `${s}/x.jsonl`),
);

const paramKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'pages',
    'nope',
    '',
    '.',
    'tiny-map.__proto__',
    'tiny-map.constructor.x',
  ),
  nasty,
);
const paramValue = fc.oneof(
  fc.json(),
  fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '1e999', '-1', '17', 'null'),
  nasty,
);

const flagCase = fc.oneof(
  numberText.map((v) => ['run', '-s', 'flush-all', '-c', 'tiny-map', '-m', 'emulator', '--seeds', v]),
  numberText.map((v) => [
    'run',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    '--seed',
    v,
    '--harts',
    '1',
  ]),
  numberText.map((v) => [
    'run',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    '--harts',
    v,
    '--seeds',
    '1',
  ]),
  numberText.map((v) => [
    'run',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    '--cell-timeout',
    v,
    '--seeds',
    '1',
    '--harts',
    '1',
  ]),
  numberText.map((v) => [
    'compare',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    '--jobs',
    v,
    '--seeds',
    '1',
    '--harts',
    '1',
    '--out',
    'x.jsonl',
  ]),
  fc
    .tuple(numberText, numberText)
    .map(([i, n]) => [
      'compare',
      '-s',
      'flush-all',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--shard',
      `${i}/${n}`,
      '--seeds',
      '1',
      '--harts',
      '1',
      '--out',
      'x.jsonl',
    ]),
  numberText.map((v) => [
    'compare',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '--harts',
    v,
    '--seeds',
    '1',
    '--out',
    'x.jsonl',
  ]),
  fc
    .tuple(fc.constantFrom('runs', 'harts', 'jobs', 'memory', 'import', 'rams', ''), numberText)
    .map(([k, v]) => ['--limit', `${k}=${v}`, 'list', 'machines']),
);

const paramCase = fc.oneof(
  fc
    .tuple(paramKey, paramValue)
    .map(([k, v]) => [
      'run',
      '-s',
      'flush-all',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--seeds',
      '1',
      '--harts',
      '1',
      '--param',
      `${k}=${v}`,
    ]),
  fc
    .tuple(paramKey, paramValue)
    .map(([k, v]) => [
      'compare',
      '-s',
      'flush-all',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--seeds',
      '1',
      '--harts',
      '1',
      '--param',
      `${k}=${v}`,
      '--out',
      'x.jsonl',
    ]),
);

const pathCase = fc.oneof(
  outPath.map((p) => [
    'compare',
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    '--seeds',
    '1',
    '--harts',
    '1',
    '--out',
    p,
  ]),
  outPath.map((p) => ['merge', 'good.jsonl', '--out', p]),
  outPath.map((p) => ['replay', 'good.jsonl', '--cell', 'throws|tiny-map|emulator|sv39|h1', '--trace', p]),
  outPath.map((p) => ['new', 'strategy', 'x', '--dir', p]),
);

const nameCase = fc.oneof(
  nasty.map((n) => ['run', '-s', n, '-c', 'tiny-map', '-m', 'emulator']),
  nasty.map((n) => ['run', '-s', 'flush-all', '-c', n]),
  nasty.map((n) => ['run', '-s', 'flush-all', '-c', 'tiny-map', '-m', n]),
  nasty.map((n) => ['describe', 'scenario', n]),
  nasty.map((n) => ['list', n]),
  nasty.map((n) => ['completion', n]),
  nasty.map((n) => [n]),
  nasty.map((n) => ['replay', 'good.jsonl', '--cell', n]),
);

/** A mangled copy of the good document: cut, lines dropped or repeated, bytes changed. */
const docCase = fc
  .tuple(
    fc.constantFrom('cut', 'drop', 'dup', 'byte', 'meta-only', 'empty', 'control'),
    fc.nat(),
    fc.nat(),
    fc.constantFrom('report', 'replay', 'merge', 'resume'),
    fc.boolean(),
  )
  .map(([how, a, b, cmd, partial]) => ({ how, a, b, cmd, partial }));

function mangle(good: string, c: { how: string; a: number; b: number }): string {
  const lines = good.trimEnd().split('\n');
  switch (c.how) {
    case 'cut':
      return good.slice(0, c.a % good.length);
    case 'drop':
      return `${lines.filter((_, i) => i === 0 || i !== 1 + (c.a % (lines.length - 1))).join('\n')}\n`;
    case 'dup':
      return `${[...lines, lines[1 + (c.a % (lines.length - 1))]].join('\n')}\n`;
    case 'byte': {
      const i = c.a % good.length;
      return good.slice(0, i) + String.fromCharCode(32 + (c.b % 95)) + good.slice(i + 1);
    }
    case 'meta-only':
      return `${lines[0]}\n`;
    case 'empty':
      return '';
    default: {
      // A control sequence inside a string of the document (a cell id or a message).
      return good.replace('"flush-all"', '"flush-all\\u001b[2J\\u0007"');
    }
  }
}

// ---- the oracle ---------------------------------------------------------------------------------

interface Tally {
  total: number;
  handled: number;
  stackTraces: number;
  hangs: number;
  partialOutputs: number;
  controlChars: number;
  failures: string[];
}
const tally: Tally = {
  total: 0,
  handled: 0,
  stackTraces: 0,
  hangs: 0,
  partialOutputs: 0,
  controlChars: 0,
  failures: [],
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never be printed
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function tempsIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /\.tlblab-\d+\.tmp$/.test(n));
  } catch {
    return [];
  }
}

async function check(args: string[], out: string | null): Promise<void> {
  tally.total++;
  const existed = out !== null && existsSync(out);
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    runMain([...base, ...args], scratch.dir, false),
    new Promise<null>((r) => {
      timer = setTimeout(() => r(null), HANG_MS);
    }),
  ]);
  clearTimeout(timer);
  const problems: string[] = [];
  if (result === null) {
    tally.hangs++;
    problems.push('hang');
  } else {
    const { code, stdout, stderr } = result;
    if (code !== 0 && code !== 1 && code !== 2) problems.push(`exit ${code}`);
    if (/\n\s+at |internal error/.test(stderr)) {
      tally.stackTraces++;
      problems.push('stack trace or internal error');
    }
    if (code === 2) {
      if (stdout !== '') problems.push('stdout on exit 2');
      if (!/^tlblab: [^\n]+\n$/.test(stderr))
        problems.push(`not one line: ${JSON.stringify(stderr.slice(0, 200))}`);
      if (out !== null && !existed && existsSync(out)) {
        tally.partialOutputs++;
        problems.push(`partial output ${out}`);
      }
    }
    if (tempsIn(scratch.dir).length > 0) {
      tally.partialOutputs++;
      problems.push(`temp left: ${tempsIn(scratch.dir).join(', ')}`);
    }
    if (
      CONTROL.test(stderr.replace(/\n/g, '')) ||
      (args[0] !== 'completion' && CONTROL.test(stdout.replace(/\n/g, '')))
    ) {
      tally.controlChars++;
      problems.push('control character printed');
    }
  }
  if (problems.length === 0) tally.handled++;
  else tally.failures.push(`${JSON.stringify(args)}: ${problems.join('; ')}`);
}

function outOf(args: readonly string[]): string | null {
  const i = args.indexOf('--out');
  if (i < 0 || args[i + 1] === undefined || args[i + 1] === '-' || args[i + 1] === '') return null;
  const p = args[i + 1]!;
  return p.startsWith('/') ? p : join(scratch.dir, p);
}

describe('generated bad input', () => {
  it(`handles ${RUNS} generated cases: no stack trace, no hang, no partial output`, async () => {
    const good = readFileSync(at('good.jsonl'), 'utf8');
    let n = 0;
    const argv = fc.oneof(
      { weight: 3, arbitrary: flagCase },
      { weight: 2, arbitrary: paramCase },
      { weight: 2, arbitrary: pathCase },
      { weight: 2, arbitrary: nameCase },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: argv.map((a) => ({ a })) },
          { weight: 1, arbitrary: docCase.map((d) => ({ d })) },
        ),
        async (c) => {
          if ('a' in c) {
            await check(c.a, outOf(c.a));
          } else {
            const file = `doc-${n++}.jsonl`;
            writeFileSync(at(file), mangle(good, c.d));
            const partial = c.d.partial ? ['--partial'] : [];
            const args =
              c.d.cmd === 'report'
                ? ['report', file, ...partial]
                : c.d.cmd === 'replay'
                  ? ['replay', file, '--cell', 'throws|tiny-map|emulator|sv39|h1', ...partial]
                  : c.d.cmd === 'merge'
                    ? ['merge', file, '--out', '-']
                    : [
                        'compare',
                        '-s',
                        'flush-all,throws',
                        '-c',
                        'tiny-map',
                        '-m',
                        'emulator',
                        '--harts',
                        '1,2',
                        '--seeds',
                        '2',
                        '--jobs',
                        '1',
                        '--resume',
                        '--out',
                        file,
                      ];
            await check(args, null);
          }
          return true;
        },
      ),
      // A fixed seed: the same cases on every run (determinism of the suite itself).
      { numRuns: RUNS, seed: 15, endOnFailure: false },
    );
    console.log(
      `generated bad input: ${tally.handled} handled / ${tally.total} total; ${tally.stackTraces} stack traces, ${tally.hangs} hangs, ${tally.partialOutputs} partial outputs, ${tally.controlChars} control characters printed`,
    );
    for (const f of tally.failures.slice(0, 20)) console.log(`  not handled: ${f}`);
    expect(tally.total).toBe(RUNS);
    expect(tally.failures).toEqual([]);
  }, 3_600_000);
});
