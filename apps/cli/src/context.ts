import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findConfig, type LoadedRegistry, loadRegistry, type RegistrySpec } from './config.js';
import type { StartedPool } from './isolate.js';
import { defaultLimits, type Limits } from './limits.js';
import type { Io } from './output.js';

/** Options every command that needs the registry accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly plugin?: readonly string[];
  readonly debug?: boolean;
  readonly limit?: readonly string[];
}

export interface CommandContext {
  readonly io: Io;
  readonly globals: GlobalOptions;
  /** Load the built-in strategies and scenarios (programmatic callers and tests may turn it off). */
  readonly builtins: boolean;
  /** The command line as given (for the `--resume` hint after Ctrl-C). */
  readonly argv?: readonly string[];
}

export function registrySpec(ctx: CommandContext): RegistrySpec {
  return {
    cwd: ctx.io.cwd,
    config: findConfig(ctx.io.cwd, ctx.globals.config),
    plugins: [...(ctx.globals.plugin ?? [])],
    builtins: ctx.builtins,
  };
}

/** Specs (with their files' mtimes) already loaded safely in a worker by this process. */
const probed = new Set<string>();

function probeKey(spec: RegistrySpec): string {
  const files = [spec.config, ...spec.plugins.map((p) => resolve(spec.cwd, p))].map((f) => {
    try {
      return f === null ? null : [f, statSync(f).mtimeMs];
    } catch {
      return [f, null];
    }
  });
  return JSON.stringify({ spec, files });
}

/**
 * The registry of this command. A config file or `--plugin` is third-party code: it is first
 * loaded in a worker under a time limit and a heap cap (issue 15), so an import that rejects, never
 * settles, loops, exits or exhausts memory is reported as one line instead of hanging or killing
 * this process. Only then is it loaded here (the plan needs the registry's names and schemas).
 *
 * `pool`: the command will run cells on that many workers; they are started first and load the
 * registry while this thread loads its own (issue 13, start-up), and their loading doubles as the
 * safety probe of third-party code. The caller owns the returned pool (`close()` it).
 */
export async function loadContextRegistry(
  ctx: CommandContext,
  limits: Pick<Limits, 'import' | 'memory'> = defaultLimits(),
  opts: { readonly pool?: { readonly jobs: number } } = {},
): Promise<LoadedRegistry & { spec: RegistrySpec; pool?: StartedPool }> {
  const spec = registrySpec(ctx);
  const thirdParty = spec.config !== null || spec.plugins.length > 0;
  // piscina loads only for a command that runs cells or loads third-party code (`list` needs neither).
  const { createPool, startPool, warmPool } =
    opts.pool !== undefined || thirdParty ? await import('./isolate.js') : ({} as never);
  if (opts.pool !== undefined) {
    const started = startPool(spec, opts.pool.jobs, limits.memory, limits.import * 1000);
    try {
      if (thirdParty) await started.warmed;
      return { ...(await loadRegistry(spec)), spec, pool: started };
    } catch (e) {
      await started.close();
      throw e;
    }
  }
  if (thirdParty) {
    const key = probeKey(spec);
    if (!probed.has(key)) {
      const pool = createPool(1, limits.memory);
      try {
        await warmPool(pool, spec, 1, limits.import * 1000);
      } finally {
        await pool.destroy();
      }
      probed.add(key);
    }
  }
  return { ...(await loadRegistry(spec)), spec };
}
