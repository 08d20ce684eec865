// The one compiler invocation (used by the build and by the staleness test).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import asc from 'assemblyscript/asc';

/** The flags: optimise for speed, no runtime (nothing allocates after `init`), no asserts. */
export const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--exportStart', '_start'];

export async function compileWasm(root) {
  const source = readFileSync(join(root, 'assembly/hw.ts'), 'utf8');
  let binary = null;
  const stderr = [];
  const { error } = await asc.main(['hw.ts', '-o', 'hw.wasm', ...ASC_FLAGS], {
    readFile: (name) => (name === 'hw.ts' ? source : null),
    writeFile: (name, contents) => {
      if (name === 'hw.wasm') binary = contents;
    },
    listFiles: () => [],
    stdout: { write: () => true },
    stderr: {
      write: (s) => {
        stderr.push(String(s));
        return true;
      },
    },
  });
  if (error || binary === null) throw new Error(`asc failed: ${error?.message ?? ''}\n${stderr.join('')}`);
  return Buffer.from(binary);
}
