/**
 * The checked-in wasm/hw.wasm is what the pinned compiler makes of assembly/hw.ts: tests, the
 * bench and a fresh clone's CI load the checked-in file without building, so a source edit
 * without `pnpm --filter @tlblab/hw-wasm build:wasm` must fail here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compileWasm } from '../scripts/compile.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('wasm/hw.wasm is up to date with assembly/hw.ts', { timeout: 120_000 }, async () => {
  const fresh = await compileWasm(root);
  const checkedIn = readFileSync(join(root, 'wasm/hw.wasm'));
  expect(
    Buffer.compare(fresh, checkedIn),
    'wasm/hw.wasm is stale: run `npx -y pnpm@12.4.2 --filter @tlblab/hw-wasm build:wasm`',
  ).toBe(0);
});
