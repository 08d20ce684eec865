/**
 * `tlblab new strategy|scenario <name>`: a plugin package that builds and passes its tests at once
 * (issue 6). Standalone: it depends on the published `@tlblab/core` (peer + dev), tsup, vitest and
 * TypeScript at the versions toolchain.md found to work on Node 20.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { oneLine, UsageError } from './errors.js';
import { clean } from './output.js';
import { pathError } from './output-file.js';

/** The @tlblab/core this CLI runs on: the scaffold's peer range starts there. */
const CORE_VERSION = (createRequire(import.meta.url)('@tlblab/core/package.json') as { version: string })
  .version;

export type PluginKind = 'strategy' | 'scenario';

export interface ScaffoldOptions {
  readonly kind: PluginKind;
  readonly name: string;
  /** Parent folder. */
  readonly cwd: string;
  /** Folder to create (default `<kind>-<name>`). */
  readonly dir?: string;
  /** npm package name (default `tlblab-<kind>-<name>`). */
  readonly packageName?: string;
}

const NAME_RE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function packageJson(o: Required<Omit<ScaffoldOptions, 'cwd' | 'dir'>>): string {
  const coreRange = `^${CORE_VERSION}`;
  return `${JSON.stringify(
    {
      name: o.packageName,
      version: '0.1.0',
      description: `A tlblab ${o.kind}: ${o.name}.`,
      type: 'module',
      license: 'MIT',
      sideEffects: false,
      exports: {
        '.': { types: './dist/index.d.ts', import: './dist/index.js' },
        './package.json': './package.json',
      },
      main: './dist/index.js',
      types: './dist/index.d.ts',
      files: ['dist'],
      scripts: {
        build: 'tsup',
        test: 'vitest run',
        typecheck: 'tsc -p tsconfig.json',
        publint: 'publint',
        changeset: 'changeset',
      },
      keywords: ['tlblab', `tlblab-${o.kind}`, 'riscv'],
      dependencies: { zod: '^4.1.0' },
      peerDependencies: { '@tlblab/core': coreRange },
      devDependencies: {
        '@changesets/cli': '2.31.1',
        '@tlblab/core': coreRange,
        ...(o.kind === 'strategy' ? { '@tlblab/strategy-tester': coreRange } : {}),
        '@types/node': '^20.19.0',
        publint: '0.3.25',
        tsup: '8.5.1',
        typescript: '5.9.3',
        vitest: '4.1.12',
      },
    },
    null,
    2,
  )}\n`;
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['src', '*.config.ts'],
  },
  null,
  2,
)}\n`;

/** changesets' defaults for a single package (`npx changeset init` writes the same). */
const CHANGESET_CONFIG = `${JSON.stringify(
  {
    $schema: 'https://unpkg.com/@changesets/config@3.1.1/schema.json',
    changelog: '@changesets/cli/changelog',
    commit: false,
    fixed: [],
    linked: [],
    access: 'public',
    baseBranch: 'main',
    updateInternalDependencies: 'patch',
    ignore: [],
  },
  null,
  2,
)}\n`;

const TSUP = `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
`;

const VITEST = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts'] },
});
`;

function strategySource(name: string): string {
  const fn = camel(name);
  return `/**
 * \`${name}\`: a tlblab strategy (a kernel TLB-maintenance policy).
 *
 * As generated it publishes every new kernel mapping with \`flush_tlb_all()\` on every hart (the
 * v6.5 policy of 7e3811521dc3): replace the slots with your policy and cite the kernel change it
 * models in \`meta.source\`.
 */
import { type Strategy, defineStrategy, parseOptions } from '@tlblab/core';
import { z } from 'zod';

export const optionsSchema = z
  .object({
    /** How remote harts are reached: kernel IPIs or the SBI remote-fence call. */
    transport: z.enum(['ipi', 'sbi']).default('ipi'),
  })
  .strict();

export type ${fn[0]!.toUpperCase()}${fn.slice(1)}Options = z.input<typeof optionsSchema>;

export default function ${fn}(options?: z.input<typeof optionsSchema>): Strategy<z.output<typeof optionsSchema>> {
  const opts = parseOptions('${name}', optionsSchema, options);
  return defineStrategy({
    name: '${name}',
    meta: {
      title: '${name}',
      description: 'flush_cache_vmap() flushes every hart after a new kernel mapping.',
      source: { note: 'describe the kernel change this policy models (commit, version)' },
      slots: ['flushCacheVmap'],
    },
    options: opts,
    setup: () => ({
      // After the PTEs are stored: no hart may keep a stale (or cached invalid) entry for the range.
      flushCacheVmap: (ctx) => ctx.flushTlbAll({ transport: opts.transport }),
    }),
  });
}
`;
}

