import { relative } from 'node:path';
import type { CommandContext } from '../context.js';
import { unknownName } from '../errors.js';
import { println } from '../output.js';
import { type PluginKind, scaffold } from '../scaffold.js';

export async function newCommand(
  ctx: CommandContext,
  kind: string,
  name: string,
  opts: { dir?: string; packageName?: string },
): Promise<number> {
  if (kind !== 'strategy' && kind !== 'scenario')
    throw unknownName('plugin kind', kind, ['strategy', 'scenario']);
  const dir = scaffold({
    kind: kind as PluginKind,
    name,
    cwd: ctx.io.cwd,
    dir: opts.dir,
    packageName: opts.packageName,
  });
  const rel = relative(ctx.io.cwd, dir) || '.';
  println(ctx.io.stdout, `created ${kind} '${name}' in ${rel}/`);
  println(ctx.io.stdout, `next: cd ${rel} && npm install && npm run build && npm test`);
  return 0;
}
