/**
 * The project config file (`tlblab.config.ts|mts|mjs|js|json`, found from the current folder
 * upward, or `--config <file>`) and `--plugin <package-or-path>`: the only ways third-party code is
 * ever loaded (issue 6: "Only explicitly named plugins are ever loaded"). Each is checked with a zod
 * schema; every failure is a `UsageError` naming the file or plugin and the field.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type AnyScenario,
  defineMachine,
  type KernelConfig,
  kernelConfigSchema,
  type MachineConfig,
  MODES,
  type Mode,
  type Strategy,
  type StrategySet,
} from '@tlblab/core';
import { moduleResolve } from 'import-meta-resolve';
import { z } from 'zod';
import { oneLine, UsageError } from './errors.js';
import { builtinParts, createRegistry, profileParts, type Registry, type RegistryParts } from './registry.js';

/** Everything a worker needs to rebuild the main thread's registry: plain data. */
export interface RegistrySpec {
  readonly cwd: string;
  /** Absolute path of the config file in use, or null. */
  readonly config: string | null;
  /** `--plugin` specifiers as given (resolved from `cwd`). */
  readonly plugins: readonly string[];
  /** Load the built-in strategies and scenarios (tests of the engine inject their own instead). */
  readonly builtins: boolean;
}

/** Sweep defaults from a config file's `sweep` (flags override them). */
export interface SweepDefaults {
  readonly strategies?: readonly string[];
  readonly scenarios?: readonly string[];
  readonly machines?: readonly string[];
  readonly harts?: readonly number[];
  readonly seeds?: number;
  readonly mode?: Mode;
  /** The config's `kernel` section (flags' `--kernel` override it key by key). */
  readonly kernel?: Partial<KernelConfig>;
}

export const CONFIG_NAMES = [
  'tlblab.config.ts',
  'tlblab.config.mts',
  'tlblab.config.mjs',
  'tlblab.config.js',
  'tlblab.config.json',
] as const;

