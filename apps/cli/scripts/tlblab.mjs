#!/usr/bin/env node
/**
 * `pnpm tlblab ...` from a checkout: build on demand (ensure-built.mjs), then run the built bin,
 * `dist/bin.js`, in this process — the same file the installed `tlblab` runs, with its workers
 * from `dist/worker.js` and no TypeScript loader.
 */
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './ensure-built.mjs';

const bin = new URL('../dist/bin.js', import.meta.url);
try {
  ensureBuilt();
} catch (e) {
  process.stderr.write(`tlblab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
// The bin as argv[1], as when it is run directly: `tlblab slurm` writes that command into its jobs.
process.argv[1] = fileURLToPath(bin);
await import(bin.href);
