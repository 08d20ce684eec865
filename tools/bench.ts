/**
 * `pnpm bench [name...]`: runs every benchmark module in tools/bench/*.ts (or the named ones), each
 * in its own process so one's memory and JIT state do not colour another's figures. Each module
 * writes its figures to bench-results/<name>.json.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, 'bench');
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (have: ${all.join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  process.stderr.write(`bench: ${name}\n`);
  const r = spawnSync(
    process.execPath,
    ['--conditions=source', '--single-threaded-gc', '--import', 'tsx', join(dir, `${name}.ts`)],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