/** The config file for `cwd`: `--config` if given (must exist), else the nearest one upward. */
export function findConfig(cwd: string, explicit?: string): string | null {
  if (explicit !== undefined) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new UsageError(`--config ${explicit}: no such file`);
    return file;
  }
  let dir = resolve(cwd);
  for (;;) {
    for (const name of CONFIG_NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
function isStrategy(v: unknown): v is Strategy {
  return isObject(v) && typeof v.name === 'string' && isObject(v.meta) && typeof v.setup === 'function';
}
function isStrategySet(v: unknown): v is StrategySet {
  return isObject(v) && typeof v.id === 'string' && Array.isArray(v.members) && v.members.every(isStrategy);
}
function isScenario(v: unknown): v is AnyScenario {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    isObject(v.meta) &&
    typeof v.build === 'function' &&
    isObject(v.params) &&
    Array.isArray(v.modes)
  );
}

const strategyEntry = z.custom<Strategy | StrategySet>(
  (v) => isStrategy(v) || isStrategySet(v),
  'not a strategy (name, meta, setup()) or a strategy set (id, members)',
);
const scenarioEntry = z.custom<AnyScenario>(isScenario, 'not a scenario (id, meta, modes, params, build())');

const configSchema = z
  .object({
    strategies: z.array(strategyEntry).optional(),
    scenarios: z.array(scenarioEntry).optional(),
    machines: z.array(z.record(z.string(), z.unknown())).optional(),
    sweep: z
      .object({
        strategies: z.array(z.string().min(1)).min(1).optional(),
        scenarios: z.array(z.string().min(1)).min(1).optional(),
        machines: z.array(z.string().min(1)).min(1).optional(),
        harts: z.array(z.number().int().min(1).max(1024)).min(1).optional(),
        seeds: z.number().int().min(1).optional(),
        mode: z.enum(MODES as [Mode, ...Mode[]]).optional(),
      })
      .strict()
      .optional(),
    // Kernel settings for every cell (validated key by key against core's schema).
    kernel: kernelConfigSchema.partial().strict().optional(),
  })
  .strict();

function issueText(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path.replace(/^\./, '') || '(root)'}: ${issue.message}`;
}

/** True when this process resolves packages with the `source` condition (running from the repo). */
function sourceConditions(): boolean {
  const args = process.execArgv;
  return args.some(
    (a, i) =>
      a === '--conditions=source' ||
      a === '-C=source' ||
      ((a === '--conditions' || a === '-C') && args[i + 1] === 'source'),
  );
}

/**
 * Import a module file: native `import()`; for TypeScript where the ESM loader has no TS hook,
 * tsx's require hook when present (piscina workers started from source: Node 20 gives workers no
 * ESM loader hooks), else jiti (the installed CLI, which runs without tsx).
 */
export async function importFile(file: string): Promise<unknown> {
  if (extname(file) === '.json') return JSON.parse(readFileSync(file, 'utf8'));
  try {
    return await import(pathToFileURL(file).href);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
    const req = createRequire(import.meta.url);
    if (typeof (req.extensions as Record<string, unknown>)['.ts'] === 'function') return req(file);
    const { createJiti } = await import('jiti');
    return createJiti(import.meta.url).import(file);
  }
}

function defaultExport(mod: unknown): unknown {
  return isObject(mod) && 'default' in mod ? mod.default : mod;
}

function pickExport(exportsField: unknown, conditions: readonly string[]): string | null {
  if (typeof exportsField === 'string') return exportsField;
  if (!isObject(exportsField)) return null;
  const root = '.' in exportsField ? exportsField['.'] : exportsField;
  if (typeof root === 'string') return root;
  if (!isObject(root)) return null;
  for (const c of conditions) {
    if (c in root) {
      const hit = pickExport(root[c], conditions);
      if (hit !== null) return hit;
    }
  }
  return null;
}

function packageEntry(dir: string, spec: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const conditions = sourceConditions()
    ? ['source', 'import', 'node', 'default']
    : ['import', 'node', 'default'];
  const entry =
    pickExport(pkg.exports, conditions) ??
    (typeof pkg.module === 'string' ? pkg.module : null) ??
    (typeof pkg.main === 'string' ? pkg.main : 'index.js');
  const file = resolve(dir, entry);
  if (!existsSync(file))
    throw new UsageError(`plugin '${spec}': its entry ${entry} does not exist (is the package built?)`);
  return file;
}

/** The package name of a bare specifier: `@scope/name` or `name`, without a subpath. */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function errorCode(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/**
 * Resolve a package specifier (`name`, `@scope/name`, `name/subpath`) as Node does for a module in
 * `cwd`: first ESM resolution, `import(spec)` from `cwd/noop.js` (package `exports` with their
 * subpaths and conditions, the `source` condition when this process runs with it), through
 * import-meta-resolve (Node 20's `import.meta.resolve` takes no parent without a flag); then CJS
 * resolution, `createRequire(cwd/noop.js).resolve(spec)`, which adds what only Node's require
 * honours: `NODE_PATH` (global installs) and a Yarn PnP runtime patched into it.
 */
function resolvePackage(spec: string, cwd: string): string {
  const parent = join(resolve(cwd), 'noop.js');
  const conditions = new Set(sourceConditions() ? ['source', 'node', 'import'] : ['node', 'import']);
  let esmError: unknown;
  try {
    const url = moduleResolve(spec, pathToFileURL(parent), conditions, false);
    if (url.protocol !== 'file:')
      throw new UsageError(`plugin '${spec}' names a Node built-in (${url.href}), not a plugin package`);
    return fileURLToPath(url);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    esmError = e;
  }
  try {
    return createRequire(parent).resolve(spec);
  } catch {
    // The ESM error says more (an unexported subpath, an entry that is not built).
  }
  const code = errorCode(esmError);
  // The resolver names the stand-in parent file; the folder is what the user gave.
  const message = oneLine(esmError).replace(/ imported from \S*noop\.js$/, '');
  if (code === 'ERR_MODULE_NOT_FOUND' && !message.startsWith('Cannot find package')) {
    throw new UsageError(`plugin '${spec}': ${message} (is the package built?)`);
  }
  if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || code === 'ERR_INVALID_PACKAGE_TARGET') {
    throw new UsageError(`plugin '${spec}': ${message}`);
  }
  const nodePath = process.env.NODE_PATH ? `, nor in NODE_PATH (${process.env.NODE_PATH})` : '';
  throw new UsageError(
    `plugin '${spec}' not found: no node_modules/${packageName(spec)} from ${cwd} upward${nodePath} (install it, or give a path)`,
  );
}

/**
 * Resolve a `--plugin` specifier to a file: a path (file or package folder) or a package specifier.
 * `./x`, `../x` and absolute specifiers are paths; so is a name with a module extension that exists
 * under `cwd` (`--plugin plugins.ts`). Anything else is bare and resolved as a package, so that
 * `highlight.js` or `pkg/sub.js` reach Node's resolver as `import` would see them.
 */
export function resolvePlugin(spec: string, cwd: string): string {
  const explicitPath = spec.startsWith('.') || isAbsolute(spec);
  const fileLike = /\.(m?[jt]s|json)$/.test(spec);
  const p = resolve(cwd, spec);
  if (explicitPath || (fileLike && existsSync(p))) {
    if (!existsSync(p)) throw new UsageError(`plugin '${spec}': no such file or folder`);
    return statSync(p).isDirectory() ? packageEntry(p, spec) : p;
  }
  try {
    return resolvePackage(spec, cwd);
  } catch (e) {
    if (fileLike && e instanceof UsageError && / not found: /.test(e.message))
      throw new UsageError(
        `plugin '${spec}': no such file under ${cwd}, and ${e.message.replace(/^plugin '[^']*' /, 'the package was ')}`,
      );
    throw e;
  }
}

