import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// One vitest project per package (and a `<name>:slow` project for the slow-tagged sweeps,
// `*.slow.test.ts`), so `vitest run --project core` works and the slow suites stay out of the
// fast loop (`pnpm test:fast`).
const dirs = ['packages', 'apps'].flatMap((top) =>
  existsSync(top)
    ? readdirSync(top)
        .map((d) => join(top, d))
        .filter((d) => existsSync(join(d, 'package.json')))
    : [],
);
// The repository's own tools are a project too (the bench's unit tests: tools/bench/*.test.ts).
dirs.push('tools');

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    reporters: ['default', './tools/vitest-summary-reporter.ts'],
    projects: dirs.flatMap((root) => {
      const name = root.split('/')[1] ?? root;
      return [
        {
          extends: true,
          test: {
            name,
            root,
            include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
            exclude: ['**/*.slow.test.ts', '**/node_modules/**', '**/dist/**'],
            typecheck: { enabled: true, include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'] },
          },
        },
        {
          extends: true,
          test: {
            name: `${name}:slow`,
            root,
            include: ['src/**/*.slow.test.ts', 'test/**/*.slow.test.ts'],
            testTimeout: 600_000,
            passWithNoTests: true,
          },
        },
      ];
    }),
  },
});
