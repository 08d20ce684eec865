/**
 * `tlblab describe scenario|strategy|machine <name>`: what `--param`, a strategy's options and a
 * machine's fields accept — names, types, defaults and bounds, read from the plugin's schema.
 */
import type { CommandContext } from '../context.js';
import { loadContextRegistry } from '../context.js';
import { paramInfo, paramLines } from '../describe.js';
import { unknownName } from '../errors.js';
import { parseLimits } from '../limits.js';
import { clean, println } from '../output.js';
import { machineByName, resolveStrategySet, scenarioById } from '../registry.js';

export const DESCRIBE_KINDS = ['scenario', 'strategy', 'machine'] as const;

/** Leaves of a plain-data object as `a.b.c = value`. */
function leaves(v: unknown, path: string, into: string[]): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, into);
  } else into.push(`${path} = ${JSON.stringify(v)}`);
}

export async function describeCommand(
  ctx: CommandContext,
  kind: string,
  name: string,
  opts: { json?: boolean },
): Promise<number> {
  if (!(DESCRIBE_KINDS as readonly string[]).includes(kind))
    throw unknownName('describe kind', kind, DESCRIBE_KINDS);
  const { registry } = await loadContextRegistry(ctx, parseLimits(ctx.globals.limit));
  const out = ctx.io.stdout;
  if (kind === 'scenario') {
    const sc = scenarioById(registry, name);
    const params = paramInfo(sc.params);
    if (opts.json) {
      println(
        out,
        JSON.stringify({
          kind,
          id: sc.id,
          title: sc.meta.title,
          minHarts: sc.minHarts,
          modes: sc.modes,
          expect: sc.expect,
          params,
        }),
      );
      return 0;
    }
    println(out, clean(`scenario ${sc.id}: ${sc.meta.title}`));
    println(out, clean(`expects ${sc.expect}; at least ${sc.minHarts} harts; modes ${sc.modes.join(', ')}`));
    println(out);
    if (params.length === 0) println(out, 'no parameters');
    else {
      println(
        out,
        `parameters (--param ${sc.id === name ? '' : `${clean(sc.id)}.`}key=value on run, --param ${clean(sc.id)}.key=value on compare):`,
      );
      for (const l of paramLines(params)) println(out, `  ${l}`);
    }
    return 0;
  }
  if (kind === 'strategy') {
    const set = resolveStrategySet(registry, name);
    if (opts.json) {
      println(
        out,
        JSON.stringify({
          kind,
          id: set.id,
          members: set.members.map((m) => ({
            name: m.name,
            title: m.meta.title,
            slots: m.meta.slots ?? [],
            source: m.meta.source,
            options: m.options ?? null,
          })),
        }),
      );
      return 0;
    }
    println(out, clean(`strategy ${set.id}: ${set.members.map((m) => m.name).join(' + ')}`));
    for (const m of set.members) {
      println(out);
      println(out, clean(`${m.name}: ${m.meta.title}`));
      println(out, clean(`  slots   ${(m.meta.slots ?? []).join(', ') || '-'}`));
      const src = Object.entries(m.meta.source)
        .filter(([, v]) => typeof v === 'string')
        .map(([k, v]) => `${k} ${v}`)
        .join('; ');
      if (src) println(out, clean(`  source  ${src}`));
      if (m.options !== undefined) {
        const lines: string[] = [];
        leaves(m.options, '', lines);
        println(out, clean(`  options ${lines.join(', ') || '{}'}`));
      }
    }
    return 0;
  }
  const m = machineByName(registry, name);
  if (opts.json) {
    println(out, JSON.stringify({ kind, machine: m }));
    return 0;
  }
  println(out, clean(`machine ${m.name}: ${m.description}`));
  const lines: string[] = [];
  leaves(m, '', lines);
  for (const l of lines)
    if (!l.startsWith('name =') && !l.startsWith('description =')) println(out, `  ${clean(l)}`);
  return 0;
}
