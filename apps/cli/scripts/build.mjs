#!/usr/bin/env node
/** `node apps/cli/scripts/build.mjs`: build the CLI if its sources changed (for scripts such as `pnpm demo`). */
import { ensureBuilt } from './ensure-built.mjs';

try {
  ensureBuilt();
} catch (e) {
  process.stderr.write(`tlblab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
