/**
 * The command-line contract (architecture.md, "Command line") with the built-in strategies and
 * scenarios, run as a child process like `pnpm tlblab`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { colorEnabled, paint } from '../src/output.js';
import { TOOL_VERSION } from '../src/version.js';
import { runCli, scratchDir } from './helpers.js';

const scratch = scratchDir('cli');
const at = (name: string) => join(scratch.dir, name);
afterAll(() => scratch.cleanup());

describe('tlblab', () => {
  it.concurrent('prints its version', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${TOOL_VERSION}\n`, stderr: '' });
  }, 60_000);

  it.concurrent.each([
    'list',
    'run',
    'compare',
    'merge',
    'report',
    'diff',
    'replay',
    'new',
    'describe',
    'completion',
    'slurm',
    'import-trace',
  ])(
    'has --help on %s',
    async (cmd) => {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: tlblab ${cmd}`));
      expect(r.stderr).toBe('');
    },
    60_000,
  );

  it.concurrent('lists strategies, the linux-* sets, scenarios and machines as one JSON document each', async () => {
    const [s, c, m] = await Promise.all(
      ['strategies', 'scenarios', 'machines'].map((w) => runCli(['list', w, '--json'])),
    );
    const strategies = JSON.parse(s!.stdout) as {
      strategies: { name: string }[];
      sets: { name: string; members: string[] }[];
    };
    expect(strategies.strategies.map((x) => x.name)).toEqual([
      'baseline',
      'sv32-vmalloc-fault',
      'notrace-fault',
      'flush-cache-vmap',
      'ranged-flush',
      'early-sfence',
    ]);
    expect(strategies.sets.map((x) => [x.name, x.members.join('+')])).toEqual([
      ['linux-6.4', 'baseline+sv32-vmalloc-fault'],
      ['linux-6.5', 'baseline+sv32-vmalloc-fault+flush-cache-vmap'],
      ['linux-6.7', 'baseline+sv32-vmalloc-fault+ranged-flush'],
      ['linux-6.12', 'baseline+sv32-vmalloc-fault+ranged-flush+early-sfence'],
    ]);
    expect((JSON.parse(c!.stdout) as { scenarios: { id: string }[] }).scenarios.map((x) => x.id)).toContain(
      'cross-hart-vmalloc',
    );
    expect((JSON.parse(m!.stdout) as { machines: { name: string }[] }).machines.map((x) => x.name)).toContain(
      'caches-invalid',
    );
  }, 60_000);

  it.concurrent('runs one cell: --json prints the cell record alone, --trace writes the failing seed', async () => {
    const r = await runCli(
      [
        'run',
        '-s',
        'baseline',
        '-c',
        'cross-hart-vmalloc',
        '-m',
        'caches-invalid',
        '--seeds',
        '5',
        '--json',
        '--trace',
        at('trace.jsonl'),
      ],
      { cwd: scratch.dir },
    );
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout) as {
      id: string;
      verdict: string;
      firstFailure: { seed: number; outcome: string };
    };
    expect(record.id).toBe('baseline|cross-hart-vmalloc|caches-invalid|sv39|h2');
    expect(record.verdict).toBe('incorrect');
    const trace = readFileSync(at('trace.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; text: string });
    expect(trace.at(-1)!.kind).toBe('outcome');
    expect(trace.at(-1)!.text).toMatch(new RegExp(record.firstFailure.outcome.replace(':', '.')));
  }, 180_000);

  it.concurrent('exits 1 on an incorrect verdict only with --fail-on incorrect', async () => {
    const args = ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--seeds', '2'];
    const [plain, failing, fine] = await Promise.all([
      runCli(args),
      runCli([...args, '--fail-on', 'incorrect']),
      runCli([
        'run',
        '-s',
        'early-sfence',
        '-c',
        'cross-hart-vmalloc',
        '--seeds',
        '2',
        '--fail-on',
        'incorrect',
      ]),
    ]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/verdict\s+incorrect/);
    expect(failing.code).toBe(1);
    expect(fine.code).toBe(0);
    expect(fine.stdout).toMatch(/verdict\s+correct/);
  }, 60_000);

  it.concurrent('calls a cell that only ran out of steps inconclusive: exit 3 with --fail-on incorrect, a larger budget suggested', async () => {
    const args = ['-c', 'cross-hart-vmalloc', '--harts', '2', '--seeds', '2', '--kernel', 'stepLimit=20'];
    const [overrun, json, real] = await Promise.all([
      runCli(['run', '-s', 'early-sfence', ...args, '--fail-on', 'incorrect']),
      runCli(
        [
          'compare',
          '-s',
          'early-sfence',
          '-m',
          'caches-invalid',
          ...args,
          '--json',
          '--out',
          at('overrun.jsonl'),
        ],
        {
          cwd: scratch.dir,
        },
      ),
      // A real failure before the budget: still incorrect, exit 1.
      runCli([
        'run',
        '-s',
        'baseline',
        '-c',
        'cross-hart-vmalloc',
        '--seeds',
        '2',
        '--kernel',
        'stepLimit=100000',
        '--fail-on',
        'incorrect',
      ]),
    ]);
    expect(overrun.code).toBe(3);
    expect(overrun.stdout).toMatch(/verdict\s+inconclusive/);
    expect(overrun.stdout).toMatch(/^outcomes {2}step-limit 2$/m);
    expect(overrun.stdout).toContain('no strategy is blamed for running out of steps');
    expect(overrun.stdout).toContain('--kernel stepLimit=80');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      incorrect: [],
      inconclusive: ['early-sfence|cross-hart-vmalloc|caches-invalid|sv39|h2'],
    });
    expect(real.code).toBe(1);
    expect(real.stdout).toMatch(/verdict\s+incorrect/);
  }, 120_000);

  it.concurrent('compares, reports and replays a failing cell exactly', async () => {
    const out = at('cmp.jsonl');
    const c = await runCli(
      [
        'compare',
        '-s',
        'baseline,linux-6.12',
        '-c',
        'cross-hart-vmalloc',
        '-m',
        'caches-invalid',
        '--harts',
        '2',
        '--seeds',
        '3',
        '--json',
        '--out',
        out,
      ],
      { cwd: scratch.dir },
    );
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({
      cells: 2,
      incorrect: ['baseline|cross-hart-vmalloc|caches-invalid|sv39|h2'],
    });
    const report = await runCli(['report', out, '--format', 'text']);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/cross-hart-vmalloc/);
    const html = await runCli(['report', out, '--format', 'html', '--out', at('r.html')]);
    expect(html.code).toBe(0);
    expect(readFileSync(at('r.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    const replay = await runCli([
      'replay',
      out,
      '--cell',
      'baseline|cross-hart-vmalloc|caches-invalid|sv39|h2',
      '--trace',
      at('replay.txt'),
    ]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/seed \d+: panic:spurious-fault as recorded/);
    expect(readFileSync(at('replay.txt'), 'utf8')).toMatch(/spurious/);
  }, 120_000);

  it.concurrent('scaffolds a plugin package', async () => {
    const r = await runCli(['new', 'scenario', 'my-story'], { cwd: scratch.dir });
    expect(r.code).toBe(0);
    for (const f of [
      'package.json',
      'tsconfig.json',
      'tsup.config.ts',
      'vitest.config.ts',
      'README.md',
      'src/index.ts',
      'src/index.test.ts',
    ]) {
      expect(existsSync(join(scratch.dir, 'scenario-my-story', f)), f).toBe(true);
    }
    const again = await runCli(['new', 'scenario', 'my-story'], { cwd: scratch.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  }, 60_000);
});

describe('colour', () => {
  const tty = { isTTY: true, write: () => true } as unknown as NodeJS.WriteStream;
  it('is used on a terminal and never when NO_COLOR is set or output is piped', () => {
    const io = (env: NodeJS.ProcessEnv, isTTY: boolean) =>
      ({ stdout: isTTY ? tty : { write: () => true }, stderr: tty, cwd: '.', env }) as never;
    expect(colorEnabled(io({}, true), 'stdout')).toBe(true);
    expect(colorEnabled(io({ NO_COLOR: '1' }, true), 'stdout')).toBe(false);
    expect(colorEnabled(io({}, false), 'stdout')).toBe(false);
    expect(paint(false).red('x')).toBe('x');
    expect(paint(true).red('x')).toBe('\u001b[31mx\u001b[39m');
  });
});