function strategyTest(name: string, packageName: string): string {
  const fn = camel(name);
  // The kit checks that the package name ends in `strategy-<name>`; a custom name skips that check.
  const pkgLine = packageName.endsWith(`strategy-${name}`) ? `\n  packageName: '${packageName}',` : '';
  return `/**
 * The tutorial's tests (docs/authoring-a-strategy.md, "Test it with the kit"): the conformance kit
 * runs the strategy on the baseline kernel (onBaseline) over the catalog's probe scenarios.
 */
import { PROFILES, runCell } from '@tlblab/core';
import { onBaseline, probes, runStrategyConformance } from '@tlblab/strategy-tester';
import { describe, expect, it } from 'vitest';
import ${fn} from './index.js';

runStrategyConformance(${fn}(), {${pkgLine}
  factory: ${fn},
  invalidOptions: [{ transport: 'smoke-signals' }, { threshold: 3 }],
  // The catalog row: the cells every strategy is judged on.
  valid: [...probes.catalogRow],
  invalid: [
    // flush_cache_vmap() is a 64-bit hook: on Sv32 a new PGD still needs vmalloc_fault().
    { scenario: probes.sv32NewPgd, mode: 'sv32', machine: 'emulator', outcome: 'panic:spurious-fault', always: true },
  ],
});

describe('${name} on the baseline kernel', () => {
  const cell = {
    strategy: onBaseline(${fn}()),
    scenario: probes.crossHartVmalloc,
    machine: PROFILES['caches-invalid']!,
    harts: 2,
  };

  it('keeps a cross-hart vmalloc alive on a core that caches invalid entries', () => {
    expect(runCell(cell, { base: 0, count: 20 }).verdict).toBe('correct');
  });

  it('resolves its options', () => {
    expect(${fn}({ transport: 'sbi' }).options).toEqual({ transport: 'sbi' });
  });
});
`;
}

function scenarioSource(name: string): string {
  const fn = camel(name);
  return `/**
 * \`${name}\`: a tlblab scenario (a kernel program per hart, and what the kernel must survive).
 *
 * As generated: hart 0 vmallocs a buffer, fills it and signals; hart 1, which touched the address
 * speculatively beforehand, waits and reads it. Replace the programs with your story and cite its
 * source (a bug report, a commit) in \`meta\`.
 */
import { area, defineScenario, ops } from '@tlblab/core';
import { z } from 'zod';

export const paramsSchema = z
  .object({
    /** Pages of the buffer. */
    pages: z.number().int().min(1).max(64).default(4),
  })
  .strict();

const ${fn} = defineScenario({
  id: '${name}',
  meta: {
    title: '${name}',
    story: 'Hart 0 vmallocs a buffer and publishes it; hart 1 reads it.',
    source: 'describe where this story comes from (report, commit)',
  },
  minHarts: 2,
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params: paramsSchema,
  build: (p) => ({
    programs: [
      [ops.vmalloc('buf', p.pages), ops.stream('buf', 'write'), ops.signal('ready')],
      [ops.wait('ready'), ops.read(area('buf', 0)), ops.stream('buf')],
    ],
  }),
});

export default ${fn};
`;
}

function scenarioTest(name: string): string {
  const fn = camel(name);
  return `import { PROFILES, defineStrategy, layoutFor, runCell } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import ${fn} from './index.js';

/** A strategy that fences every hart after each new mapping: the scenario must pass with it. */
const flushAll = defineStrategy({
  name: 'flush-all',
  meta: { title: 'flush all', description: 'flush_tlb_all() after every mapping', source: {}, slots: ['flushCacheVmap'] },
  setup: () => ({ flushCacheVmap: (ctx) => ctx.flushTlbAll() }),
});

describe('${name}', () => {
  it('builds one program per hart with valid default parameters', () => {
    const params = ${fn}.params.parse({});
    const built = ${fn}.build(params, { harts: ${fn}.minHarts, mode: 'sv39', layout: layoutFor('sv39') });
    expect(built.programs.length).toBeLessThanOrEqual(${fn}.minHarts);
    expect(built.programs.flat().length).toBeGreaterThan(0);
  });

  it('meets its expectation under a strategy that flushes every hart', () => {
    const r = runCell(
      { strategy: flushAll, scenario: ${fn}, machine: PROFILES['caches-invalid']!, harts: 2 },
      { base: 0, count: 20 },
    );
    expect(r.verdict).toBe('correct');
  });

  it('rejects a bad parameter, naming it', () => {
    expect(() => ${fn}.params.parse({ pages: 0 })).toThrow(/pages|>=/);
  });
});
`;
}

