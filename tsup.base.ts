import type { Options } from 'tsup';

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
    ...extra,
  };
}
