import type { Plugin } from 'esbuild';
import type { Options } from 'tsup';

/** `import ... from 'zod'` in built JS becomes `from '@tlblab/core/zod'` (see packageBuild). */
const zodFromCore: Plugin = {
  name: 'zod-from-core',
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, () => ({ path: '@tlblab/core/zod', external: true }));
  },
};

/** One build config for every package (changesets-style: each package's tsup.config.ts is three lines). */
export function packageBuild(entry: string[] = ['src/index.ts'], extra: Options = {}): Options {
  return {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    // Built JS imports zod from core's one-file bundle, so a process loads one zod, in one module
    // (packages/core/src/zod.ts; issue 13, start-up). Core's own build replaces this.
    // `noExternal` keeps tsup's own plugin from marking zod external as written; `zodFromCore`
    // then marks it external as core's bundle.
    noExternal: ['zod'],
    esbuildPlugins: [zodFromCore],
    ...extra,
  };
}
