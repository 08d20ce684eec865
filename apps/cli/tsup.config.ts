import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

// Three entries: the library, the bin, and the worker that piscina loads by file name (it must
// exist as its own file beside bin.js and index.js). Code splitting: cli.ts imports each command's
// module with `import()` so that start-up loads only what the command uses (issue 13); without
// splitting esbuild inlines those modules and hoists their package imports to the top of bin.js,
// which loads core, zod, piscina and the report for `tlblab --version`.
export default defineConfig(
  packageBuild(['src/index.ts', 'src/bin.ts', 'src/worker.ts'], { splitting: true }),
);
