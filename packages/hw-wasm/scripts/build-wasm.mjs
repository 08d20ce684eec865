// Compiles assembly/hw.ts to wasm/hw.wasm with the pinned AssemblyScript compiler (npm only: the
// compiler and binaryen are JS/wasm packages, no download at build time). The .wasm is checked
// in, so tests and the bench run from a fresh clone without a build; `wasm.test.ts` fails when it
// is stale against the sources.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWasm } from './compile.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bytes = await compileWasm(root);
writeFileSync(join(root, 'wasm/hw.wasm'), bytes);
process.stdout.write(`wasm/hw.wasm: ${bytes.length} bytes\n`);
