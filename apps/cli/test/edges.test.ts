/**
 * Issue 15, "The edges": each failure listed under "Bad input and faults" as a test. Most run
 * `main` in this process (fast); the pipe case runs the real bin as a child.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Io, main } from '../src/index.js';
import { tempOf } from '../src/output-file.js';
import {
  BIN,
  FIXTURES,
  PLUGINS,
  REPO,
  runMain,
  scratchDir,
  TINY_SWEEP,
  withoutCreatedAt,
} from './helpers.js';

const FAULTS = join(FIXTURES, 'faults.ts');
const scratch = scratchDir('edges');
const at = (name: string) => join(scratch.dir, name);
const sweep = (out: string, extra: string[] = []) => [...TINY_SWEEP, ...extra, '--out', out];
const cli = (args: string[]) => runMain(args, scratch.dir, false);

beforeAll(async () => {
  expect((await cli(sweep(at('good.jsonl')))).code).toBe(0);
}, 120_000);
afterAll(() => scratch.cleanup());

/** The one-line exit-2 contract of bad input. */
function refused(r: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe('output paths: exit 2 naming the flag and the path, before any work', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'a missing folder',
      () => sweep('/no/such/dir/x.jsonl'),
      /--out "\/no\/such\/dir\/x\.jsonl": the folder \/no\/such\/dir does not exist/,
    ],
    ['an empty path', () => sweep(''), /--out "": empty path/],
    ['a folder', () => sweep(scratch.dir), /--out ".*": is a folder, not a file/],
    ['a file as the folder', () => sweep(at('good.jsonl/x')), /--out ".*good\.jsonl\/x": .* is not a folder/],
    [
      'merge into a missing folder',
      () => ['merge', at('good.jsonl'), '--out', '/no/such/m.jsonl'],
      /--out "\/no\/such\/m\.jsonl": the folder/,
    ],
    [
      'merge into a folder',
      () => ['merge', at('good.jsonl'), '--out', scratch.dir],
      /--out ".*": is a folder/,
    ],
    [
      'a trace into a missing folder',
      () => ['replay', at('good.jsonl'), '--plugin', PLUGINS, '--cell', 'x', '--trace', '/no/such/t.txt'],
      /--trace "\/no\/such\/t\.txt": the folder/,
    ],
    [
      'new --dir under /proc',
      () => ['new', 'strategy', 'x', '--dir', '/proc/x'],
      /--dir "\/proc\/x": cannot create it/,
    ],
    [
      'new --dir in a missing folder',
      () => ['new', 'strategy', 'x', '--dir', '/no/such/x'],
      /--dir "\/no\/such\/x": the folder \/no\/such does not exist/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    refused(await cli(args()), message);
  });

  it('merge --out <folder> leaves no temp file beside it', async () => {
    const d = at('merge-into');
    mkdirSync(d);
    refused(await cli(['merge', at('good.jsonl'), '--out', d]), /is a folder/);
    expect(readdirSync(scratch.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a read-only folder', async () => {
    const d = at('ro');
    mkdirSync(d);
    chmodSync(d, 0o555);
    refused(
      await cli(sweep(join(d, 'x.jsonl'))),
      /--out ".*x\.jsonl": cannot create files in .*: permission denied/,
    );
  });
});