interface Collected {
  strategies: Strategy[];
  sets: StrategySet[];
  scenarios: AnyScenario[];
  machines: MachineConfig[];
}

/** Sort a plugin's export into registry parts; a factory is called with no options. */
function collect(value: unknown, into: Collected, where: string, depth = 0): void {
  if (typeof value === 'function' && depth === 0 && !isStrategy(value)) {
    let made: unknown;
    try {
      made = (value as () => unknown)();
    } catch (e) {
      throw new UsageError(`${where}: its factory threw: ${oneLine(e)}`);
    }
    collect(made, into, where, depth + 1);
    return;
  }
  if (Array.isArray(value) && depth <= 1) {
    value.forEach((v, i) => {
      collect(v, into, `${where}[${i}]`, 2);
    });
    return;
  }
  if (isStrategy(value)) into.strategies.push(value);
  else if (isStrategySet(value)) into.sets.push(value);
  else if (isScenario(value)) into.scenarios.push(value);
  else if (isObject(value) && 'tlb' in value && 'costs' in value) into.machines.push(asMachine(value, where));
  else {
    throw new UsageError(
      `${where}: exports ${describe(value)}, not a strategy, strategy set, scenario, machine, or a factory or array of them`,
    );
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (no default export)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const keys = Object.keys(v).slice(0, 4);
    return `an object {${keys.join(', ')}${keys.length < Object.keys(v).length ? ', ...' : ''}}`;
  }
  return `a ${typeof v}`;
}

function asMachine(v: unknown, where: string): MachineConfig {
  try {
    return defineMachine(v as Parameters<typeof defineMachine>[0]);
  } catch (e) {
    throw new UsageError(`${where}: ${oneLine(e)}`);
  }
}

async function loadConfigFile(file: string): Promise<{ parts: RegistryParts; sweep: SweepDefaults }> {
  let mod: unknown;
  try {
    mod = await importFile(file);
  } catch (e) {
    throw new UsageError(`config ${file} failed to load: ${oneLine(e)}`);
  }
  const parsed = configSchema.safeParse(defaultExport(mod));
  if (!parsed.success) throw new UsageError(`config ${file}: ${issueText(parsed.error)}`);
  const c = parsed.data;
  const into: Collected = { strategies: [], sets: [], scenarios: [], machines: [] };
  for (const s of c.strategies ?? []) (isStrategySet(s) ? into.sets : into.strategies).push(s as never);
  into.scenarios.push(...(c.scenarios ?? []));
  (c.machines ?? []).forEach((m, i) => {
    into.machines.push(asMachine(m, `config ${file}: machines[${i}]`));
  });
  const sweep: SweepDefaults = c.kernel ? { ...(c.sweep ?? {}), kernel: c.kernel } : (c.sweep ?? {});
  return { parts: into, sweep };
}

async function loadPlugin(spec: string, cwd: string): Promise<RegistryParts> {
  const file = resolvePlugin(spec, cwd);
  let mod: unknown;
  try {
    mod = await importFile(file);
  } catch (e) {
    throw new UsageError(`plugin '${spec}' failed to load: ${oneLine(e)}`);
  }
  const into: Collected = { strategies: [], sets: [], scenarios: [], machines: [] };
  collect(defaultExport(mod), into, `plugin '${spec}'`);
  return into;
}

export interface LoadedRegistry {
  readonly registry: Registry;
  readonly sweep: SweepDefaults;
}

/** Build the registry a spec describes: built-ins, then the config, then each plugin in order. */
export async function loadRegistry(spec: RegistrySpec): Promise<LoadedRegistry> {
  const parts: RegistryParts[] = [profileParts()];
  if (spec.builtins) parts.push(builtinParts());
  let sweep: SweepDefaults = {};
  if (spec.config !== null) {
    const loaded = await loadConfigFile(spec.config);
    parts.push(loaded.parts);
    sweep = loaded.sweep;
  }
  for (const p of spec.plugins) parts.push(await loadPlugin(p, spec.cwd));
  return { registry: createRegistry(...parts), sweep };
}
