/**
 * Issue 16: `tlblab import-trace` on real and broken ftrace logs (exit 2 with file:line), and the
 * shipped real-kernel workloads run by `compare` like any scenario, beyond the captured harts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fixtureTrace } from '@tlblab/kernel-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinParts, createRegistry } from '../src/registry.js';
import { REPO, runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('import-trace');
const at = (name: string) => join(scratch.dir, name);
afterAll(() => scratch.cleanup());

const FORK = join(REPO, 'packages/kernel-trace/fixtures/fork/trace.txt.gz');

describe('tlblab import-trace', () => {
  it('imports a shipped capture and prints what it counted', async () => {
    const r = await runMain(['import-trace', FORK, '--out', at('fork.json')]);
    expect(r.code).toBe(0);
    const w = JSON.parse(readFileSync(at('fork.json'), 'utf8'));
    expect(w.format).toBe('tlblab-kernel-workload');
    expect(r.stdout).toMatch(/^\d+ records, 2 CPUs/);
    expect(r.stdout).toContain(`forks ${w.counts.forks} (new stack ${w.counts.forksWithNewStack}`);
    expect(r.stdout).toMatch(/phase fork-loop [\d.]+ s: \d+ new mappings/);
    expect(r.stdout).toContain('unknown events: none');
  });

  const text = fixtureTrace('boot');
  const lines = text.split('\n');
  const firstRecord = lines.findIndex((l) => !l.startsWith('#'));
  const broken: [string, () => void, RegExp][] = [
    [
      'a bad timestamp',
      () => {
        const l = [...lines];
        l[firstRecord + 3] = l[firstRecord + 3]!.replace(/ (\d+\.\d{6}): /, ' $1x: ');
        writeFileSync(at('bad.txt'), l.join('\n'));
      },
      new RegExp(`^tlblab: bad\\.txt:${firstRecord + 4}: bad timestamp '[\\d.]+x'`),
    ],
    [
      'a cut line',
      () => {
        const l = [...lines];
        l[firstRecord + 5] = l[firstRecord + 5]!.slice(0, 30);
        writeFileSync(at('bad.txt'), l.join('\n'));
      },
      new RegExp(`^tlblab: bad\\.txt:${firstRecord + 6}: not an ftrace record`),
    ],
    [
      'a truncated file',
      () => writeFileSync(at('bad.txt'), text.slice(0, Math.floor(text.length / 2))),
      /^tlblab: bad\.txt:\d+: truncated/,
    ],
    [
      'a truncated gzip',
      () => {
        const gz = gzipSync(text);
        writeFileSync(at('bad.txt'), gz.subarray(0, gz.length >> 1));
      },
      /^tlblab: bad\.txt: truncated or corrupt gzip/,
    ],
  ];
  for (const [what, make, message] of broken) {
    it(`${what}: exit 2, one line naming file and line`, async () => {
      make();
      const r = await runMain(['import-trace', 'bad.txt', '--out', at('bad.json')], scratch.dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }

  it('an unknown event is counted and printed; with --strict it is exit 2 with its line', async () => {
    const l = [...lines];
    l.splice(
      firstRecord + 2,
      0,
      l[firstRecord + 2]!.replace(/: [a-z_]+(:| <-).*$/, ': mm_page_alloc: page=0x1 order=0'),
    );
    writeFileSync(
      at('unknown.txt'),
      l
        .join('\n')
        .replace(
          /entries-in-buffer\/entries-written: (\d+)\/(\d+)/,
          (_m, a, b) => `entries-in-buffer/entries-written: ${Number(a) + 1}/${Number(b) + 1}`,
        ),
    );
    const r = await runMain(['import-trace', 'unknown.txt', '--out', at('u.json')], scratch.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('unknown events: mm_page_alloc 1');
    const s = await runMain(['import-trace', 'unknown.txt', '--out', at('u.json'), '--strict'], scratch.dir);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(
      new RegExp(`^tlblab: unknown\\.txt:${firstRecord + 3}: unknown event 'mm_page_alloc'`),
    );
  });

  it('a missing file or --out is exit 2', async () => {
    expect((await runMain(['import-trace', 'nope.txt', '--out', at('x.json')], scratch.dir)).stderr).toMatch(
      /no such file 'nope\.txt'/,
    );
    expect((await runMain(['import-trace', FORK])).code).toBe(2);
  });
});

describe('the shipped real workloads in compare', () => {
  it('are known by name but left out of -c all (each replays a whole kernel log)', () => {
    const r = createRegistry(builtinParts());
    for (const id of ['real-boot', 'real-fork', 'real-modules', 'real-bpf']) {
      expect(r.scenarios.has(id)).toBe(true);
      expect(r.defaultScenarioIds).not.toContain(id);
    }
    expect(r.defaultScenarioIds).toContain('fork-storm');
  });

  it('lists them and runs real-fork and real-boot at 1, 2 and 4 harts (2 captured)', async () => {
    const list = await runMain(['list', 'scenarios', '--json']);
    const ids = JSON.parse(list.stdout) as { id: string }[] | { scenarios: { id: string }[] } as unknown;
    expect(JSON.stringify(ids)).toContain('real-fork');
    const r = await runMain([
      'compare',
      '-s',
      'linux-6.5,linux-6.12',
      '-c',
      'real-fork,real-boot',
      '-m',
      'caches-invalid',
      '--harts',
      '1,2,4',
      '--seeds',
      '1',
      '--jobs',
      '1',
      '--out',
      at('real.jsonl'),
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const doc = readFileSync(at('real.jsonl'), 'utf8');
    for (const h of [1, 2, 4]) expect(doc).toContain(`real-fork|caches-invalid|sv39|h${h}`);
  }, 120_000);
});