describe('writes go through the path the user named', () => {
  it('/dev/null stays a device (compare and merge)', async () => {
    expect((await cli(sweep('/dev/null'))).code).toBe(0);
    expect((await cli(['merge', at('good.jsonl'), '--out', '/dev/null'])).code).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('a symbolic link stays a link; its target gets the document, not a journal', async () => {
    const target = at('target.jsonl');
    const link = at('link.jsonl');
    symlinkSync(target, link);
    expect((await cli(sweep(link))).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(withoutCreatedAt(readFileSync(target, 'utf8'))).toBe(
      withoutCreatedAt(readFileSync(at('good.jsonl'), 'utf8')),
    );
  });

  it('--resume removes the temp file a run killed inside its final write left', async () => {
    const out = at('resume-temp.jsonl');
    writeFileSync(out, readFileSync(at('good.jsonl')));
    // A pid that cannot be alive (above the kernel's pid_max).
    const stale = tempOf(out, 4_194_305);
    writeFileSync(stale, 'half a document');
    expect((await cli(sweep(out, ['--resume']))).code).toBe(0);
    expect(existsSync(stale)).toBe(false);
  });
});

describe('incomplete and duplicated documents', () => {
  beforeAll(() => {
    const good = readFileSync(at('good.jsonl'), 'utf8').trimEnd().split('\n');
    writeFileSync(at('meta-only.jsonl'), `${good[0]}\n`);
    writeFileSync(at('short.jsonl'), `${good.slice(0, 2).join('\n')}\n`);
    writeFileSync(at('dup.jsonl'), `${[...good, good[1]].join('\n')}\n`);
  });
  it.each([
    ['meta-only.jsonl', /holds 0 of 2 cells/],
    ['short.jsonl', /holds 1 of 2 cells/],
    ['dup.jsonl', /holds a cell twice/],
  ])('replay refuses %s without --partial', async (file, message) => {
    refused(await cli(['replay', at(file), '--plugin', PLUGINS, '--cell', 'x']), message);
  });
  it('report refuses an incomplete document', async () => {
    refused(await cli(['report', at('short.jsonl')]), /holds 1 of 2 cells: .*--partial/);
  });
  it('replay --partial replays and says so', async () => {
    const args = ['compare', '--plugin', PLUGINS, '-s', 'throws', '-c', 'tiny-map', '-m', 'caches-invalid'];
    const full = at('throws.jsonl');
    expect((await cli([...args, '--harts', '1,2', '--seeds', '2', '--jobs', '1', '--out', full])).code).toBe(
      0,
    );
    const [meta, , h2] = readFileSync(full, 'utf8').trimEnd().split('\n');
    writeFileSync(at('throws-short.jsonl'), `${meta}\n${h2}\n`);
    const id = 'throws|tiny-map|caches-invalid|sv39|h2';
    refused(
      await cli(['replay', at('throws-short.jsonl'), '--plugin', PLUGINS, '--cell', id]),
      /holds 1 of 2 cells/,
    );
    const r = await cli(['replay', at('throws-short.jsonl'), '--partial', '--plugin', PLUGINS, '--cell', id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: partial results: .*holds 1 of 2 cells \(--partial\)\nreplayed /);
  }, 120_000);
  it('--resume refuses a journal holding a cell twice', async () => {
    const out = at('dup-resume.jsonl');
    writeFileSync(out, readFileSync(at('dup.jsonl')));
    refused(await cli(sweep(out, ['--resume'])), /--resume: .* holds cell \d+ '.*' twice/);
  });
});

describe('flags: bounds, keys and messages', () => {
  const run = (...extra: string[]) => [
    'run',
    '--plugin',
    PLUGINS,
    '-s',
    'flush-all',
    '-c',
    'tiny-map',
    '-m',
    'emulator',
    ...extra,
  ];
  const cases: [string, () => string[], RegExp][] = [
    [
      '--param __proto__.x',
      () => run('--param', '__proto__.x=1'),
      /--param __proto__\.x=1: the key '__proto__' is not allowed/,
    ],
    ['--param constructor', () => run('--param', 'constructor=1'), /the key 'constructor' is not allowed/],
    [
      '--param with a __proto__ value',
      () => run('--param', 'pages={"__proto__":{"x":1}}'),
      /the key '__proto__' is not allowed/,
    ],
    [
      'compare --param __proto__.x',
      () => sweep(at('p.jsonl'), ['--param', '__proto__.x=1']),
      /the key '__proto__' is not allowed/,
    ],
    [
      '--param nope lists the parameters',
      () => run('--param', 'nope=1'),
      /Unrecognized key.*parameters of 'tiny-map': pages; see tlblab describe scenario tiny-map/,
    ],
    [
      '--shard with a huge count',
      () => sweep(at('s.jsonl'), ['--shard', '1/99999999999999999999']),
      /--shard 1\/99999999999999999999: the shard count must be from 1 to 1000000/,
    ],
    [
      '--seeds past 2^64',
      () => run('--seeds', '99999999999999999999'),
      /--seeds 99999999999999999999: must be from 1 to 4294967296/,
    ],
    [
      '--seeds beyond the runs limit',
      () => run('--seeds', '100000000'),
      /100000000 seeds x 1 cell = 100000000 runs is above the limit of 10000000 \(raise it with --limit runs=100000000\)/,
    ],
    [
      '--jobs 1024',
      () => sweep(at('j.jsonl'), ['--jobs', '1024']),
      /--jobs 1024: above the limit of \d+ worker threads .*--limit jobs=1024/,
    ],
    [
      '--harts above the limit',
      () => run('--harts', '512'),
      /--harts 512: above the limit of 256 harts \(raise it with --limit harts=512\)/,
    ],
    [
      '--cell-timeout 0',
      () => run('--cell-timeout', '0'),
      /--cell-timeout 0: must be from 0\.001 to 2147483/,
    ],
    [
      '--cell-timeout 1e7',
      () => run('--cell-timeout', '1e7'),
      /--cell-timeout 1e7: must be from 0\.001 to 2147483/,
    ],
    ['--cell-timeout 0x10', () => run('--cell-timeout', '0x10'), /--cell-timeout 0x10: not a number/],
    ['an unknown limit', () => run('--limit', 'run=1'), /unknown limit 'run' — did you mean 'runs'\?/],
    [
      'a limit above its ceiling',
      () => run('--limit', 'harts=5000'),
      /--limit harts=5000: the value must be from 1 to 1024/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    refused(await cli(args()), message);
  });

  it.each(['2.01', '4.03', '30'])(
    '--cell-timeout %s runs the cell (no "delay out of range")',
    async (t) => {
      const r = await cli(run('--seeds', '1', '--cell-timeout', t, '--json'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).verdict).toBe('correct');
    },
    60_000,
  );
});

describe('plugin code stays on workers', () => {
  it('a scenario whose build() exits fails its cell; the sweep and this process go on', async () => {
    const out = at('exits.jsonl');
    const r = await cli([
      'compare',
      '--plugin',
      PLUGINS,
      '--plugin',
      FAULTS,
      '-s',
      'flush-all',
      '-c',
      'exits-in-build,tiny-map',
      '-m',
      'emulator',
      '--harts',
      '1',
      '--seeds',
      '1',
      '--jobs',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const doc = parseResultsDocument(readFileSync(out, 'utf8'));
    expect(doc.cells.map((c) => [c.scenario, c.verdict])).toEqual([
      ['exits-in-build', 'incorrect'],
      ['tiny-map', 'correct'],
    ]);
    expect(doc.cells[0]!.firstFailure?.failure?.message).toMatch(/worker failed|cell failed/);
  }, 120_000);

  it('a scenario that exhausts memory fails its cell under the heap cap', async () => {
    const out = at('hogs.jsonl');
    const r = await cli([
      '--limit',
      'memory=96',
      'compare',
      '--plugin',
      PLUGINS,
      '--plugin',
      FAULTS,
      '-s',
      'flush-all',
      '-c',
      'hogs-memory,tiny-map',
      '-m',
      'emulator',
      '--harts',
      '1',
      '--seeds',
      '1',
      '--jobs',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const doc = parseResultsDocument(readFileSync(out, 'utf8'));
    expect(doc.cells[0]!.firstFailure?.failure?.message).toMatch(/out of memory.*--limit memory=MB/);
    expect(doc.cells[1]!.verdict).toBe('correct');
  }, 180_000);

  it.each([
    [
      'never settles',
      'await new Promise(() => {});\nexport default {};\n',
      /did not finish within 3 s .*--limit import=SECONDS/,
    ],
    ['loops', 'for (;;) {}\n', /did not finish within 3 s/],
    ['exits', 'process.exit(3);\n', /loading the config and plugins: worker failed/],
    ['rejects', "throw new Error('boom at import');\n", /failed to load: boom at import/],
  ])(
    'a config whose import %s is contained',
    async (_name, text, message) => {
      const file = at(`import-${_name.replace(/ /g, '-')}.config.mjs`);
      writeFileSync(file, text);
      refused(await cli(['--limit', 'import=3', 'list', 'strategies', '--config', file]), message);
    },
    60_000,
  );

  it('run: a slot that calls process.exit(0) is a failed cell, not an empty exit 0', async () => {
    const r = await cli([
      'run',
      '--plugin',
      PLUGINS,
      '--plugin',
      FAULTS,
      '-s',
      'exits-in-slot',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--seeds',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout) as { verdict: string; outcomes: Record<string, number> };
    expect(record.verdict).toBe('incorrect');
    expect(record.outcomes).toEqual({ 'strategy-error': 1 });
  }, 60_000);
});

describe('batches of cells on one worker (issue 13)', () => {
  it('a worker that dies fails only the cell it ran; the rest of its batch runs on a fresh worker', async () => {
    // 28 cells on one worker, largest hart count first: flush-all then exits-in-slot on the 7
    // machines at 2 harts, then the same at 1 hart. The guided batches are 7, 5, 4, ... cells; the
    // third is [exits-in-slot x2, flush-all x2] at the 2-to-1-hart seam: its exits-in-slot cells
    // end their workers with flush-all cells of the batch still to run, which must come back correct.
    const out = at('batch-exit.jsonl');
    const r = await cli([
      'compare',
      '--plugin',
      PLUGINS,
      '--plugin',
      FAULTS,
      '-s',
      'flush-all,exits-in-slot',
      '-c',
      'tiny-map',
      '-m',
      'all',
      '--harts',
      '1,2',
      '--seeds',
      '1',
      '--jobs',
      '1',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseResultsDocument(readFileSync(out, 'utf8'));
    expect(doc.cells).toHaveLength(28);
    for (const c of doc.cells) {
      if (c.strategy.includes('exits-in-slot')) {
        expect(c.outcomes, c.id).toEqual({ 'strategy-error': 1 });
        expect(c.firstFailure?.failure?.message, c.id).toMatch(/worker failed: .*exited/);
      } else {
        expect(c.verdict, c.id).toBe('correct');
      }
    }
  }, 240_000);
});

describe('cross-cell state is a plugin fault', () => {
  const sweepWith = (strategy: string, out: string) => [
    'compare',
    '--plugin',
    PLUGINS,
    '--plugin',
    FAULTS,
    '-s',
    `${strategy},flush-all`,
    '-c',
    'tiny-map',
    '-m',
    'caches-invalid',
    '--harts',
    '2',
    '--seeds',
    '2',
    '--jobs',
    '1',
    '--out',
    out,
  ];
  it('a slot that patches Array.prototype.sort fails its own cell and is undone for the next', async () => {
    const out = at('patch.jsonl');
    expect((await cli(sweepWith('patches-sort', out))).code).toBe(0);
    const doc = parseResultsDocument(readFileSync(out, 'utf8'));
    expect(doc.cells[0]!.firstFailure?.failure?.message).toMatch(
      /^cell failed: plugin fault: the cell replaced Array\.prototype\.sort/,
    );
    expect(doc.cells[1]!.verdict).toBe('correct');
    expect(Array.prototype.sort.name).toBe('sort');
  }, 120_000);
  it('a module-level counter is caught by re-running the first seed', async () => {
    const out = at('counter.jsonl');
    expect((await cli(sweepWith('counts', out))).code).toBe(0);
    const doc = parseResultsDocument(readFileSync(out, 'utf8'));
    expect(doc.cells[0]!.firstFailure?.failure?.message).toMatch(
      /plugin fault: seed 0 gave a different run after the cell/,
    );
    expect(doc.cells[1]!.verdict).toBe('correct');
  }, 120_000);
});

describe('the terminal', () => {
  it('strips control characters from plugin strings in list', async () => {
    const r = await cli(['list', 'strategies', '--plugin', FAULTS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/clear screen/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the test
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('FORCE_COLOR colours a pipe; NO_COLOR alone does not', async () => {
    const capture = async (env: NodeJS.ProcessEnv) => {
      let stdout = '';
      const io: Io = {
        stdout: {
          write: (s: string) => {
            stdout += s;
            return true;
          },
        } as unknown as Io['stdout'],
        stderr: { write: () => true } as unknown as Io['stderr'],
        cwd: scratch.dir,
        env,
      };
      await main(run1(), io, { builtins: false });
      return stdout;
    };
    const run1 = () => [
      'run',
      '--plugin',
      PLUGINS,
      '-s',
      'flush-all',
      '-c',
      'tiny-map',
      '-m',
      'emulator',
      '--seeds',
      '1',
    ];
    expect(await capture({ FORCE_COLOR: '1' })).toContain('\u001b[32mcorrect\u001b[39m');
    expect(await capture({ NO_COLOR: '1' })).not.toContain('\u001b[');
    expect(await capture({ FORCE_COLOR: '0' })).not.toContain('\u001b[');
  }, 60_000);

  it('a closed pipe ends the command quietly', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', BIN, 'completion', 'bash'],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // The reader goes away after the first chunk, as `| head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(code).toBe(0);
  }, 60_000);
});

describe('describe and completion', () => {
  it('describe scenario shows parameters, defaults and bounds', async () => {
    const r = await cli(['describe', 'scenario', 'tiny-map', '--plugin', PLUGINS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pages\s+integer\s+default 2\s+1\.\.16/);
  });
  it('describe strategy lists members and slots', async () => {
    const r = await cli(['describe', 'strategy', 'flush-all', '--plugin', PLUGINS]);
    expect(r.stdout).toMatch(/slots\s+flushCacheVmap, flushTlbKernelRange/);
  });
  it('describe machine prints its fields', async () => {
    const r = await cli(['describe', 'machine', 'emulator']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tlb\.entries = \d+/);
  });
  it.each(['bash', 'zsh', 'fish'])('completion %s names every command', async (shell) => {
    const r = await cli(['completion', shell]);
    expect(r.code).toBe(0);
    for (const c of ['list', 'run', 'compare', 'merge', 'report', 'replay', 'new', 'describe', 'completion'])
      expect(r.stdout).toContain(c);
  });
  it('completion refuses an unknown shell', async () => {
    refused(await cli(['completion', 'tcsh']), /unknown shell 'tcsh'/);
  });
});