function readme(kind: PluginKind, name: string, pkg: string): string {
  const fn = camel(name);
  const use =
    kind === 'strategy'
      ? `tlblab run -s ${name} -c cross-hart-vmalloc -m caches-invalid --plugin ${pkg}\ntlblab compare -s baseline,${name} -c all --plugin ${pkg} --out results.jsonl`
      : `tlblab run -s early-sfence -c ${name} -m caches-invalid --plugin ${pkg}\ntlblab compare -c ${name} --plugin ${pkg} --out results.jsonl`;
  return `# ${pkg}

A tlblab ${kind}: \`${name}\`.

## What it models

Describe the ${kind === 'strategy' ? 'kernel policy and the commit it comes from' : 'story, its source, and what the kernel must survive'}.

## Use

\`\`\`sh
${use}
\`\`\`

or register it in \`tlblab.config.ts\`:

\`\`\`ts
import { defineConfig } from '@tlblab/core';
import ${fn} from '${pkg}';

export default defineConfig({ ${kind === 'strategy' ? 'strategies' : 'scenarios'}: [${kind === 'strategy' ? `${fn}()` : fn}] });
\`\`\`

## API

\`export default\` ${kind === 'strategy' ? `\`${fn}(options?)\`, a factory returning the strategy; options are checked by \`optionsSchema\`` : `the scenario; its parameters are checked by \`paramsSchema\``}.

## Develop

\`\`\`sh
npm install
npm run build
npm test
npm run publint      # exports, main and types point at files in the package
npx changeset        # record a release; \`npx changeset version\` then \`npm publish\`
\`\`\`
`;
}

/** Write the package; returns the folder created. */
export function scaffold(o: ScaffoldOptions): string {
  if (o.kind !== 'strategy' && o.kind !== 'scenario') {
    throw new UsageError(`new ${String(o.kind)}: expected 'strategy' or 'scenario'`);
  }
  if (!NAME_RE.test(o.name)) {
    throw new UsageError(
      `new ${o.kind} ${o.name}: the name must be kebab-case (lower-case letters, digits, single dashes)`,
    );
  }
  const given = o.dir ?? `${o.kind}-${o.name}`;
  if (given === '') throw pathError('--dir', given, 'empty path');
  const dir = resolve(o.cwd, given);
  if (existsSync(dir)) throw pathError('--dir', given, 'already exists');
  const packageName = o.packageName ?? `tlblab-${o.kind}-${o.name}`;
  // The parent must exist: a recursive mkdir under a pseudo-filesystem such as /proc can spin, and
  // creating a chain of folders the user did not ask for hides a typo.
  const parent = dirname(dir);
  let parentStat: ReturnType<typeof statSync>;
  try {
    parentStat = statSync(parent);
  } catch {
    throw pathError('--dir', given, `the folder ${clean(parent)} does not exist`);
  }
  if (!parentStat.isDirectory()) throw pathError('--dir', given, `${clean(parent)} is not a folder`);
  try {
    mkdirSync(dir);
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, '.changeset'));
  } catch (e) {
    throw pathError('--dir', given, `cannot create it: ${oneLine(e)}`);
  }
  const files: Record<string, string> = {
    'package.json': packageJson({ kind: o.kind, name: o.name, packageName }),
    'tsconfig.json': TSCONFIG,
    'tsup.config.ts': TSUP,
    'vitest.config.ts': VITEST,
    'README.md': readme(o.kind, o.name, packageName),
    '.gitignore': 'node_modules/\ndist/\n',
    'src/index.ts': o.kind === 'strategy' ? strategySource(o.name) : scenarioSource(o.name),
    'src/index.test.ts': o.kind === 'strategy' ? strategyTest(o.name, packageName) : scenarioTest(o.name),
    '.changeset/config.json': CHANGESET_CONFIG,
    [`.changeset/${o.name}-first-release.md`]: `---\n"${packageName}": minor\n---\n\nThe first release of the ${o.name} ${o.kind}.\n`,
  };
  try {
    for (const [rel, text] of Object.entries(files)) writeFileSync(join(dir, rel), text);
  } catch (e) {
    throw pathError('--dir', given, `cannot write its files: ${oneLine(e)}`);
  }
  return dir;
}
