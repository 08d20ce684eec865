/**
 * zod as one file (issue 13, start-up): core's build bundles zod into a chunk that `dist/index.js`
 * and this entry share, and every other workspace package's build imports zod from here
 * (`tsup.base.ts` aliases it), so a process loads one module instead of zod's ~95 (64 of them
 * locales that `import 'zod'` always evaluates): ~45 ms less CPU in each process and worker.
 * Sources still import `zod` itself (tests and tsx run them), and the types are zod's own.
 */
export * from 'zod';
export { default, z } from 'zod';
