/**
 * Issue 6, "Bad input and faults": every mistake on the command line or in a config file exits 2
 * with one line on stderr naming the problem (and the close match), nothing on stdout, and no
 * stack trace unless --debug. Each case runs the real CLI as a child process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGINS, runCli, runMain, scratchDir, TINY_SWEEP } from './helpers.js';

const scratch = scratchDir('bad-input');
const at = (name: string) => join(scratch.dir, name);

beforeAll(async () => {
  const base = TINY_SWEEP;
  expect((await runMain([...base, '--out', at('good.jsonl')], scratch.dir, false)).code).toBe(0);
  expect(
    (await runMain([...base, '--shard', '1/2', '--out', at('shard1.jsonl')], scratch.dir, false)).code,
  ).toBe(0);
  const good = readFileSync(at('good.jsonl'), 'utf8');
  writeFileSync(at('malformed.jsonl'), 'this is not a results file\n');
  writeFileSync(at('truncated.jsonl'), good.slice(0, good.length - 40));
  writeFileSync(at('v2.jsonl'), good.replace('"schemaVersion":1', '"schemaVersion":2'));
  writeFileSync(at('throws.config.mjs'), "throw new Error('boom in config');\n");
  writeFileSync(at('shape.config.json'), JSON.stringify({ strategies: [1] }));
  writeFileSync(at('bad-plugin.mjs'), 'export default { hello: 1 };\n');
}, 120_000);
afterAll(() => scratch.cleanup());

const cases: [string, () => string[], RegExp][] = [
  [
    'unknown strategy',
    () => ['run', '-s', 'early-sfense', '-c', 'cross-hart-vmalloc'],
    /unknown strategy 'early-sfense' — did you mean 'early-sfence'\?/,
  ],
  [
    'unknown scenario',
    () => ['run', '-s', 'early-sfence', '-c', 'cross-hart-vmaloc'],
    /unknown scenario 'cross-hart-vmaloc' — did you mean 'cross-hart-vmalloc'\?/,
  ],
  [
    'unknown machine',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '-m', 'caches-invalyd'],
    /unknown machine 'caches-invalyd' — did you mean 'caches-invalid'\?/,
  ],
  [
    'unknown machine in a sweep',
    () => ['compare', '-m', 'emulater', '--out', at('x.jsonl')],
    /unknown machine 'emulater' — did you mean 'emulator'\?/,
  ],
  [
    'unknown flag',
    () => ['compare', '--jbos', '2', '--out', at('x.jsonl')],
    /unknown option '--jbos' — did you mean '--jobs'\?/,
  ],
  ['unknown command', () => ['compar'], /unknown command 'compar' — did you mean 'compare'\?/],
  [
    'unknown list kind',
    () => ['list', 'strateges'],
    /unknown list 'strateges' — did you mean 'strategies'\?/,
  ],
  [
    'unknown mode',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--mode', 'sv5'],
    /unknown mode 'sv5' — did you mean 'sv57'\?/,
  ],
  [
    '--harts 0 (run)',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--harts', '0'],
    /--harts 0: must be from 1 to 1024/,
  ],
  [
    '--harts 0 (compare)',
    () => ['compare', '--harts', '1,0', '--out', at('x.jsonl')],
    /--harts 0: must be from 1 to 1024/,
  ],
  [
    '--seeds not a number',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--seeds', 'many'],
    /--seeds many: not an integer/,
  ],
  [
    '--shard 3/2',
    () => ['compare', '--shard', '3/2', '--out', at('x.jsonl')],
    /--shard 3\/2: the shard index must be from 1 to 2/,
  ],
  ['--jobs 0', () => ['compare', '--jobs', '0', '--out', at('x.jsonl')], /--jobs 0: must be from 1 to 1024/],
  ['missing --out', () => ['compare'], /missing --out <file>/],
  [
    'too few harts for the scenario',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--harts', '1'],
    /needs at least 2 harts/,
  ],
  [
    'mode the scenario does not apply to',
    () => ['run', '-s', 'baseline', '-c', 'sv32-new-pgd'],
    /does not apply to sv39/,
  ],
  [
    '--param without a value',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--param', 'pages'],
    /--param pages: expected key=value/,
  ],
  [
    '--kernel with an unknown key',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--kernel', 'lazyMax=0'],
    /--kernel lazyMax=0: kernel: unknown setting 'lazyMax' \(valid: mode, .*lazyMaxPages.*\)/,
  ],
  [
    '--kernel with a bad value',
    () => ['compare', '--kernel', 'setMemoryFlush=carrier', '--out', at('x.jsonl')],
    /--kernel setMemoryFlush=carrier: kernel: setMemoryFlush = "carrier": .*"all"\|"kernel-range"/,
  ],
  [
    '--kernel without a value',
    () => ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '--kernel', 'stackCache'],
    /--kernel stackCache: kernel: 'stackCache' needs a value/,
  ],
  ['malformed results file', () => ['report', at('malformed.jsonl')], /malformed\.jsonl:1: not JSON/],
  ['truncated results file', () => ['report', at('truncated.jsonl')], /truncated record/],
  [
    'results file of another schema version',
    () => ['report', at('v2.jsonl')],
    /schemaVersion 2 is not supported/,
  ],
  ['missing results file', () => ['replay', at('nope.jsonl'), '--cell', 'x'], /no such results file/],
  [
    'unknown report format',
    () => ['report', at('good.jsonl'), '--format', 'pdf'],
    /unknown report format 'pdf'/,
  ],
  [
    'unknown cell',
    () => ['replay', at('good.jsonl'), '--plugin', PLUGINS, '--cell', 'flush-all|tiny-map|emulator|sv39|h3'],
    /unknown cell in .* — did you mean 'flush-all\|tiny-map\|emulator\|sv39\|h[12]'\?/,
  ],
  [
    'config that throws on import',
    () => ['list', 'strategies', '--config', at('throws.config.mjs')],
    /config .*throws\.config\.mjs failed to load: boom in config/,
  ],
  [
    'config of the wrong shape',
    () => ['list', 'strategies', '--config', at('shape.config.json')],
    /shape\.config\.json: strategies\[0\]: not a strategy/,
  ],
  [
    'missing config file',
    () => ['list', 'strategies', '--config', at('none.config.ts')],
    /--config .*none\.config\.ts: no such file/,
  ],
  [
    'missing plugin package',
    () => ['list', 'strategies', '--plugin', '@acme/strategy-missing'],
    /plugin '@acme\/strategy-missing' not found/,
  ],
  [
    'plugin of the wrong shape',
    () => ['list', 'strategies', '--plugin', at('bad-plugin.mjs')],
    /exports an object \{hello\}, not a strategy/,
  ],
  [
    'overlapping shards',
    () => ['merge', at('shard1.jsonl'), at('shard1.jsonl'), '--out', '-'],
    /both shard 1\/2 \(overlapping shards\)/,
  ],
  ['missing shard', () => ['merge', at('shard1.jsonl'), '--out', '-'], /missing shard 2\/2/],
  [
    'merging a whole sweep with a shard',
    () => ['merge', at('good.jsonl'), at('shard1.jsonl'), '--out', '-'],
    /is a whole sweep, not a shard/,
  ],
  ['unknown plugin kind', () => ['new', 'widget', 'x'], /unknown plugin kind 'widget'/],
  ['bad plugin name', () => ['new', 'strategy', 'My_Fence', '--dir', at('nf')], /must be kebab-case/],
];

describe('bad input exits 2 with one line', () => {
  it.concurrent.each(cases)(
    '%s',
    async (_name, args, message) => {
      const r = await runCli(args(), { cwd: scratch.dir });
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^tlblab: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
    120_000,
  );

  it('prints the stack with --debug', async () => {
    const r = await runCli(['--debug', 'report', at('malformed.jsonl')], { cwd: scratch.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ResultsFormatError|UsageError/);
    expect(r.stderr).toMatch(/\n\s+at /);
  }, 60_000);
});
