/**
 * What a scenario's parameters, a strategy's options and a machine's fields are, for
 * `tlblab describe` and for `--param` errors: read from the plugin's zod schema through
 * `z.toJSONSchema` (names, types, defaults, bounds), never by running the plugin.
 */
import { z } from 'zod';
import { clean } from './output.js';

export interface ParamInfo {
  readonly name: string;
  readonly type: string;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly values?: readonly unknown[];
  readonly description?: string;
  readonly optional: boolean;
}

type Json = Record<string, unknown>;

function typeOf(p: Json): string {
  if (Array.isArray(p.enum)) return 'enum';
  if (typeof p.type === 'string') return p.type;
  if (Array.isArray(p.anyOf)) return (p.anyOf as Json[]).map(typeOf).join(' | ');
  return 'any';
}

/** The parameters a schema accepts (empty when it is not an object schema or cannot be read). */
export function paramInfo(schema: unknown): ParamInfo[] {
  let json: Json;
  try {
    json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Json;
  } catch {
    return [];
  }
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => ({
    name,
    type: typeOf(p),
    ...('default' in p ? { default: p.default } : {}),
    ...(typeof p.minimum === 'number' ? { minimum: p.minimum } : {}),
    ...(typeof p.maximum === 'number' ? { maximum: p.maximum } : {}),
    ...(Array.isArray(p.enum) ? { values: p.enum } : {}),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    optional: !required.has(name) || 'default' in p,
  }));
}

export function paramNames(schema: unknown): string[] {
  return paramInfo(schema).map((p) => clean(p.name));
}

/** One line per parameter: `rounds  integer  default 4  1..64  how many rounds`. */
export function paramLines(info: readonly ParamInfo[]): string[] {
  const rows = info.map((p) => [
    clean(p.name),
    p.values ? p.values.map((v) => JSON.stringify(v)).join('|') : p.type,
    'default' in p ? `default ${JSON.stringify(p.default)}` : p.optional ? 'optional' : 'required',
    p.minimum !== undefined || p.maximum !== undefined ? `${p.minimum ?? ''}..${p.maximum ?? ''}` : '',
    clean(p.description ?? ''),
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd(),
  );
}
