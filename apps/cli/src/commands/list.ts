import type { CommandContext } from '../context.js';
import { loadContextRegistry } from '../context.js';
import { unknownName } from '../errors.js';
import { parseLimits } from '../limits.js';
import { clean, println } from '../output.js';
import { strategyMeta } from '../plan.js';
import { resolveStrategySet } from '../registry.js';

export const LIST_KINDS = ['strategies', 'scenarios', 'machines'] as const;

/** A table of plugin-provided strings: every cell made inert for the terminal first. */
function table(raw: readonly (readonly string[])[]): string {
  const rows = raw.map((r) => r.map(clean));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export async function listCommand(
  ctx: CommandContext,
  what: string,
  opts: { json?: boolean },
): Promise<number> {
  if (!(LIST_KINDS as readonly string[]).includes(what)) throw unknownName('list', what, LIST_KINDS);
  const { registry } = await loadContextRegistry(ctx, parseLimits(ctx.globals.limit));
  const out = ctx.io.stdout;
  if (what === 'strategies') {
    const strategies = [...registry.strategies.values()].map((s) => ({
      name: s.name,
      kind: 'strategy',
      title: s.meta.title,
      slots: [...(s.meta.slots ?? [])],
      source: s.meta.source,
    }));
    const sets = [...registry.sets.values()].map((s) => ({
      name: s.id,
      kind: 'set',
      title: s.title ?? strategyMeta(s).title,
      members: s.members.map((m) => m.name),
    }));
    if (opts.json) println(out, JSON.stringify({ strategies, sets }));
    else {
      println(
        out,
        table([
          ['NAME', 'SLOTS', 'TITLE'],
          ...strategies.map((s) => [s.name, s.slots.join(',') || '-', s.title]),
        ]),
      );
      println(out);
      println(
        out,
        table([['SET', 'MEMBERS', 'TITLE'], ...sets.map((s) => [s.name, s.members.join('+'), s.title])]),
      );
      println(out);
      println(
        out,
        "A strategy named alone runs on the baseline kernel; join names with '+' for an explicit set.",
      );
    }
    // Resolving every name catches a set whose members do not exist before anyone runs it.
    for (const id of registry.defaultStrategyIds) resolveStrategySet(registry, id);
  } else if (what === 'scenarios') {
    const rows = [...registry.scenarios.values()].map((s) => ({
      id: s.id,
      title: s.meta.title,
      minHarts: s.minHarts,
      modes: [...s.modes],
      expect: s.expect,
      purpose: s.purpose ?? 'survival',
    }));
    if (opts.json) println(out, JSON.stringify({ scenarios: rows }));
    else {
      println(
        out,
        table([
          ['ID', 'EXPECT', 'HARTS', 'MODES', 'TITLE'],
          ...rows.map((r) => [r.id, r.expect, `>=${r.minHarts}`, r.modes.join(','), r.title]),
        ]),
      );
    }
  } else {
    const rows = [...registry.machines.values()];
    if (opts.json) println(out, JSON.stringify({ machines: rows }));
    else println(out, table([['NAME', 'DESCRIPTION'], ...rows.map((m) => [m.name, m.description])]));
  }
  return 0;
}
